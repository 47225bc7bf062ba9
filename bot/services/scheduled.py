"""Deploys waiting for their deploy window: queued, approved ahead of it (then they start by
themselves when it opens), else prompted when it opens, confirmed or cancelled by the
requester, expired when nobody starts them; and when the release job next finds one
(`next_due`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.admission import admit
from bot.domain.approval import ApprovalRule, enough
from bot.domain.commands import DeployArgs
from bot.domain.deployment import Deployment, NewDeployment
from bot.domain.policy import PolicyDecision, local
from bot.domain.states import State
from bot.errors import (
    Conflict,
    DeploybotError,
    Forbidden,
    NotFound,
    UserError,
)
from bot.services.checklist_attestations import attest_on_approval
from bot.services.deploy_base import DecisionResult
from bot.services.deploy_requests import RequestUseCases

log = logging.getLogger(__name__)

#: Later than any queued deploy's window (the next window is looked for 60 days ahead).
QUEUED_AT_MOST = timedelta(days=366)


class ScheduledUseCases(RequestUseCases):
    """Deploys queued for their window: queue, approve ahead, release (start or prompt),
    confirm, cancel, expire; when the release next finds something."""

    def schedule_for_window(self, args: DeployArgs, *, user_id: str) -> Deployment:
        """Queue a refused deploy for the moment its window opens. It needs the approvals a
        request there needs, and collects them ahead of the window: approved, it starts by
        itself when the window opens; otherwise the requester is asked to start it then.
        If the window is open already, this is a plain request."""
        self._check_may_deploy(user_id, args.environment)
        args = self._check_version(args)
        commit = self._promotion_commit(args)  # GitHub: outside any transaction
        at = self._clock.now()
        ask = self._ask(args, user_id)
        # The admission rules but the one in flight (it will have finished by the window).
        facts, freezes = self._facts(args, at=at, commit=commit)
        admission = admit(ask, replace(facts, active=None))
        self._refuse(admission, ask, args=args)
        window = self._window(args, at=at, freezes=freezes)
        if window.allowed:
            return self.request(args, user_id=user_id)
        if window.next_allowed_at is None:
            raise Conflict("No deploy window opens in the next 60 days; nothing was queued. "
                           "Use `--emergency \"reason\"` if this cannot wait.")
        with self._store.transaction() as r:
            same = r.deployments.find_scheduled(
                service=args.service, environment=args.environment, version=args.version,
                requested_by=user_id)
        if same is not None:  # a second click on the same "Queue it" button
            return same
        previous = self.running_version(args.environment, args.service)
        approval = self._config.environments[args.environment].approval
        required = approval.required if approval is not None else 0
        with self._store.transaction() as r:
            d = r.deployments.add(NewDeployment(
                service=args.service, environment=args.environment, version=args.version,
                previous_version=previous, state=State.SCHEDULED, requested_by=user_id,
                requested_at=at, approvals_required=required, expires_at=None,
                not_before=window.next_allowed_at, promotion=admission.promotion,
            ))
            details: dict[str, object] = {
                "service": d.service, "environment": d.environment, "version": d.version,
                "not_before": window.next_allowed_at.isoformat(),
                "reasons": list(window.reasons), "approvals_required": required}
            if admission.promoted_by is not None:  # the gate passed for the tag's commit
                details["promoted_by"] = {"commit": admission.promoted_by, "tag": d.version,
                                          "source": facts.promote_from}
            r.audit.record("deploy.scheduled", actor=user_id, at=at, deployment_id=d.id,
                           details=details)
        return self._post_card(d)

    def approve_ahead(self, deployment_id: int, *, user_id: str,
                      slack_channel: str | None = None,
                      slack_ts: str | None = None) -> DecisionResult:
        """Approve a deploy waiting for its window, ahead of it (the usual rules: approvers,
        self-approval, the pre-deployment checklist). With enough approvals it starts by
        itself when the window opens (at once when it is open already); `started` says
        whether this approval handed it to the runner."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = self._get(r, deployment_id)
        rule = self._rule(d)
        if d.state is State.SCHEDULED and (rule is None or rule.required == 0):
            raise Conflict(f"Deployment #{d.id} needs no approval in {d.environment}: "
                           f"<@{d.requested_by}> starts it when its window opens.")
        rule = rule or ApprovalRule(0, allow_self_approval=False)
        is_approver = self._access.may_approve(user_id, d.environment, emergency=False)
        if d.state is State.SCHEDULED and self._checklist is not None and is_approver and (
                user_id != d.requested_by or rule.allow_self_approval):
            self._checklist.gate(d, user_id=user_id)  # asks GitHub again, outside a tx
        with self._store.transaction() as r:
            r.deployments.lock(deployment_id, State.SCHEDULED)  # one decision at a time
            d = self._get(r, deployment_id)
            if d.state is State.AWAITING_APPROVAL:
                raise Conflict(f"Deployment #{d.id} is awaiting approval now: use the "
                               "Approve button on its card.")
            self._check_decision(d, user_id=user_id, approve=True,
                                 is_approver=is_approver, rule=rule, at=at)
            if not r.deployments.add_decision(d.id, user_id, approve=True, at=at):
                raise Conflict(f"You already approved deployment #{d.id}; each person "
                               "counts once.")
            r.deployments.require_approvals(d.id, rule.required)
            r.audit.record("deploy.approved", actor=user_id, at=at, deployment_id=d.id,
                           slack_channel=slack_channel, slack_ts=slack_ts,
                           details={"ahead_of_window": True,
                                    "not_before": d.not_before.isoformat()
                                    if d.not_before else None,
                                    "approvals": r.deployments.count_approvals(d.id),
                                    "required": rule.required})
            d = self._get(r, d.id)
            if self._approved(d):  # complete: keep what it attests (checklist_attestation)
                attest_on_approval(self._config, r, d, by=user_id, at=at,
                                   evaluated=self._checklist is not None)
        released = None
        if self._approved(d) and d.not_before is not None and d.not_before <= at:
            released = self._release_approved(d, at=at)  # the window is open already
        if released is None:
            self._safe_show(d)
        else:
            d = released
        return DecisionResult(deployment=d, approve=True, started=d.state is State.QUEUED)

    def _approved(self, d: Deployment) -> bool:
        """Whether a deploy waiting for its window has every approval it needs (and needs
        some: without approvals, its requester starts it)."""
        rule = self._rule(d)
        return (d.state is State.SCHEDULED and rule is not None and rule.required > 0
                and enough(len(d.approvers), rule))

    def _release_approved(self, d: Deployment, *, at: datetime) -> Deployment | None:
        """Start a deploy approved ahead of its window, which is due: handed to the runner
        (QUEUED), or moved to the next window when this one closed again (a freeze). None
        (nothing changed) when a lock or another deployment in flight holds the service:
        its requester is asked as usual then."""
        window = self._window(d, at=at)
        if not window.allowed and window.next_allowed_at is not None:
            return self._move_to(d, window, at=at)
        try:
            if not window.allowed:
                raise Conflict("no window opens in the next 60 days")
            self._check_free(d.environment, d.service, user_id=d.requested_by, at=at,
                             kind=d.kind, deployment_id=d.id)
            with self._store.transaction() as r:
                if not r.deployments.transition(d.id, State.QUEUED, at=at):
                    return None  # another process took it, or it was cancelled
                r.audit.record("deploy.window_open", actor="deploybot", at=at,
                               deployment_id=d.id, details={
                                   "start": "by itself, approved ahead of the window",
                                   "approved_by": [a.user_id for a in d.approvers]})
                d = self._get(r, d.id)
        except UserError as e:
            log.info("deployment %s: approved ahead, not started by itself: %s", d.id, e)
            return None
        self._safe_show(d)
        self._runner.submit(d.id)
        return d

    def bring_forward(self, environments: frozenset[str] | None, *,
                      at: datetime) -> list[int]:
        """After a freeze of `environments` (None: all) was removed: the deploys queued
        there for a later window whose window is open now are due now — the next release
        tick starts them (approved ahead) or asks their requester, checking the window again
        as always. Returns those brought forward."""
        with self._store.transaction() as r:  # every one queued, whenever its window
            waiting = [d for i in r.deployments.due_scheduled(at + QUEUED_AT_MOST)
                       if (d := r.deployments.get(i)) is not None
                       and d.not_before is not None and d.not_before > at
                       and (environments is None or d.environment in environments)]
        moved: list[int] = []
        for d in waiting:
            try:
                if not self._window(d, at=at).allowed:
                    continue
            except DeploybotError:  # the freezes cannot be read now: its own time stands
                log.warning("deployment %s: could not tell whether its window is open",
                            d.id, exc_info=True)
                continue
            with self._store.transaction() as r:
                r.deployments.reschedule(d.id, not_before=at)
                r.audit.record("deploy.rescheduled", actor="deploybot", at=at,
                               deployment_id=d.id, details={
                                   "not_before": at.isoformat(),
                                   "reasons": ["a freeze was removed: the window is open"]})
                d = self._get(r, d.id)
            self._safe_show(d)
            moved.append(d.id)
        return moved

    def _move_to(self, d: Deployment, window: PolicyDecision, *, at: datetime) -> Deployment:
        """`d`, due but its window closed again (a freeze added over it), moved to when the
        window next opens; audited, its card shown again."""
        assert window.next_allowed_at is not None
        with self._store.transaction() as r:
            r.deployments.reschedule(d.id, not_before=window.next_allowed_at)
            r.audit.record("deploy.rescheduled", actor="deploybot", at=at,
                           deployment_id=d.id, details={
                               "not_before": window.next_allowed_at.isoformat(),
                               "reasons": list(window.reasons)})
            d = self._get(r, d.id)
        self._safe_show(d)
        return d

    def _closed_again(self, d: Deployment, *, at: datetime) -> bool:
        """Whether `d`, not approved ahead, found its window closed again when due: then it
        is moved to the next window (its requester is asked then, not told it is open)."""
        try:
            window = self._window(d, at=at)
        except DeploybotError:  # the freezes cannot be read now: ask as before
            log.warning("deployment %s: could not tell whether its window is open", d.id,
                        exc_info=True)
            return False
        if window.allowed or window.next_allowed_at is None:
            return False
        self._move_to(d, window, at=at)
        return True

    def prompt_due(self, *, at: datetime) -> list[int]:
        """Release the queued deploys whose window has opened: those approved ahead start
        by themselves (on-call need not be awake when it opens); for the others, ask their
        requester to confirm. Expire the queued deploys nobody started in time
        (`start_within`). Returns the deploys started or prompted."""
        self._expire_unanswered(at=at)
        prompted: list[int] = []
        with self._store.transaction() as r:
            due = list(r.deployments.due_scheduled(at))
        for i in due:
            with self._store.transaction() as r:
                d = self._get(r, i)
            released = self._release_approved(d, at=at) if self._approved(d) else None
            if released is not None:
                if released.state is State.QUEUED:
                    prompted.append(i)
                continue
            if not self._approved(d) and self._closed_again(d, at=at):
                continue
            with self._store.transaction() as r:
                if not r.deployments.mark_prompted(i, at=at):
                    continue  # another process took it
                r.audit.record("deploy.window_open", actor="deploybot", at=at, deployment_id=i)
                d = self._get(r, i)
            try:
                self._notifier.prompt_requester(d)
            except DeploybotError:
                log.warning("deployment %s: could not ask the requester; will retry", i,
                            exc_info=True)
                with self._store.transaction() as r:
                    r.deployments.unmark_prompted(i)
                continue
            self._safe_show(d)
            prompted.append(i)
        return prompted

    def next_due(self, *, at: datetime) -> datetime | None:
        """When `prompt_due` next finds something, as things stand: the first window to
        open for a queued deploy not yet prompted (`due_scheduled`), or the first prompt
        to go unanswered for the shortest `start_within` (`_expire_unanswered`'s
        candidates); None when neither is pending. Read from the store only: `at` (the
        tick asked about, as the scheduler's other jobs are asked) changes nothing — a
        time at or before it means the tick at `at` finds something
        (bot.scheduling.jobs NEXT_DUE; devtools.shell.timeline skips the ticks before)."""
        with self._store.transaction() as r:
            _, opens, prompted = r.deployments.next_due()
        unanswered = None if prompted is None else prompted + self._shortest_start_within()
        return min((t for t in (opens, unanswered) if t is not None), default=None)

    def _shortest_start_within(self) -> timedelta:
        return min(e.start_within for e in self._config.environments.values())

    def _expire_unanswered(self, *, at: datetime) -> None:
        shortest = self._shortest_start_within()
        with self._store.transaction() as r:
            candidates = list(r.deployments.unanswered(prompted_before=at - shortest))
        for i in candidates:
            with self._store.transaction() as r:
                d = self._get(r, i)
                limit = self._config.environments[d.environment].start_within
                if d.prompted_at is None or d.prompted_at > at - limit:
                    continue
                if not r.deployments.transition(
                        i, State.EXPIRED, at=at, finished_at=at,
                        error=f"not started within {limit} of the window opening"):
                    continue
                r.audit.record("deploy.expired", actor="deploybot", at=at, deployment_id=i,
                               details={"reason": "queued deploy not started"})
                d = self._get(r, i)
            self._safe_show(d)
            self._safe_notify(d)

    def confirm_scheduled(self, deployment_id: int, *, user_id: str) -> Deployment:
        """The requester says go: the queued deploy enters approval (or runs, when it needs
        none or was approved ahead) if the window is still open; otherwise it waits for the
        next one."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = self._get(r, deployment_id)
        if d.requested_by != user_id:
            raise Forbidden(f"Only <@{d.requested_by}>, who queued deployment #{d.id}, can "
                            "start it.")
        if d.state is not State.SCHEDULED:
            raise Conflict(f"Deployment #{d.id} is no longer waiting for its window "
                           f"({d.state.value.replace('_', ' ')}).")
        self._check_may_deploy(user_id, d.environment)
        self._check_free(d.environment, d.service, user_id=user_id, at=at, kind=d.kind)
        window = self._window(d, at=at)
        if not window.allowed:
            nxt = window.next_allowed_at
            with self._store.transaction() as r:
                r.deployments.reschedule(d.id, not_before=nxt, prompt_again=True)
                d = self._get(r, d.id)
            self._safe_show(d)
            when_ = f" I will ask you again at {local(nxt, self._config.zone)}." if nxt else ""
            raise Conflict(f"The deploy window closed again: {'; '.join(window.reasons)}."
                           + when_)
        required, expires_at = self._approval_needed(d.environment, emergency=False,
                                                     service=d.service, kind=d.kind)
        with self._store.transaction() as r:
            r.deployments.lock(d.id, State.SCHEDULED)  # approvals given ahead of it count
            approved = r.deployments.count_approvals(d.id) >= required
            target = State.QUEUED if approved else State.AWAITING_APPROVAL
            if not r.deployments.transition(d.id, target, at=at, expires_at=expires_at,
                                            approvals_required=required):
                raise Conflict(f"Deployment #{d.id} changed meanwhile; nothing was done.")
            r.audit.record("deploy.confirmed", actor=user_id, at=at, deployment_id=d.id)
            d = self._get(r, d.id)
        self._safe_show(d)
        if self._checklist is not None:
            self._checklist.requested(d)
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    def cancel(self, deployment_id: int, *, user_id: str) -> Deployment:
        """Cancel a deploy that waits for its window (the requester, or an approver)."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"Deployment #{deployment_id} does not exist.")
        if user_id != d.requested_by and not self._access.may_approve(user_id, d.environment):
            raise Forbidden(f"Only <@{d.requested_by}> or an approver for {d.environment} "
                            f"can cancel deployment #{d.id}.")
        if d.state is not State.SCHEDULED:
            hint = " Use its Reject button instead." if d.state is State.AWAITING_APPROVAL else ""
            raise Conflict(f"Deployment #{d.id} is not waiting for a window "
                           f"({d.state.value.replace('_', ' ')}); it cannot be cancelled."
                           + hint)
        with self._store.transaction() as r:
            if not r.deployments.transition(d.id, State.CANCELLED, at=at, finished_at=at,
                                            error=f"cancelled by <@{user_id}>"):
                raise Conflict(f"Deployment #{d.id} changed meanwhile; nothing was done.")
            r.audit.record("deploy.cancelled", actor=user_id, at=at, deployment_id=d.id)
            d = self._get(r, d.id)
        self._metrics.deployment_finished(d.environment, State.CANCELLED.value)
        self._safe_show(d)
        return d
