"""Use cases of the pre-deployment checklist: ask GitHub about a deployment's version (when
its card is posted, when approve is clicked, and again in the background while checks are
pending, backing off while GitHub cannot be asked), tick items or mark them not applicable
from Slack (audited), and the approval gate: a required item that is not green refuses the
approval, unless the deploy is an emergency (then the skip is audited and shown).

Only deploys of services with `github:` are checked, and only when app.yaml has a
`checklist:` section; "Feature flags configured" is checked besides (bot.services.flag_reads)
for a deploy of a service that declares flags, also where nothing else is (then it is shown,
not gating: a ChecklistService without GitHub, `review` None). Every other deploy's card
and record show the guide's items as not checked, with why (UncheckedChecklists, or
ChecklistService for its services without GitHub); once a deploy is decided, the items
nothing checked are shown attested by its approvers where the approval that completed its
approvals attested them (`checklist_attestation: approver` then: `attest_on_approval` keeps
it as ticks; both in bot.services.checklist_attestations), else not checked. The record
reads what was kept, never today's setting, so changing the setting rewrites no record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.config import AppConfig
from bot.domain.checklist import (
    TESTS,
    Checklist,
    Mark,
    Rules,
    Tick,
    blocking_text,
    check_tick,
    clean_reason,
    evaluate,
    settle,
    with_flags,
)
from bot.domain.checklist_facts import Facts
from bot.domain.deployment import Deployment, Kind
from bot.domain.flag_status import FlagReading
from bot.domain.states import State
from bot.errors import Conflict, DeploybotError, NotFound, RateLimited, UserError
from bot.ports import Clock, CodeReview, Notifier, Store
from bot.services.checklist_attestations import (
    KeptAttestations,
    approvers_of,
    attested_ticks,
    attests,
    checklist_rules,
    not_checked_because,
    unchecked_checklist,
)
from bot.services.flag_reads import FlagReader

log = logging.getLogger(__name__)


class ChecklistService:
    def __init__(self, *, config: AppConfig, store: Store, review: CodeReview | None,
                 clock: Clock,
                 notifier: Notifier, defer: Callable[[Callable[[], None]], object],
                 flags: FlagReader | None = None) -> None:
        """`review`: GitHub's checks and reviews (None: deploybot is not connected to GitHub
        or has no `checklist:`, and only "Feature flags configured" is checked, by `flags`).
        `defer` runs work off the ack path (the background pool). `flags`: reads the
        flags a service declares, for "Feature flags configured" (read with GitHub's facts,
        and kept with them; for a service without `github:` the only item evaluated)."""
        self._config = config
        self._store = store
        self._review = review
        self._clock = clock
        self._notifier = notifier
        self._defer = defer
        self._kept = KeptAttestations(store)
        self._flags = flags

    # -- which deployments have one ---------------------------------------------------------
    def rules(self, d: Deployment) -> Rules | None:
        return checklist_rules(self._config, d) if self._review is not None else None

    def flags_apply(self, d: Deployment) -> bool:
        """A deploy of a service that declares flags, where the environment's flags live."""
        return (self._flags is not None and d.kind is Kind.DEPLOY
                and self._flags.applies(d.environment, d.service))

    def card_checklist(self, d: Deployment) -> Checklist | None:
        """The ChecklistCards port (the notifier asks it for every card). Never raises."""
        rules = self.rules(d)
        try:
            if rules is None:
                unchecked = unchecked_checklist(self._config, d,
                                                not_checked_because(self._config, d),
                                                self._kept.of(d))
                if unchecked is None or not self.flags_apply(d):
                    return unchecked
                with self._store.transaction() as r:
                    kept = r.checklists.facts(d.id)
                return with_flags(unchecked, kept.flags if kept is not None else None)
            with self._store.transaction() as r:
                facts = r.checklists.facts(d.id)
                ticks = list(r.checklists.ticks(d.id))
        except DeploybotError:
            log.warning("deployment %s: could not read its checklist", d.id, exc_info=True)
            return None
        if facts is None and d.state is State.SCHEDULED:
            return unchecked_checklist(self._config, d, "GitHub is asked once the deploy "
                                       "window opens", attested_ticks(ticks))
        if facts is None and d.state is not State.AWAITING_APPROVAL:
            # Never evaluated: GitHub is asked when a deploy waits for approval.
            why = (f"deploys to {d.environment} need no approval, so GitHub was not asked"
                   if not d.needs_approval else "GitHub was not asked about it")
            return unchecked_checklist(self._config, d, why, attested_ticks(ticks))
        checklist = evaluate(rules, facts or Facts(), ticks, skipped=d.emergency_reason)
        return settle(replace(checklist, attestation=attests(self._config, d)),
                      approvers=approvers_of(d), attested=attested_ticks(ticks))

    # -- asking GitHub ------------------------------------------------------------------
    def requested(self, d: Deployment) -> None:
        """A card awaiting approval was posted: evaluate its checklist off the ack path."""
        if d.state is not State.AWAITING_APPROVAL or (
                self.rules(d) is None and not self.flags_apply(d)):
            return
        try:
            self._defer(lambda: self._refresh_quietly(d.id))
        except RuntimeError:  # shutting down: it is evaluated when approve is clicked
            log.warning("deployment %s: checklist not evaluated (shutting down)", d.id)

    def _refresh_quietly(self, deployment_id: int) -> None:
        try:
            self.refresh(deployment_id)
        except DeploybotError:
            log.warning("deployment %s: checklist refresh failed", deployment_id,
                        exc_info=True)

    def refresh(self, deployment_id: int) -> Checklist | None:
        """Ask GitHub now, keep the answer (or why it could not be had), update the card."""
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"Deployment #{deployment_id} does not exist.")
        rules = self.rules(d)
        if rules is None:
            self._refresh_flags(d)
            return None
        facts, wait = self._ask(d)
        facts = replace(facts, flags=self._read_flags(d))
        with self._store.transaction() as r:
            failures = r.checklists.failures(d.id) + 1 if facts.problem else 0
            ticks = list(r.checklists.ticks(d.id))
            checklist = evaluate(rules, facts, ticks, skipped=d.emergency_reason)
            r.checklists.save_facts(d.id, facts, failures=failures,
                                    next_check_at=self._next_check(checklist, failures, wait))
        self._show(d)
        return checklist

    def _read_flags(self, d: Deployment) -> FlagReading | None:
        """The declared flags as they are now (None: none declared, or nowhere to read)."""
        if self._flags is None or not self.flags_apply(d):
            return None
        return self._flags.reading(d.environment, d.service)

    def _refresh_flags(self, d: Deployment) -> None:
        """A service without GitHub's checklist: read its flags, keep them, update the card
        (the other items stay not checked)."""
        reading = self._read_flags(d)
        if reading is None:
            return
        with self._store.transaction() as r:
            r.checklists.save_facts(d.id, Facts(flags=reading, checked_at=reading.at),
                                    failures=0, next_check_at=None)
        self._show(d)

    def _ask(self, d: Deployment) -> tuple[Facts, datetime | None]:
        """What GitHub says now; on failure the reason (and when its rate limit resets)."""
        github = self._config.services[d.service].github
        assert github is not None and self._review is not None
        cl = self._config.checklist
        assert cl is not None
        at = self._clock.now()
        try:
            checks, comparison = self._review.evaluate(
                github.repository, d.version, base=d.previous_version,
                max_commits=cl.max_commits)
        except DeploybotError as e:
            reset = e.reset_at if isinstance(e, RateLimited) else None
            if isinstance(e, RateLimited) and reset is None and e.retry_after is not None:
                reset = at + e.retry_after
            problem = e.message if isinstance(e, UserError) else str(e)
            return Facts(problem=problem, checked_at=at), reset
        return Facts(checks=checks, comparison=comparison, checked_at=at,
                     no_base=d.previous_version is None), None

    def _next_check(self, checklist: Checklist, failures: int,
                    reset: datetime | None) -> datetime | None:
        """When to ask again in the background: soon while checks are pending, backing off
        (doubling, or until the rate limit resets) while GitHub cannot be asked; never once
        the checks have an answer."""
        cl = self._config.checklist
        assert cl is not None
        at = checklist.facts.checked_at or self._clock.now()
        if failures:
            backoff: timedelta = min(cl.refresh_every * (2 ** min(failures - 1, 16)),
                                     cl.max_backoff)
            later: datetime = at + backoff
            return later if reset is None or reset < later else reset
        tests = checklist.get(TESTS)
        return at + cl.refresh_every if tests is not None and tests.mark is Mark.PENDING else None

    def refresh_due(self, *, at: datetime, limit: int = 20) -> list[int]:
        """The background refresh (a scheduler job): checklists whose time to ask came."""
        with self._store.transaction() as r:
            due = list(r.checklists.due(at, limit))
        for i in due:
            self._refresh_quietly(i)
        return due

    # -- the approval gate --------------------------------------------------------------
    def gate(self, d: Deployment, *, user_id: str) -> None:
        """Called when approve is clicked: evaluate afresh; refuse while a required item is
        not green. An emergency deploy skips them (audited; the card says so)."""
        if self.rules(d) is None:
            self._refresh_flags(d)  # shown, not gating: nothing else is checked there
            return
        checklist = self.refresh(d.id)
        if checklist is None or not checklist.blocking:
            return
        if d.emergency:
            with self._store.transaction() as r:
                r.audit.record("checklist.skipped", actor=user_id, at=self._clock.now(),
                               deployment_id=d.id, details={
                                   "items": [i.item for i in checklist.blocking],
                                   "emergency_reason": d.emergency_reason})
            return
        raise Conflict(f"Not approved: the pre-deployment checklist of deployment #{d.id} is "
                       f"not complete — {blocking_text(checklist.blocking)}. Approve again "
                       "once these are green (a click re-checks GitHub).")

    # -- ticks ---------------------------------------------------------------------------
    def tick(self, deployment_id: int, item: str, *, user_id: str, checked: bool) -> Checklist:
        """Tick (or untick) an item on a deployment awaiting approval."""
        return self._set(deployment_id, item, user_id=user_id, reason=None, clear=not checked)

    def not_applicable(self, deployment_id: int, item: str, *, user_id: str,
                       reason: str) -> Checklist:
        return self._set(deployment_id, item, user_id=user_id, reason=clean_reason(reason),
                         clear=False)

    def _set(self, deployment_id: int, item: str, *, user_id: str, reason: str | None,
             clear: bool) -> Checklist:
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
            if d is None:
                raise NotFound(f"Deployment #{deployment_id} does not exist.")
            rules = self.rules(d)
            if rules is None:
                raise Conflict(f"Deployment #{d.id} has no pre-deployment checklist.")
            if d.state is not State.AWAITING_APPROVAL:
                raise Conflict(f"Deployment #{d.id} is no longer awaiting approval "
                               f"({d.state.value.replace('_', ' ')}); its checklist is "
                               "closed.")
            facts = r.checklists.facts(d.id) or Facts()
            before = evaluate(rules, facts, list(r.checklists.ticks(d.id)))
            check_tick(before, item, user_id=user_id, requester=d.requested_by,
                       not_applicable=reason is not None)
            if clear:
                changed = r.checklists.clear_tick(d.id, item)
                action = "checklist.unticked"
            else:
                r.checklists.set_tick(d.id, Tick(item=item, by=user_id, at=at, reason=reason))
                changed = True
                action = ("checklist.not_applicable" if reason is not None
                          else "checklist.ticked")
            if changed:
                details: dict[str, object] = {"item": item}
                if reason is not None:
                    details["reason"] = reason
                r.audit.record(action, actor=user_id, at=at, deployment_id=d.id,
                               details=details)
            after = evaluate(rules, facts, list(r.checklists.ticks(d.id)))
        self._show(d)
        return after

    def _show(self, d: Deployment) -> None:
        with self._store.transaction() as r:
            fresh = r.deployments.get(d.id)
        try:
            self._notifier.show(fresh or d)
        except DeploybotError:
            log.warning("could not update the Slack card of deployment %s", d.id,
                        exc_info=True)

