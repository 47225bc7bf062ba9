"""The guide's deployment record, derived from the deployment's state: nothing claimed that
nobody checked, and nothing a deployment reached taken back by a later rollback or Keep."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.checklist import (
    FEATURE_FLAGS,
    MONITORING,
    ROLLBACK_PLAN,
    TESTS,
    Checklist,
    CheckStatus,
    Facts,
    Tick,
    evaluate,
    rules_for,
    settle,
    unevaluated,
)
from bot.domain.deployment import Decision, Deployment, JobOutcome, Kind, Verification
from bot.domain.record import (
    NOT_CHECKED,
    PRE_DEPLOYMENT_CHECKLIST,
    Item,
    Mark,
    build_record,
    rolled_back,
)
from bot.domain.states import State

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
APPROVED = (Decision("U0BOB", True, T0 + timedelta(minutes=1)),)
REJECTED = (Decision("U0CAROL", False, T0 + timedelta(minutes=1)),)

APPROVAL = "Approval"
ROLLOUT = "Rollout"
WATCH = "Post-deployment checks"
ANNOUNCE = "Announced in the deployments channel"
LATER = T0 + timedelta(hours=1)
ROLLED_BACK_NOTE = "rolled back to v1.2.2 by <@U0BOB> (deployment #5)"
VERIFIED = "verified: watched 5m00s, pods healthy"
WATCH_FAILED = ("failed verification: the pods restarted 3 times; v1.2.3 is still live "
                "(automatic rollback is off in production)")


def deployment(state: State, **kw: object) -> Deployment:
    d = Deployment(
        id=1, service="api", environment="production", version="v1.2.3",
        previous_version="v1.2.2", state=state, requested_by="U0ALICE", requested_at=T0,
        approvals_required=1, expires_at=T0 + timedelta(hours=2),
    )
    return replace(d, **kw)  # type: ignore[arg-type]


def items(d: Deployment, checklist: Checklist | None = None) -> dict[str, Item]:
    return {i.label: i for section in build_record(d, checklist) for i in section.items}


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
    assert pre_marks(d) == {Mark.NOT_CHECKED}
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
    assert pre_marks(d) == {Mark.NOT_CHECKED}  # an approval checks nothing by itself
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.PENDING, "queued"),
        WATCH: (Mark.PENDING, None),
        ANNOUNCE: (Mark.PENDING, None),
    }


def test_running_shows_progress() -> None:
    d = deployment(State.RUNNING, decisions=APPROVED, progress="2/3 pods updated")
    assert pre_marks(d) == {Mark.NOT_CHECKED}  # an approval checks nothing by itself
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
    assert pre_marks(d) == {Mark.NOT_CHECKED}  # an approval checks nothing by itself
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
    assert pre_marks(d) == {Mark.NOT_CHECKED}  # an approval checks nothing by itself
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.DONE, "v1.2.3 is live"),
        WATCH: (Mark.DONE, None),
        ANNOUNCE: (Mark.DONE, None),
    }


def test_rejected_names_the_rejecter_and_nothing_is_left_pending() -> None:
    d = deployment(State.REJECTED, decisions=REJECTED)
    assert pre_marks(d) == {Mark.NOT_CHECKED}
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
    assert pre_marks(d) == {Mark.NOT_CHECKED}
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
    assert pre_marks(d) == {Mark.NOT_CHECKED}
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
    assert pre_marks(d) == {Mark.NOT_CHECKED}  # and no approval either


@pytest.mark.parametrize("state", [s for s in State if s.terminal])
def test_no_terminal_record_has_a_pending_item(state: State) -> None:
    error = {State.FAILED: "boom", State.ROLLED_BACK: ROLLED_BACK_NOTE}.get(state)
    d = deployment(state, decisions=REJECTED if state is State.REJECTED else APPROVED,
                   error=error)
    pending = [label for label, i in items(d).items() if i.mark is Mark.PENDING]
    assert pending == []


def test_without_a_checklist_every_item_says_nothing_checked_it() -> None:
    got = items(deployment(State.SUCCEEDED, decisions=APPROVED))
    assert [got[label] for label in PRE_DEPLOYMENT_CHECKLIST] == [
        Item(label, Mark.NOT_CHECKED, NOT_CHECKED) for label in PRE_DEPLOYMENT_CHECKLIST]


# -- a later rollback or decision adds a line; what the deployment reached stays -------


def later(d: Deployment) -> list[Item]:
    """The lines after the announcement (added once the deployment had ended)."""
    post = build_record(d)[-1].items
    return list(post[[i.label for i in post].index(ANNOUNCE) + 1:])


def test_a_rolled_back_success_keeps_its_rollout_and_checks_and_adds_the_rollback() -> None:
    ok = deployment(State.SUCCEEDED, decisions=APPROVED, progress=VERIFIED)
    back = replace(ok, state=State.ROLLED_BACK, error=ROLLED_BACK_NOTE, updated_at=LATER)
    assert marks(ok)[WATCH] == marks(back)[WATCH] == (Mark.DONE, VERIFIED)
    assert marks(back)[ROLLOUT] == (Mark.DONE, "v1.2.3 went live")
    assert marks(back)[ANNOUNCE] == (Mark.DONE, None)
    assert later(ok) == []
    assert later(back) == [Item("Rolled back to v1.2.2 by <@U0BOB> (deployment #5)",
                                Mark.ROLLED_BACK, None, LATER)]
    note = rolled_back(back)
    assert note is not None and (note.to, note.by, note.rollback_id, note.reached) == (
        "v1.2.2", "<@U0BOB>", 5, None)


def test_a_rolled_back_failed_watch_keeps_its_failure_without_the_rollback_note() -> None:
    failed = deployment(State.FAILED, decisions=APPROVED, error=WATCH_FAILED)
    back = replace(failed, state=State.ROLLED_BACK, error=f"{WATCH_FAILED}; {ROLLED_BACK_NOTE}",
                   updated_at=LATER)
    assert marks(back) == marks(failed) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.DONE, "v1.2.3 went live"),
        WATCH: (Mark.FAILED, WATCH_FAILED),
        ANNOUNCE: (Mark.DONE, None),
    }
    assert [i.label for i in later(back)] == [
        "Rolled back to v1.2.2 by <@U0BOB> (deployment #5)"]


def test_an_automatic_rollback_says_so() -> None:
    cause = "failed verification: the pods restarted 3 times"
    back = deployment(State.ROLLED_BACK, decisions=APPROVED, updated_at=LATER,
                      error=f"{cause}; rolled back to v1.2.2", progress="rolled back to v1.2.2")
    assert marks(back)[WATCH] == (Mark.FAILED, cause)
    assert later(back) == [Item("Rolled back to v1.2.2 automatically", Mark.ROLLED_BACK, None,
                                LATER)]


def test_a_rolled_back_failed_rollout_keeps_its_error() -> None:
    error = "new pods of api v1.2.3 crash-loop"
    failed = deployment(State.FAILED, decisions=APPROVED, error=error)
    back = replace(failed, state=State.ROLLED_BACK, error=f"{error}; {ROLLED_BACK_NOTE}")
    assert marks(back) == marks(failed)
    assert marks(back)[ROLLOUT] == (Mark.FAILED, error)
    assert marks(back)[WATCH] == (Mark.SKIPPED, None)


def test_failed_migrations_stay_failed_after_a_rollback() -> None:
    job = JobOutcome(ok=False, job="api-migrate-1", tail="boom")
    back = deployment(State.ROLLED_BACK, decisions=APPROVED, migrations=job,
                      error=f"migration Job api-migrate-1 failed; {ROLLED_BACK_NOTE}")
    got = items(back)
    assert got["Database migrations"].mark is Mark.FAILED
    assert got[ROLLOUT] == Item(ROLLOUT, Mark.SKIPPED, "not started: the migrations failed")


def verdict(decision: str | None = None) -> Verification:
    v = Verification(ok=False, summary="restarts", reasons=("restarts",), offer_rollback=True)
    return v if decision is None else v.decided(decision, by="U0ALICE", at=LATER,
                                                rollback_id=5 if decision == "rollback" else None)


def test_keep_adds_who_kept_it_and_a_later_rollback_adds_another_line() -> None:
    kept = deployment(State.FAILED, decisions=APPROVED, error=WATCH_FAILED,
                      verification=verdict("keep"))
    keep_line = Item("Kept v1.2.3 live", Mark.KEPT,
                     "chosen by <@U0ALICE> after its checks failed", LATER)
    assert later(kept) == [keep_line]
    at = LATER + timedelta(days=1)
    back = replace(kept, state=State.ROLLED_BACK, error=f"{WATCH_FAILED}; {ROLLED_BACK_NOTE}",
                   updated_at=at)
    assert marks(back) == marks(kept)
    assert later(back) == [keep_line, Item(
        "Rolled back to v1.2.2 by <@U0BOB> (deployment #5)", Mark.ROLLED_BACK, None, at)]


def test_a_chosen_rollback_is_shown_until_it_is_done() -> None:
    chosen = deployment(State.FAILED, decisions=APPROVED, error=WATCH_FAILED,
                        verification=verdict("rollback"))
    assert later(chosen) == [Item("Rollback to v1.2.2 chosen by <@U0ALICE> (deployment #5)",
                                  Mark.ROLLED_BACK, None, LATER)]
    back = replace(chosen, state=State.ROLLED_BACK, updated_at=LATER,
                   error=f"{WATCH_FAILED}; rolled back to v1.2.2 by <@U0ALICE> (deployment #5)")
    assert [i.label for i in later(back)] == [
        "Rolled back to v1.2.2 by <@U0ALICE> (deployment #5)"]
    assert marks(back) == marks(chosen)


def test_a_rolled_back_rollback_keeps_its_own_record() -> None:
    rb = deployment(State.SUCCEEDED, kind=Kind.ROLLBACK, version="v1.2.2",
                    previous_version="v1.2.3", rollback_of=4, approvals_required=0,
                    progress=VERIFIED)
    back = replace(rb, state=State.ROLLED_BACK, updated_at=LATER,
                   error="rolled back to v1.2.3 by <@U0BOB> (deployment #6)")
    assert marks(back)[WATCH] == (Mark.DONE, VERIFIED)
    assert marks(back)[ROLLOUT] == (Mark.DONE, "v1.2.2 went live")
    assert [i.label for i in later(back)] == [
        "Rolled back to v1.2.3 by <@U0BOB> (deployment #6)"]


def test_a_rollback_note_it_cannot_read_still_adds_a_line() -> None:
    # e.g. an abort written by other code: what it reached is taken from its verification.
    back = deployment(State.ROLLED_BACK, decisions=APPROVED, error="aborted by <@U0BOB>",
                      updated_at=LATER, verification=Verification(ok=True, summary="ok"),
                      progress=VERIFIED)
    assert rolled_back(back) is None
    assert marks(back)[WATCH] == (Mark.DONE, VERIFIED)
    assert later(back) == [Item("Rolled back", Mark.ROLLED_BACK, None, LATER)]


# -- the pre-deployment items come from the checklist as given ------------------------


def test_an_unevaluated_checklist_attested_on_approval_names_the_approvers() -> None:
    d = deployment(State.SUCCEEDED, decisions=APPROVED)
    why = "no GitHub repository configured for api"
    plain = settle(unevaluated(["tests", "rollback_plan"], why), approvers=["U0BOB"])
    got = items(d, plain)
    assert got["Tests passing"] == Item("Tests passing", Mark.NOT_CHECKED, f"not checked: {why}")
    attested = settle(unevaluated(["tests", "rollback_plan"], why, attestation=True),
                      approvers=["U0BOB"])
    assert items(d, attested)["Rollback plan documented"] == Item(
        "Rollback plan documented", Mark.ATTESTED, "attested by <@U0BOB> on approval")


def test_an_evaluated_checklist_keeps_its_github_marks_and_ticks() -> None:
    rules = rules_for(items=[TESTS, FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN], required_in={},
                      environment="production", production=False, required_checks=["build"],
                      migration_paths=[])
    facts = Facts(checks=(CheckStatus("build", "success"),), checked_at=T0)
    ticks = [Tick(FEATURE_FLAGS, "U0CAROL", T0), Tick(ROLLBACK_PLAN, "U0CAROL", T0, "config")]
    checklist = settle(evaluate(rules, facts, ticks), approvers=["U0BOB"])
    got = items(deployment(State.SUCCEEDED, decisions=APPROVED), checklist)
    assert got["Tests passing"] == Item("Tests passing", Mark.DONE, "build")
    assert got["Feature flags configured"] == Item("Feature flags configured", Mark.DONE,
                                                   "<@U0CAROL>")
    assert got["Rollback plan documented"].mark is Mark.SKIPPED  # not applicable
    assert got["Monitoring alerts set up"] == Item(
        "Monitoring alerts set up", Mark.NOT_CHECKED,
        "not checked: nobody ticked it before approval")
