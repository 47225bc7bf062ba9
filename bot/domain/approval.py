"""Approval rules (pure): who may approve, when enough approvals have been given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.deployment import Deployment, Kind
from bot.domain.states import State
from bot.domain.text import shown
from bot.errors import Conflict, Forbidden, UserError


@dataclass(frozen=True)
class ApprovalRule:
    required: int
    allow_self_approval: bool


def _closed_reason(d: Deployment) -> str:
    match d.state:
        case State.REJECTED:
            who = d.rejecter.user_id if d.rejecter else "someone"
            return f"was rejected by <@{who}>"
        case State.EXPIRED:
            return "expired without enough approvals"
        case State.CANCELLED if d.superseded_by is not None:
            return f"was superseded by #{d.superseded_by}"
        case State.CANCELLED:
            return "was cancelled"
        case State.QUEUED | State.RUNNING | State.VERIFYING:
            return "is already approved and under way"
        case State.SCHEDULED:
            return "is waiting for its deploy window (its requester starts it then)"
        case _:
            return f"has already finished ({d.state.value.replace('_', ' ')})"


def check_decision(
    d: Deployment,
    *,
    user_id: str,
    approve: bool,
    is_approver: bool,
    rule: ApprovalRule,
    at: datetime,
) -> None:
    """Raise `decision_refusal`'s error, if any."""
    refusal = decision_refusal(d, user_id=user_id, approve=approve, is_approver=is_approver,
                               rule=rule, at=at)
    if refusal is not None:
        raise refusal


def request_label(d: Deployment) -> str:
    """"Deployment #3 (api `v1.2.3` to production)", or a migration run's or flag change's
    words, for the approval messages."""
    if d.kind is Kind.FLAG:
        return (f"Flag change #{d.id} ({d.target} → {shown(d.version)} in "
                f"{d.environment})")
    if d.kind is Kind.MIGRATE:
        return (f"Migration run #{d.id} ({d.service} to {shown(d.target or '')} in "
                f"{d.environment})")
    return f"Deployment #{d.id} ({d.service} {shown(d.version)} to {d.environment})"


def decision_refusal(
    d: Deployment,
    *,
    user_id: str,
    approve: bool,
    is_approver: bool,
    rule: ApprovalRule,
    at: datetime,
) -> UserError | None:
    """The user-facing error when `user_id` may not approve/reject `d` at `at`; None when
    they may.

    A deploy waiting for its window (SCHEDULED) collects approvals ahead of it, under the
    same rules; it is withdrawn by cancelling it, not rejected. The requester may always
    reject (withdraw) their own request awaiting approval."""
    label = request_label(d)
    if d.state is State.SCHEDULED and not approve:
        return Conflict(f"{label} is waiting for its deploy window: cancel it instead (its "
                        f"Cancel button, or `/deploy cancel {d.id}`).")
    if d.state not in (State.AWAITING_APPROVAL, State.SCHEDULED):
        return Conflict(f"{label} {_closed_reason(d)}; nothing to approve.")
    if d.expires_at is not None and at >= d.expires_at:
        return Conflict(f"{label} expired without enough approvals; request it again.")
    if not approve and user_id == d.requested_by:
        return None
    if not is_approver:
        if d.emergency:
            return Forbidden(f"{label} is an emergency deploy: only the emergency approvers "
                             "may approve or reject it.")
        return Forbidden(
            f"You are not an approver for {d.environment}. Ask someone in its approvers role."
        )
    if user_id == d.requested_by and not rule.allow_self_approval:
        return Forbidden(
            f"You requested {label}, so you cannot approve it yourself: "
            "another approver has to."
        )
    return None


def enough(approvals: int, rule: ApprovalRule) -> bool:
    return approvals >= rule.required
