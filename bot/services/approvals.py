"""Approving, rejecting and expiring deployment requests.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.domain.admission import downgrade, older
from bot.domain.approval import check_decision, enough
from bot.domain.deployment import Deployment
from bot.domain.policy import PolicyDecision, local
from bot.domain.states import State
from bot.domain.text import is_slack_user, shown
from bot.errors import (
    Conflict,
    Forbidden,
    NotFound,
    UserError,
)
from bot.services.deploy_base import DecisionResult, DeploymentsBase, DowngradeUnconfirmed

log = logging.getLogger(__name__)


class ApprovalUseCases(DeploymentsBase):
    """Approve / Reject clicks and the expiry of unapproved requests."""

    def decide(self, deployment_id: int, *, user_id: str, approve: bool,
               slack_channel: str | None = None, slack_ts: str | None = None,
               downgrade_from: str | None = None) -> DecisionResult:
        """`downgrade_from`: the approver confirmed replacing this (newer) live version."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
            if d is None:
                raise NotFound(f"Deployment #{deployment_id} does not exist.")
        rule = self._rule(d)
        if rule is None or d.state is State.SCHEDULED:
            raise Conflict(f"Deployment #{d.id} does not need approval.")
        is_approver = self._access.may_approve(user_id, d.environment, emergency=d.emergency)
        if approve and d.state is State.AWAITING_APPROVAL:
            window = self._window(d, at=at)  # checked again at approval time
            if not window.allowed:
                raise self._window_closed(d, window, user_id=user_id, at=at)
            self._check_free(d.environment, d.service, user_id=d.requested_by, at=at,
                             kind=d.kind, deployment_id=d.id, prefix="Not approved: ")
            if self._checklist is not None and is_approver and (
                    user_id != d.requested_by or rule.allow_self_approval):
                self._checklist.gate(d, user_id=user_id)  # asks GitHub again, outside a tx
            if is_approver:
                downgrade_from = self._confirmed_downgrade(d, downgrade_from)

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
                check_decision(d, user_id=user_id, approve=approve, is_approver=is_approver,
                               rule=rule, at=at)
                if not r.deployments.add_decision(d.id, user_id, approve=approve, at=at):
                    raise Conflict(f"You already decided on deployment #{d.id}; "
                                   "each person counts once.")
                r.audit.record("deploy.approved" if approve else "deploy.rejected",
                               actor=user_id, at=at, deployment_id=d.id,
                               slack_channel=slack_channel, slack_ts=slack_ts)
                if approve and downgrade_from is not None:
                    r.deployments.set_fields(d.id, downgrade_from=downgrade_from)
                if not approve:
                    r.deployments.transition(d.id, State.REJECTED, at=at, finished_at=at)
                elif enough(r.deployments.count_approvals(d.id), rule):
                    started = r.deployments.transition(d.id, State.QUEUED, at=at)
                d = self._get(r, deployment_id)
        if expired:
            d = self._refresh_card(deployment_id)
            self._metrics.deployment_finished(d.environment, State.EXPIRED.value)
            self._safe_notify(d)  # as `expire_due` does: the job will not see it again
            raise Conflict(f"Deployment #{d.id} ({d.service} {shown(d.version)} to "
                           f"{d.environment}) expired without enough approvals; "
                           "request it again.")
        self._safe_show(d)
        if started:
            self._metrics.approval_waited(d.environment, (at - d.requested_at).total_seconds())
            self._runner.submit(d.id)
        elif not approve:
            self._metrics.deployment_finished(d.environment, State.REJECTED.value)
            self._safe_notify(d)
        return DecisionResult(deployment=d, approve=approve, started=started)

    def _confirmed_downgrade(self, d: Deployment, confirmed: str | None) -> str | None:
        """The live version an approval of `d` downgrades from, confirmed (the card named
        it, or the approver clicked its confirmation); DowngradeUnconfirmed otherwise.
        None: no downgrade."""
        live = self._live.version(d.environment, d.service) if d.instance is None else None
        dg = downgrade(d.kind, d.version, live,
                       confirmed_from=confirmed or d.downgrade_from)
        if dg is not None:
            raise DowngradeUnconfirmed(dg, environment=d.environment, service=d.service,
                                       deployment_id=d.id)
        return live if live is not None and older(d.version, live) else None

    def _window_closed(self, d: Deployment, window: PolicyDecision, *, user_id: str,
                       at: datetime) -> UserError:
        """An approval clicked while the deploy window is closed is not recorded. When the
        request can still be approved before it expires (the window opens again first),
        the approver is told from when. Otherwise it could never start: it expires now,
        audited; its requester is told and offered to queue it for the next window (the
        DM's button); the approver is told all that."""
        zone, why, nxt = self._config.zone, "; ".join(window.reasons), window.next_allowed_at
        if not self._access.may_approve(user_id, d.environment, emergency=d.emergency):
            return Forbidden(f"You are not an approver for {d.environment}. Ask someone in "
                             "its approvers role.")  # and an outsider's click changes nothing
        if nxt is not None and (d.expires_at is None or nxt < d.expires_at):
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
    def expire_due(self, *, at: datetime) -> list[int]:
        expired: list[int] = []
        with self._store.transaction() as r:
            for i in r.deployments.due_for_expiry(at):
                if r.deployments.transition(i, State.EXPIRED, at=at, finished_at=at):
                    r.audit.record("deploy.expired", actor="deploybot", at=at, deployment_id=i)
                    expired.append(i)
        for i in expired:
            d = self._refresh_card(i)
            self._metrics.deployment_finished(d.environment, State.EXPIRED.value)
            self._safe_notify(d)
        return expired
