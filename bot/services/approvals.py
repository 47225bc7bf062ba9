"""Approving, rejecting and expiring deployment requests.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.admission import Ask, Facts, admit
from bot.domain.approval import ApprovalRule, enough, request_label
from bot.domain.deployment import Deployment
from bot.domain.policy import PolicyDecision, local
from bot.domain.states import State
from bot.domain.text import is_slack_user
from bot.domain.versions import semver
from bot.errors import (
    Conflict,
    DeploybotError,
    Forbidden,
    NotFound,
    UserError,
)
from bot.ports import DeploymentChanges
from bot.services.checklist_attestations import attest_on_approval
from bot.services.deploy_base import DecisionResult, DeploymentsBase

log = logging.getLogger(__name__)

#: A window that opens again less than this before the request expires is no window: times
#: are shown to the minute, so 'approved from 12:00, before it expires at 12:00' is all a
#: shorter one could say. The request expires at the click instead (and may be queued).
USABLE_BEFORE_EXPIRY = timedelta(minutes=1)


class ApprovalUseCases(DeploymentsBase):
    """Approve / Reject clicks and the expiry of unapproved requests."""

    def _awaiting_decision(self, deployment_id: int) -> tuple[Deployment, ApprovalRule]:
        """The deployment and its approval rule; NotFound, or Conflict when it needs none."""
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
            if d is None:
                raise NotFound(f"Deployment #{deployment_id} does not exist.")
        rule = self._rule(d)
        if rule is None or d.state is State.SCHEDULED:
            raise Conflict(f"Deployment #{d.id} does not need approval.")
        return d, rule

    def may_reject(self, deployment_id: int, *, user_id: str) -> Deployment:
        """Refuse (as `decide` would) a rejection `user_id` may not make, before they are
        asked why (the Reject button's modal); the deployment otherwise."""
        at = self._clock.now()
        d, rule = self._awaiting_decision(deployment_id)
        is_approver = self._access.may_approve(user_id, d.environment, emergency=d.emergency)
        self._check_decision(d, user_id=user_id, approve=False, is_approver=is_approver,
                             rule=rule, at=at)
        if any(x.user_id == user_id for x in d.decisions):
            raise Conflict(f"You already decided on deployment #{d.id}; "
                           "each person counts once.")
        return d

    def decide(self, deployment_id: int, *, user_id: str, approve: bool,
               slack_channel: str | None = None, slack_ts: str | None = None,
               downgrade_from: str | None = None, reason: str | None = None
               ) -> DecisionResult:
        """`downgrade_from`: the approver confirmed replacing this (newer) live version;
        `reason`: why it is rejected (kept with the decision, on the card, in the DM and
        the audit)."""
        at = self._clock.now()
        d, rule = self._awaiting_decision(deployment_id)
        is_approver = self._access.may_approve(user_id, d.environment, emergency=d.emergency)
        if approve and d.state is State.AWAITING_APPROVAL:
            window = self._window(d, at=at)  # checked again at approval time
            if not window.allowed:
                raise self._window_closed(d, window, user_id=user_id, at=at)
            downgrade_from = self._admit_approval(d, at=at, confirmed=downgrade_from,
                                                  is_approver=is_approver)
            if self._checklist is not None and is_approver and (
                    user_id != d.requested_by or rule.allow_self_approval):
                self._checklist.gate(d, user_id=user_id)  # asks GitHub again, outside a tx

        expired = False
        started = False
        with self._store.transaction() as r:
            locked = r.deployments.lock(deployment_id, State.AWAITING_APPROVAL)
            d = self._get(r, deployment_id)
            if locked and d.expires_at is not None and at >= d.expires_at:
                r.deployments.transition(d.id, State.EXPIRED, at=at, finished_at=at)
                r.audit.record("deploy.expired", actor="deploybot", at=at, deployment_id=d.id)
                expired = True
            else:
                self._check_decision(d, user_id=user_id, approve=approve,
                                    is_approver=is_approver, rule=rule, at=at)
                if not r.deployments.add_decision(d.id, user_id, approve=approve, at=at,
                                                  reason=None if approve else reason):
                    raise Conflict(f"You already decided on deployment #{d.id}; "
                                   "each person counts once.")
                r.audit.record("deploy.approved" if approve else "deploy.rejected",
                               actor=user_id, at=at, deployment_id=d.id,
                               slack_channel=slack_channel, slack_ts=slack_ts,
                               details={"reason": reason} if reason and not approve
                               else None)
                if approve and downgrade_from is not None:
                    r.deployments.record_downgrade(d.id, downgrade_from)
                if not approve:
                    r.deployments.transition(d.id, State.REJECTED, at=at, finished_at=at)
                elif enough(r.deployments.count_approvals(d.id), rule):
                    started = r.deployments.transition(d.id, State.QUEUED, at=at)
                    if started:  # complete: keep what it attests (checklist_attestation)
                        attest_on_approval(self._config, r, d, by=user_id, at=at,
                                           evaluated=self._checklist is not None)
                d = self._get(r, deployment_id)
        if expired:
            d = self._refresh_card(deployment_id)
            self._metrics.deployment_finished(d.environment, State.EXPIRED.value)
            self._safe_notify(d)  # as `expire_due` does: the job will not see it again
            raise Conflict(f"{request_label(d)} expired without enough approvals; "
                           "request it again.")
        self._safe_show(d)
        if started:
            self._metrics.approval_waited(d.environment, (at - d.requested_at).total_seconds())
            self._runner.submit(d.id)
        elif not approve:
            self._metrics.deployment_finished(d.environment, State.REJECTED.value)
            self._safe_notify(d)
        return DecisionResult(deployment=d, approve=approve, started=started)

    def _admit_approval(self, d: Deployment, *, at: datetime, confirmed: str | None,
                        is_approver: bool) -> str | None:
        """The admission rules at approval time (bot.domain.admission): someone else's lock,
        another deployment in flight, and — for an approver — a downgrade of what runs now
        that nobody confirmed by name. Returns the live version an approved downgrade
        replaces (None: no downgrade)."""
        with self._store.transaction() as r:
            lock = r.locks.get(d.environment, d.service, at=at)
            active = r.deployments.active_for(d.environment, d.service, d.instance)
        live = (self._live.version(d.environment, d.service)
                if is_approver and d.instance is None else None)
        if live is not None and live != d.previous_version:
            self._running_now_changed(d, live)
        ask = Ask(kind=d.kind, environment=d.environment, service=d.service,
                  version=d.version, user_id=d.requested_by, instance=d.instance,
                  emergency=d.emergency, forced=True, deployment_id=d.id)
        # A commit that went live since the request (its own check covered what ran then)
        # is compared by its tag: GitHub's tag list, kept a minute, outside any transaction.
        live_tag = (self._versions.commit_tag(d.service, live)
                    if self._versions is not None and live is not None
                    and live != d.previous_version and semver(d.version) is not None
                    else None)
        admission = admit(ask, Facts(lock=lock, active=active, live=live, live_tag=live_tag,
                                     downgrade_confirmed_from=confirmed or d.downgrade_from))
        self._refuse(admission, ask, prefix="Not approved: ")
        return admission.downgrade_from

    def _running_now_changed(self, d: Deployment, live: str) -> None:
        """The approval read another live version than the card's "Running now" (changed
        since the request, maybe outside deploybot): record it as what the deploy replaces
        and show it on the card, whatever the approval's outcome (as the runner's
        `refresh_running_now` does when a deployment ends or drift is seen)."""
        with self._store.transaction() as r:
            if not r.deployments.lock(d.id, d.state):
                return  # decided, superseded or expired meanwhile
            r.deployments.record_previous_version(d.id, live)
            d = self._get(r, d.id)
        self._safe_show(d)

    def _window_closed(self, d: Deployment, window: PolicyDecision, *, user_id: str,
                       at: datetime) -> UserError:
        """An approval clicked while the deploy window is closed is not recorded. When the
        request can still be approved before it expires (the window opens again at least
        `USABLE_BEFORE_EXPIRY` before), the approver is told from when. Otherwise it could
        never start: it expires now, audited; its requester is told and offered to queue it
        for the next window (the DM's button); the approver is told all that."""
        zone, why, nxt = self._config.zone, "; ".join(window.reasons), window.next_allowed_at
        if not self._access.may_approve(user_id, d.environment, emergency=d.emergency):
            return Forbidden(f"You are not an approver for {d.environment}. Ask someone in "
                             "its approvers role.")  # and an outsider's click changes nothing
        if nxt is not None and (d.expires_at is None
                                or d.expires_at - nxt >= USABLE_BEFORE_EXPIRY):
            until = f", before it expires at {local(d.expires_at, zone)}" if d.expires_at else ""
            return Conflict(f"Not approved: the deploy window is closed now — {why}. It can "
                            f"be approved from {local(nxt, zone)}{until}.")
        error = f"the deploy window closed before it was approved: {why}"
        expired_at = at if d.expires_at is None else min(d.expires_at, at)
        with self._store.transaction() as r:
            # not_before: when the next window opens (the requester's DM offers to queue it).
            done = r.deployments.transition(d.id, State.EXPIRED, at=at, finished_at=at,
                                            expires_at=expired_at, error=error,
                                            not_before=nxt)
            if done:
                r.audit.record("deploy.expired", actor="deploybot", at=at, deployment_id=d.id,
                               details={"reason": error, "approval_refused": user_id,
                                        "next_window": nxt.isoformat() if nxt else None})
            d = self._get(r, d.id)
        if not done:  # it changed meanwhile: expired by the job, rejected, cancelled
            return Conflict(f"Not approved: deployment #{d.id} is "
                            f"{d.state.value.replace('_', ' ')} now.")
        self._safe_show(d)
        self._metrics.deployment_finished(d.environment, State.EXPIRED.value)
        self._safe_notify(d)
        later = (f"It can be queued for the next window, {local(nxt, zone)}, and approved "
                 "ahead on its card then" if nxt is not None
                 else "No window opens in the next 60 days")
        told = (f" I told <@{d.requested_by}> and offered to queue it."
                if is_slack_user(d.requested_by) and nxt is not None else "")
        return Conflict(f"Not approved: the deploy window is closed now — {why}. Deployment "
                        f"#{d.id} expired at {local(expired_at, zone)}: it could not start "
                        f"before the window opens again.{told} {later}.")

    # -- expiry ----------------------------------------------------------------------
    def next_expiry_due(self) -> datetime | None:
        """When `expire_due` next finds a request, as things stand (the earliest expiry of one
        awaiting approval); None when none expires."""
        with self._store.transaction() as r:
            return r.deployments.next_due()[0]

    def expire_due(self, *, at: datetime) -> list[int]:
        """Expire the requests whose approval time is up (the scheduler's job). One whose
        expiry was its deploy window closing (bot.services.deploy_base `_approval_needed`)
        says so, and its requester's DM offers to queue it for the next window, as an
        approval clicked after the close does (`_window_closed`)."""
        with self._store.transaction() as r:
            due = [d for i in r.deployments.due_for_expiry(at)
                   if (d := r.deployments.get(i)) is not None]
        closed = {d.id: self._closed_at_expiry(d, at=at) for d in due}  # reads freezes
        expired: list[int] = []
        with self._store.transaction() as r:
            for d in due:
                why = closed[d.id]
                fields: DeploymentChanges = {"finished_at": at}
                if why is not None:
                    fields["error"], fields["not_before"] = why
                if r.deployments.transition(d.id, State.EXPIRED, at=at, **fields):
                    r.audit.record("deploy.expired", actor="deploybot", at=at,
                                   deployment_id=d.id, details=None if why is None else {
                                       "reason": why[0],
                                       "next_window": why[1].isoformat() if why[1] else None})
                    expired.append(d.id)
        for i in expired:
            d = self._refresh_card(i)
            self._metrics.deployment_finished(d.environment, State.EXPIRED.value)
            self._safe_notify(d)
        return expired

    def _closed_at_expiry(self, d: Deployment,
                          *, at: datetime) -> tuple[str, datetime | None] | None:
        """(why, when the next window opens) when `d` expires because its deploy window
        closed: the window is closed at its expiry. The next window is seen from `at` (the
        job may run late): None when it is open again by then, or none opens within the
        horizon. None: it expired for want of approvals within its time."""
        if d.expires_at is None:
            return None
        try:
            window = self._window(d, at=d.expires_at)
            if window.allowed:
                return None
            now = window if at == d.expires_at else self._window(d, at=at)
        except DeploybotError:  # the freezes cannot be read now: expire it all the same
            log.warning("deployment %s: could not tell whether its window closed", d.id,
                        exc_info=True)
            return None
        nxt = None if now.allowed else now.next_allowed_at
        return (f"the deploy window closed before it was approved: "
                f"{'; '.join(window.reasons)}", nxt)
