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
    Tick,
    evaluate,
    rules_for,
    settle,
    unevaluated,
)
from bot.domain.checklist_facts import CheckStatus, Facts
from bot.domain.deployment import Decision, Deployment, JobOutcome, Kind, Verification
from bot.domain.outcome_notes import (
    Abort,
    abort_note,
    aborted,
    failed_rollout,
    failed_verification,
    rollback_note,
    rolled_back,
)
from bot.domain.record import NOT_CHECKED, PRE_DEPLOYMENT_CHECKLIST, Item, Mark, build_record
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
    d = deployment(State.SUCCEEDED, decisions=APPROVED, progress=VERIFIED,
                   verification=Verification(ok=True, summary="watched 5m00s, pods healthy"))
    assert pre_marks(d) == {Mark.NOT_CHECKED}  # an approval checks nothing by itself
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.DONE, "v1.2.3 is live"),
        WATCH: (Mark.DONE, VERIFIED),
        ANNOUNCE: (Mark.DONE, None),
    }


# -- the post-deployment checks are ✅ only when a watch ran ----------------------------


def test_a_success_without_a_watch_is_not_checked_and_says_why() -> None:
    # No `verify:` in its environment: the runner recorded no verdict (it used to be ✅).
    d = deployment(State.SUCCEEDED, decisions=APPROVED, environment="staging")
    assert marks(d)[WATCH] == (Mark.NOT_CHECKED, "not checked: no post-deployment watch "
                               "configured for staging (environments.staging.verify)")
    # What the executor said of the rollout (a workflow run's link) stays with it.
    linked = replace(d, progress="https://github.example/acme/api/actions/runs/7")
    assert marks(linked)[WATCH] == (Mark.NOT_CHECKED, "not checked: no post-deployment watch "
                                    "configured for staging (environments.staging.verify); "
                                    "https://github.example/acme/api/actions/runs/7")


def test_a_verdict_or_the_runners_verified_note_means_a_watch_ran() -> None:
    v = Verification(ok=True, summary="watched 5m00s, pods healthy")
    assert marks(deployment(State.SUCCEEDED, verification=v))[WATCH] == (
        Mark.DONE, "verified: watched 5m00s, pods healthy")
    # An older record: the note, without the verdict.
    assert marks(deployment(State.SUCCEEDED, progress=VERIFIED))[WATCH] == (Mark.DONE, VERIFIED)


def test_an_unwatched_rollback_a_preview_and_a_deploy_of_what_runs_are_not_checked() -> None:
    rb = deployment(State.SUCCEEDED, kind=Kind.ROLLBACK, version="v1.2.2",
                    previous_version="v1.2.3", rollback_of=4, approvals_required=0)
    assert marks(rb)[WATCH] == (Mark.NOT_CHECKED, "not checked: no post-deployment watch "
                                "configured for production (environments.production.verify)")
    preview = deployment(State.SUCCEEDED, environment="development", instance="pr-42")
    assert marks(preview)[WATCH] == (Mark.NOT_CHECKED,
                                     "not checked: a per-PR preview is not watched")
    same = deployment(State.SUCCEEDED,
                      progress="v1.2.3 is already running in production; nothing to do")
    assert marks(same)[WATCH] == (Mark.SKIPPED, "nothing was rolled out: v1.2.3 is already "
                                  "running in production")


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


# -- an abort (issue 12): who and when, how far it got, not a failed rollout -------------

ABORTED_AT = T0 + timedelta(minutes=3)


def aborted_deploy(error: str, state: State = State.ROLLED_BACK, **kw: object) -> Deployment:
    return deployment(state, decisions=APPROVED, environment="staging", error=error,
                      abort_requested_by="U0BOB", abort_requested_at=ABORTED_AT,
                      updated_at=LATER, **kw)


def test_an_abort_during_the_rollout_says_who_and_stops_the_rollout_not_fails_it() -> None:
    d = aborted_deploy("aborted by <@U0BOB>; rolled back to v1.2.2")
    assert marks(d) == {
        APPROVAL: (Mark.DONE, "<@U0BOB>"),
        ROLLOUT: (Mark.ABORTED, "stopped: aborted"),
        WATCH: (Mark.SKIPPED, None),
        ANNOUNCE: (Mark.DONE, None),
    }
    assert later(d) == [Item("Aborted by <@U0BOB>", Mark.ABORTED, None, ABORTED_AT,
                             then="rolled back to v1.2.2")]
    assert not any("automatically" in i.label for i in later(d))
    ab = aborted(d)
    assert ab == Abort(by="<@U0BOB>", at=ABORTED_AT, went_live=False,
                       then="rolled back to v1.2.2")


