"""The guide's deployment record, derived from the deployment's state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.deployment import Decision, Deployment
from bot.domain.record import PRE_DEPLOYMENT_CHECKLIST, Item, Mark, build_record
from bot.domain.states import State

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
APPROVED = (Decision("U0BOB", True, T0 + timedelta(minutes=1)),)
REJECTED = (Decision("U0CAROL", False, T0 + timedelta(minutes=1)),)

APPROVAL = "Approval"
ROLLOUT = "Rollout"
WATCH = "Post-deployment checks"
ANNOUNCE = "Announced in the deployments channel"


def deployment(state: State, **kw: object) -> Deployment:
    d = Deployment(
        id=1, service="api", environment="production", version="v1.2.3",
        previous_version="v1.2.2", state=state, requested_by="U0ALICE", requested_at=T0,
        approvals_required=1, expires_at=T0 + timedelta(hours=2),
    )
    return replace(d, **kw)  # type: ignore[arg-type]


def items(d: Deployment) -> dict[str, Item]:
    return {i.label: i for section in build_record(d) for i in section.items}


def marks(d: Deployment) -> dict[str, tuple[Mark, str | None]]:
    got = items(d)
    return {k: (got[k].mark, got[k].detail) for k in (APPROVAL, ROLLOUT, WATCH, ANNOUNCE)}


def pre_marks(d: Deployment) -> set[Mark]:
    got = items(d)
    return {got[label].mark for label in PRE_DEPLOYMENT_CHECKLIST}


def test_sections_and_their_order() -> None:
    record = build_record(deployment(State.AWAITING_APPROVAL))
    assert [s.title for s in record] == ["Pre-deployment", "Deployment", "Post-deployment"]
    assert [i.label for i in record[0].items] == [*PRE_DEPLOYMENT_CHECKLIST, APPROVAL]
    assert [i.label for i in record[1].items] == [ROLLOUT]
    assert [i.label for i in record[2].items] == [WATCH, ANNOUNCE]


def test_the_checklist_is_the_guides() -> None:
    assert PRE_DEPLOYMENT_CHECKLIST == (
        "Tests passing", "Code reviewed and approved", "Database migrations reviewed",
        "Feature flags configured", "Monitoring alerts set up", "Rollback plan documented",
    )


def test_awaiting_approval_with_no_approvals_yet() -> None:
    d = deployment(State.AWAITING_APPROVAL)
    assert pre_marks(d) == {Mark.MANUAL}
    assert marks(d) == {
        APPROVAL: (Mark.PENDING, "0/1"),
        ROLLOUT: (Mark.PENDING, None),
        WATCH: (Mark.PENDING, None),
        ANNOUNCE: (Mark.PENDING, None),
    }


def test_awaiting_approval_names_who_approved_so_far() -> None:
    d = deployment(State.AWAITING_APPROVAL, approvals_required=2, decisions=APPROVED)
    assert marks(d)[APPROVAL] == (Mark.PENDING, "1/2 — <@U0BOB>")


def test_queued() -> None:
    d = deployment(State.QUEUED, decisions=APPROVED)
    assert pre_marks(d) == {Mark.DONE}
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.PENDING, "queued"),
        WATCH: (Mark.PENDING, None),
        ANNOUNCE: (Mark.PENDING, None),
    }


def test_running_shows_progress() -> None:
    d = deployment(State.RUNNING, decisions=APPROVED, progress="2/3 pods updated")
    assert pre_marks(d) == {Mark.DONE}
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.IN_PROGRESS, "2/3 pods updated"),
        WATCH: (Mark.PENDING, None),
        ANNOUNCE: (Mark.PENDING, None),
    }


def test_verifying_shows_the_checks_in_progress() -> None:
    d = deployment(State.VERIFYING, decisions=APPROVED, progress="checking")
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.DONE, "v1.2.3 is live"),
        WATCH: (Mark.IN_PROGRESS, "checking"),
        ANNOUNCE: (Mark.PENDING, None),
    }


def test_failed_shows_the_error() -> None:
    error = "simulated failure: new pods of api v1.2.3 crash-loop"
    d = deployment(State.FAILED, decisions=APPROVED, error=error)
    assert pre_marks(d) == {Mark.DONE}
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.FAILED, error),
        WATCH: (Mark.SKIPPED, None),
        ANNOUNCE: (Mark.DONE, None),
    }


def test_failed_without_an_error_text_is_still_failed_not_live() -> None:
    d = deployment(State.FAILED, decisions=APPROVED, error=None)
    assert marks(d)[ROLLOUT] == (Mark.FAILED, None)


def test_succeeded() -> None:
    d = deployment(State.SUCCEEDED, decisions=APPROVED)
    assert pre_marks(d) == {Mark.DONE}
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.DONE, "v1.2.3 is live"),
        WATCH: (Mark.DONE, None),
        ANNOUNCE: (Mark.DONE, None),
    }


def test_rejected_names_the_rejecter_and_nothing_is_left_pending() -> None:
    d = deployment(State.REJECTED, decisions=REJECTED)
    assert pre_marks(d) == {Mark.SKIPPED}
    assert marks(d) == {
        APPROVAL: (Mark.FAILED, "rejected by <@U0CAROL>"),
        ROLLOUT: (Mark.SKIPPED, None),
        WATCH: (Mark.SKIPPED, None),
        ANNOUNCE: (Mark.SKIPPED, None),
    }


def test_scheduled_claims_nothing_done_yet() -> None:
    # A deploy waiting for its window gets its approval rule only when it is started.
    d = deployment(State.SCHEDULED, approvals_required=0, expires_at=None,
                   not_before=T0 + timedelta(days=1))
    assert pre_marks(d) == {Mark.PENDING}
    assert marks(d) == {
        APPROVAL: (Mark.PENDING, "when the deploy window opens"),
        ROLLOUT: (Mark.PENDING, None),
        WATCH: (Mark.PENDING, None),
        ANNOUNCE: (Mark.PENDING, None),
    }


def test_cancelled_after_approval_keeps_the_approval() -> None:
    # Approved, then refused right before the start because the window had closed.
    d = deployment(State.CANCELLED, decisions=APPROVED,
                   error="the deploy window closed before it could start: …")
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.SKIPPED, None),
        WATCH: (Mark.SKIPPED, None),
        ANNOUNCE: (Mark.SKIPPED, None),
    }


def test_cancelled_with_too_few_approvals_is_a_failed_approval() -> None:
    d = deployment(State.CANCELLED, approvals_required=2, decisions=APPROVED)
    assert marks(d)[APPROVAL] == (Mark.FAILED, "cancelled")


@pytest.mark.parametrize("state", [State.EXPIRED, State.CANCELLED])
def test_expired_or_cancelled_and_nothing_is_left_pending(state: State) -> None:
    d = deployment(state)
    assert pre_marks(d) == {Mark.SKIPPED}
    assert marks(d) == {
        APPROVAL: (Mark.FAILED, state.value),
        ROLLOUT: (Mark.SKIPPED, None),
        WATCH: (Mark.SKIPPED, None),
        ANNOUNCE: (Mark.SKIPPED, None),
    }


@pytest.mark.parametrize(
    ("state", "rollout"),
    [
        (State.QUEUED, (Mark.PENDING, "queued")),
        (State.RUNNING, (Mark.IN_PROGRESS, "1/3 pods updated")),
        (State.SUCCEEDED, (Mark.DONE, "v1.2.3 is live")),
    ],
)
def test_environment_without_approval(state: State, rollout: tuple[Mark, str]) -> None:
    d = deployment(state, environment="staging", approvals_required=0, expires_at=None,
                   progress="1/3 pods updated")
    assert not d.needs_approval
    got = marks(d)
    assert got[APPROVAL] == (Mark.SKIPPED, "not required in this environment")
    assert got[ROLLOUT] == rollout
    assert pre_marks(d) == {Mark.DONE}


# ROLLED_BACK is left out until rollback is built and its record is designed.
@pytest.mark.parametrize("state", [s for s in State if s.terminal and s is not State.ROLLED_BACK])
def test_no_terminal_record_has_a_pending_item(state: State) -> None:
    d = deployment(state, decisions=REJECTED if state is State.REJECTED else APPROVED,
                   error="boom" if state is State.FAILED else None)
    pending = [label for label, i in items(d).items() if i.mark is Mark.PENDING]
    assert pending == []
