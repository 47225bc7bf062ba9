"""Approval rules: who may approve or reject, until when, and when enough is enough."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.approval import ApprovalRule, check_decision, enough
from bot.domain.deployment import Decision, Deployment
from bot.domain.states import State
from bot.errors import Conflict, Forbidden

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
EXPIRES = T0 + timedelta(hours=2)
REQUESTER, APPROVER, OUTSIDER = "U0ALICE", "U0BOB", "U0MALLORY"
STRICT = ApprovalRule(required=1, allow_self_approval=False)
LENIENT = ApprovalRule(required=1, allow_self_approval=True)


def deployment(state: State = State.AWAITING_APPROVAL, **kw: object) -> Deployment:
    d = Deployment(
        id=7, service="api", environment="production", version="v1.2.3",
        previous_version="v1.2.2", state=state, requested_by=REQUESTER, requested_at=T0,
        approvals_required=1, expires_at=EXPIRES,
    )
    return replace(d, **kw)  # type: ignore[arg-type]


def decide(d: Deployment, *, user_id: str = APPROVER, approve: bool = True,
           is_approver: bool = True, rule: ApprovalRule = STRICT,
           at: datetime = T0 + timedelta(minutes=5)) -> None:
    """Raises when the decision is refused; returns None when it is allowed."""
    return check_decision(d, user_id=user_id, approve=approve, is_approver=is_approver, rule=rule,
                   at=at)


@pytest.mark.parametrize("approve", [True, False])
def test_an_approver_may_decide_while_awaiting_approval(approve: bool) -> None:
    assert decide(deployment(), approve=approve) is None


CLOSED_REASONS = {
    State.QUEUED: "is already approved and under way",
    State.RUNNING: "is already approved and under way",
    State.VERIFYING: "is already approved and under way",
    State.SUCCEEDED: "has already finished (succeeded)",
    State.FAILED: "has already finished (failed)",
    State.ROLLED_BACK: "has already finished (rolled back)",
    State.REJECTED: "was rejected by <@U0BOB>",
    State.EXPIRED: "expired without enough approvals",
    State.CANCELLED: "was cancelled",
}


def test_every_state_but_awaiting_approval_and_scheduled_is_closed() -> None:
    assert set(CLOSED_REASONS) == set(State) - {State.AWAITING_APPROVAL, State.SCHEDULED}


# A deploy waiting for its window collects its approvals ahead of it, under the same rules.

def scheduled() -> Deployment:
    return deployment(State.SCHEDULED, expires_at=None, not_before=T0 + timedelta(days=2))


def test_an_approver_may_approve_a_deploy_waiting_for_its_window() -> None:
    assert decide(scheduled()) is None


def test_a_deploy_waiting_for_its_window_is_cancelled_not_rejected() -> None:
    for user_id in (APPROVER, REQUESTER):
        with pytest.raises(Conflict) as info:
            decide(scheduled(), user_id=user_id, approve=False)
        assert info.value.message == (
            "Deployment #7 (api `v1.2.3` to production) is waiting for its deploy window: "
            "cancel it instead (its Cancel button, or `/deploy cancel 7`).")


def test_approving_ahead_of_the_window_follows_the_usual_rules() -> None:
    with pytest.raises(Forbidden, match="cannot approve it yourself"):
        decide(scheduled(), user_id=REQUESTER)
    with pytest.raises(Forbidden, match="not an approver for production"):
        decide(scheduled(), user_id=OUTSIDER, is_approver=False)
    assert decide(scheduled(), user_id=REQUESTER, rule=LENIENT) is None


@pytest.mark.parametrize("state", list(CLOSED_REASONS))
@pytest.mark.parametrize("approve", [True, False])
def test_no_decision_once_the_request_is_closed(state: State, approve: bool) -> None:
    d = deployment(state, decisions=(Decision(APPROVER, False, T0),)
                   if state is State.REJECTED else ())
    with pytest.raises(Conflict) as info:
        decide(d, user_id=REQUESTER if not approve else APPROVER, approve=approve)
    assert info.value.message == (
        f"Deployment #7 (api `v1.2.3` to production) {CLOSED_REASONS[state]}; "
        "nothing to approve."
    )


def test_rejected_without_a_recorded_rejecter_says_someone() -> None:
    with pytest.raises(Conflict, match="was rejected by <@someone>"):
        decide(deployment(State.REJECTED))


@pytest.mark.parametrize("at", [EXPIRES, EXPIRES + timedelta(seconds=1),
                                EXPIRES + timedelta(days=3)])
@pytest.mark.parametrize(("user_id", "approve"), [(APPROVER, True), (APPROVER, False),
                                                  (REQUESTER, False)])
def test_no_decision_at_or_after_expiry(at: datetime, user_id: str, approve: bool) -> None:
    with pytest.raises(Conflict) as info:
        decide(deployment(), user_id=user_id, approve=approve, at=at)
    assert info.value.message == (
        "Deployment #7 (api `v1.2.3` to production) expired without enough approvals; "
        "request it again."
    )


def test_a_decision_just_before_expiry_counts() -> None:
    assert decide(deployment(), at=EXPIRES - timedelta(microseconds=1)) is None


def test_no_expiry_means_no_deadline() -> None:
    assert decide(deployment(expires_at=None), at=T0 + timedelta(days=365)) is None


@pytest.mark.parametrize("approve", [True, False])
def test_a_non_approver_may_not_decide(approve: bool) -> None:
    with pytest.raises(Forbidden) as info:
        decide(deployment(), user_id=OUTSIDER, approve=approve, is_approver=False)
    assert info.value.message == (
        "You are not an approver for production. Ask someone in its approvers role."
    )


def test_self_approval_is_forbidden_by_default_even_for_an_approver() -> None:
    with pytest.raises(Forbidden) as info:
        decide(deployment(), user_id=REQUESTER, approve=True, is_approver=True, rule=STRICT)
    assert info.value.message == (
        "You requested Deployment #7 (api `v1.2.3` to production), so you cannot approve it "
        "yourself: another approver has to."
    )


def test_self_approval_when_allowed() -> None:
    assert decide(deployment(), user_id=REQUESTER, approve=True, is_approver=True,
                  rule=LENIENT) is None


def test_self_approval_allowed_still_needs_the_approver_role() -> None:
    with pytest.raises(Forbidden, match="not an approver"):
        decide(deployment(), user_id=REQUESTER, approve=True, is_approver=False, rule=LENIENT)


@pytest.mark.parametrize("rule", [STRICT, LENIENT])
@pytest.mark.parametrize("is_approver", [True, False])
def test_the_requester_may_reject_their_own_request(rule: ApprovalRule,
                                                    is_approver: bool) -> None:
    assert decide(deployment(), user_id=REQUESTER, approve=False, is_approver=is_approver,
                  rule=rule) is None


def test_the_version_is_shown_safely_in_messages() -> None:
    with pytest.raises(Conflict) as info:
        decide(deployment(State.SUCCEEDED, version="<!channel>"))
    assert "<!channel>" not in info.value.message
    assert "`&lt;!channel&gt;`" in info.value.message


@pytest.mark.parametrize(
    ("approvals", "required", "expected"),
    [(0, 1, False), (1, 1, True), (2, 1, True), (1, 2, False), (2, 2, True), (3, 2, True),
     (9, 10, False), (10, 10, True)],
)
def test_enough(approvals: int, required: int, expected: bool) -> None:
    assert enough(approvals, ApprovalRule(required=required, allow_self_approval=False)) \
        is expected