@pytest.mark.parametrize("d", [
    pytest.param(aborted_deploy("aborted by <@U0BOB> during the watch; rolled back to v1.2.2"),
                 id="the-runner-says-during-the-watch"),
    pytest.param(aborted_deploy("aborted by <@U0BOB>; rolled back to v1.2.2",
                                verification=Verification(ok=False, summary="restarts")),
                 id="its-watch-came-to-a-verdict"),
])
def test_an_abort_during_the_watch_keeps_the_rollout_live_and_stops_the_checks(
    d: Deployment,
) -> None:
    assert marks(d)[ROLLOUT] == (Mark.DONE, "v1.2.3 went live")
    assert marks(d)[WATCH] == (Mark.ABORTED, "stopped: aborted")
    assert later(d) == [Item("Aborted by <@U0BOB>", Mark.ABORTED, None, ABORTED_AT,
                             then="rolled back to v1.2.2")]


def test_an_abort_whose_rollback_failed_says_so_and_a_later_rollback_adds_its_line() -> None:
    failed = aborted_deploy("aborted by <@U0BOB>; the rollback to v1.2.2 failed too: boom",
                            State.FAILED)
    line = Item("Aborted by <@U0BOB>", Mark.ABORTED, None, ABORTED_AT,
                then="the rollback to v1.2.2 failed too: boom")
    assert marks(failed)[ROLLOUT] == (Mark.ABORTED, "stopped: aborted")
    assert later(failed) == [line]
    back = replace(failed, state=State.ROLLED_BACK,
                   error=f"{failed.error}; {ROLLED_BACK_NOTE}")
    assert marks(back) == marks(failed)
    assert later(back) == [line, Item("Rolled back to v1.2.2 by <@U0BOB> (deployment #5)",
                                      Mark.ROLLED_BACK, None, LATER)]


def test_an_abort_being_rolled_back_and_one_with_nothing_to_roll_back_to() -> None:
    rolling = aborted_deploy("aborted by <@U0BOB>; rolling back to v1.2.2", State.FAILED)
    assert later(rolling)[0].then == "rolling back to v1.2.2"
    nothing = aborted_deploy("aborted by <@U0BOB>; no previous version is known to roll "
                             "back to, so v1.2.3 was left as far as it got", State.FAILED)
    assert marks(nothing)[ROLLOUT] == (Mark.ABORTED, "stopped: aborted")
    assert later(nothing)[0].then == ("no previous version is known to roll back to, so "
                                      "v1.2.3 was left as far as it got")


def test_only_an_abort_that_ended_is_read_as_one() -> None:
    error = "aborted by <@U0BOB>; rolled back to v1.2.2"
    assert aborted(replace(aborted_deploy(error), abort_requested_by=None)) is None
    assert aborted(aborted_deploy(error, state=State.VERIFYING)) is None
    assert aborted(aborted_deploy(f"{WATCH_FAILED}; rolled back to v1.2.2")) is None


# -- a failed rollout left applied is not a failed watch --------------------------------

CAUSE = "the new pods cannot pull the image registry.example/api:v1.2.3"
LEFT = (f"{CAUSE}; v1.2.3 is left applied in production (automatic rollback is off there): "
        "roll back to v1.2.2, or keep it")
OFFERED = Verification(ok=False, summary="the rollout failed", reasons=(CAUSE,),
                       offer_rollback=True)


def test_a_failed_rollout_left_applied_is_told_from_a_failed_watch() -> None:
    offered = deployment(State.FAILED, decisions=APPROVED, error=LEFT, verification=OFFERED)
    auto = deployment(State.ROLLED_BACK, decisions=APPROVED,
                      error=f"{CAUSE}; rolled back to v1.2.2")
    clicked = replace(offered, state=State.ROLLED_BACK,
                      error=f"{LEFT}; {ROLLED_BACK_NOTE}",
                      verification=OFFERED.decided("rollback", by="U0BOB", at=LATER,
                                                   rollback_id=5))
    for d in (offered, auto, clicked):
        assert failed_rollout(d) and not failed_verification(d), d
        assert marks(d)[ROLLOUT] == (Mark.FAILED, LEFT if d is not auto else CAUSE)
        assert marks(d)[WATCH] == (Mark.SKIPPED, None)  # no watch ran
    assert later(auto) == [Item("Rolled back to v1.2.2 automatically", Mark.ROLLED_BACK, None,
                                None)]


@pytest.mark.parametrize("d", [
    pytest.param(deployment(State.FAILED, error=WATCH_FAILED,
                            verification=Verification(ok=False, summary="restarts",
                                                      offer_rollback=True)),
                 id="a-failed-watch"),
    pytest.param(deployment(State.ROLLED_BACK, error=f"{WATCH_FAILED}; rolled back to v1.2.2"),
                 id="a-failed-watch-rolled-back"),
    pytest.param(deployment(State.FAILED, error=CAUSE), id="nothing-was-left-applied"),
    pytest.param(deployment(State.ROLLED_BACK, error="aborted by <@U0BOB>; rolled back to "
                            "v1.2.2", abort_requested_by="U0BOB"), id="an-abort"),
    pytest.param(deployment(State.ROLLED_BACK, error=ROLLED_BACK_NOTE,
                            verification=Verification(ok=True, summary="ok")),
                 id="live-then-rolled-back-by-someone"),
    pytest.param(deployment(State.ROLLED_BACK, error=f"migration Job api-migrate-1 failed; "
                            f"{ROLLED_BACK_NOTE}"), id="failed-migrations-rolled-back-later"),
    pytest.param(deployment(State.ROLLED_BACK, kind=Kind.ROLLBACK, error=f"{CAUSE}; rolled back "
                            "to v1.2.2"), id="a-rollback"),
])
def test_what_is_not_a_failed_rollout_left_applied(d: Deployment) -> None:
    assert not failed_rollout(d)


def test_keep_after_a_failed_rollout_says_it_is_kept_applied_not_live() -> None:
    kept = deployment(State.FAILED, decisions=APPROVED, error=LEFT,
                      verification=OFFERED.decided("keep", by="U0ALICE", at=LATER))
    assert later(kept) == [Item("Kept v1.2.3 applied", Mark.KEPT,
                                "chosen by <@U0ALICE> after its rollout failed", LATER)]


def test_the_runners_notes_read_from_an_error_alone() -> None:
    note = rollback_note(f"{CAUSE}; rolled back to v1.2.2")
    assert note is not None and (note.to, note.by, note.reached) == ("v1.2.2", None, CAUSE)
    assert rollback_note(CAUSE) is None and rollback_note(None) is None
    assert abort_note("aborted by <@U0BOB> during the watch; rolled back to v1.2.2") == Abort(
        by="<@U0BOB>", at=None, went_live=True, then="rolled back to v1.2.2")
    assert abort_note(WATCH_FAILED) is None


# -- attestation: as kept when the approvals were complete, not as configured now ----------


def test_kept_attestations_decide_whatever_the_setting_says_now() -> None:
    d = deployment(State.SUCCEEDED, decisions=APPROVED)
    why = "no GitHub repository configured for api"
    kept = [Tick("tests", "U0BOB", T0, attested=True),
            Tick("rollback_plan", "U0BOB", T0, attested=True)]
    # Attested then, not attesting now: still attested, by name.
    settled = settle(unevaluated(["tests", "rollback_plan"], why), approvers=["U0BOB"],
                     attested=kept)
    assert {i.mark for i in items(d, settled).values()
            if i.label in ("Tests passing", "Rollback plan documented")} == {Mark.ATTESTED}
    assert items(d, settled)["Tests passing"].detail == "attested by <@U0BOB> on approval"
    # Attesting now, nothing kept then: not attested.
    now_on = settle(unevaluated(["tests", "rollback_plan"], why, attestation=True),
                    approvers=["U0BOB"], attested=[])
    assert items(d, now_on)["Tests passing"] == Item("Tests passing", Mark.NOT_CHECKED,
                                                     f"not checked: {why}")
