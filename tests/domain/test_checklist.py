"""The pre-deployment checklist's rules (pure): marks from checks, reviews, migrations and
ticks; which items are required where; who may tick what; the changes listed on the card;
and, once a deploy is decided, the items nothing checked: not checked, or attested by name."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.checklist import (
    FEATURE_FLAGS,
    MIGRATIONS,
    MONITORING,
    REVIEWS,
    ROLLBACK_PLAN,
    TESTS,
    Mark,
    Rules,
    Tick,
    check_tick,
    clean_reason,
    evaluate,
    rules_for,
    settle,
    unevaluated,
)
from bot.domain.checklist_facts import (
    CheckState,
    CheckStatus,
    Commit,
    Comparison,
    Facts,
    PullRequest,
)
from bot.errors import Forbidden, UserError
from bot.presentation.checklist_views import changes_text

AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
ALL = (TESTS, REVIEWS, MIGRATIONS, FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN)


def rules(*, production: bool = True, required_in: dict[str, list[str]] | None = None,
          checks: tuple[str, ...] = ("build", "test"),
          migrations: tuple[str, ...] = ("migrations/",)) -> Rules:
    return rules_for(items=ALL, required_in=required_in or {}, environment="production",
                     production=production, required_checks=checks,
                     migration_paths=migrations)


def pr(n: int, *, approved: bool = True, merged: bool = True) -> PullRequest:
    return PullRequest(n, f"PR {n}", "dana", f"https://gh/pull/{n}", merged, approved)


def comparison(*commits: Commit, files: tuple[str, ...] = ("app/x.py",),
               total: int | None = None) -> Comparison:
    return Comparison("v1", "v2", "https://gh/compare/v1...v2", tuple(commits),
                      len(commits) if total is None else total, files)


def commit(i: int, *pulls: PullRequest) -> Commit:
    return Commit(f"{i:040x}", f"change {i}", "dana", f"https://gh/commit/{i}", pulls)


def green_facts(**kw: object) -> Facts:
    base: dict[str, object] = {
        "checks": (CheckStatus("build", "success"), CheckStatus("test", "success")),
        "comparison": comparison(commit(1, pr(1))), "checked_at": AT}
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


MANUAL_TICKS = [Tick(FEATURE_FLAGS, "U1", AT), Tick(MONITORING, "U1", AT),
                Tick(ROLLBACK_PLAN, "U1", AT, reason="stateless")]


def marks(facts: Facts, ticks: list[Tick] | None = None, *,
          checks: tuple[str, ...] = ("build", "test")) -> dict[str, Mark]:
    cl = evaluate(rules(checks=checks), facts, ticks or [])
    return {i.item: i.mark for i in cl.items}


def test_all_green_allows_approval() -> None:
    cl = evaluate(rules(), green_facts(), MANUAL_TICKS)
    assert cl.blocking == ()
    assert cl.items[-1].mark is Mark.NOT_APPLICABLE
    assert "stateless" in cl.items[-1].detail


@pytest.mark.parametrize("state, mark", [("failure", Mark.FAILED), ("pending", Mark.PENDING),
                                         ("success", Mark.OK)])
def test_a_required_check_decides_the_tests_item(state: CheckState, mark: Mark) -> None:
    facts = green_facts(checks=(CheckStatus("build", state), CheckStatus("test", "success"),
                                CheckStatus("docs", "failure")))  # not required: ignored
    assert marks(facts)[TESTS] is mark


def test_a_missing_required_check_is_pending() -> None:
    cl = evaluate(rules(), green_facts(checks=(CheckStatus("build", "success"),)), [])
    tests = cl.get(TESTS)
    assert tests is not None and tests.mark is Mark.PENDING
    assert "not reported: test" in tests.detail


def test_without_required_checks_every_reported_check_must_pass() -> None:
    facts = green_facts(checks=(CheckStatus("x", "success"), CheckStatus("y", "failure")))
    assert marks(facts, checks=())[TESTS] is Mark.FAILED
    assert marks(green_facts(checks=()), checks=())[TESTS] is Mark.PENDING


def test_a_commit_without_an_approved_merged_pull_request_fails_the_review_item() -> None:
    for bad in (commit(2), commit(2, pr(2, approved=False)), commit(2, pr(2, merged=False))):
        cl = evaluate(rules(), green_facts(comparison=comparison(commit(1, pr(1)), bad)), [])
        item = cl.get(REVIEWS)
        assert item is not None and item.mark is Mark.FAILED
        assert bad.sha[:7] in item.detail


def test_more_commits_than_checked_leaves_reviews_to_a_tick_by_someone_else() -> None:
    facts = green_facts(comparison=comparison(commit(1, pr(1)), total=300))
    assert marks(facts)[REVIEWS] is Mark.PENDING
    cl = evaluate(rules(), facts, [])
    with pytest.raises(Forbidden, match="cannot review its changes yourself"):
        check_tick(cl, REVIEWS, user_id="UREQ", requester="UREQ", not_applicable=False)
    check_tick(cl, REVIEWS, user_id="UOTHER", requester="UREQ", not_applicable=False)
    ticked = evaluate(rules(), facts, [Tick(REVIEWS, "UOTHER", AT)]).get(REVIEWS)
    assert ticked is not None and ticked.mark is Mark.OK and "by hand" in ticked.detail


def test_a_red_review_answer_cannot_be_ticked_away() -> None:
    facts = green_facts(comparison=comparison(commit(1, pr(1)), commit(2)))
    cl = evaluate(rules(), facts, [Tick(REVIEWS, "UOTHER", AT)])
    item = cl.get(REVIEWS)
    assert item is not None and item.mark is Mark.FAILED and not item.tickable
    with pytest.raises(UserError, match="checked automatically"):
        check_tick(cl, REVIEWS, user_id="UOTHER", requester="UREQ", not_applicable=False)


def test_changed_migrations_need_a_tick_by_someone_else() -> None:
    facts = green_facts(comparison=comparison(commit(1, pr(1)),
                                              files=("migrations/0003.py",)))
    cl = evaluate(rules(), facts, [])
    item = cl.get(MIGRATIONS)
    assert item is not None and item.mark is Mark.PENDING and item.tickable
    assert "migrations/0003.py" in item.detail
    with pytest.raises(Forbidden, match="cannot review its migrations yourself"):
        check_tick(cl, MIGRATIONS, user_id="UREQ", requester="UREQ", not_applicable=False)
    with pytest.raises(UserError, match="cannot be marked not applicable"):
        check_tick(cl, MIGRATIONS, user_id="UOTHER", requester="UREQ", not_applicable=True)
    check_tick(cl, MIGRATIONS, user_id="UOTHER", requester="UREQ", not_applicable=False)
    ticked = evaluate(rules(), facts, [Tick(MIGRATIONS, "UOTHER", AT)])
    assert ticked.items[2].mark is Mark.OK


def test_unchanged_migrations_are_green_and_not_tickable() -> None:
    cl = evaluate(rules(), green_facts(), [])
    item = cl.get(MIGRATIONS)
    assert item is not None and item.mark is Mark.OK and not item.tickable
    with pytest.raises(UserError, match="checked automatically"):
        check_tick(cl, MIGRATIONS, user_id="U2", requester="U1", not_applicable=False)
    with pytest.raises(UserError, match="checked automatically"):
        check_tick(cl, TESTS, user_id="U2", requester="U1", not_applicable=False)


def test_github_unreachable_leaves_its_items_pending_with_the_reason() -> None:
    facts = Facts(problem="GitHub answered 502", checked_at=AT)
    cl = evaluate(rules(), facts, MANUAL_TICKS)
    for item in (TESTS, REVIEWS, MIGRATIONS):
        state = cl.get(item)
        assert state is not None and state.mark is Mark.PENDING
        assert state.detail == "could not be checked: GitHub answered 502"
    assert [i.item for i in cl.blocking] == [TESTS, REVIEWS, MIGRATIONS]


def test_required_items_per_environment() -> None:
    r = rules_for(items=ALL, required_in={TESTS: ["staging"], MONITORING: []},
                  environment="staging", production=False, required_checks=(),
                  migration_paths=())
    assert r.required == frozenset({TESTS})
    assert MIGRATIONS not in r.items  # no migration paths: no such item
    prod = rules_for(items=ALL, required_in={MONITORING: []}, environment="production",
                     production=True, required_checks=(), migration_paths=())
    assert prod.required == frozenset({TESTS, REVIEWS, FEATURE_FLAGS, ROLLBACK_PLAN})


def test_a_not_applicable_reason_is_one_short_line() -> None:
    assert clean_reason("  no new\nflags ") == "no new flags"
    with pytest.raises(UserError, match="why"):
        clean_reason("   ")
    with pytest.raises(UserError, match="short"):
        clean_reason("x" * 201)


def test_the_changes_list_is_capped_with_a_compare_link() -> None:
    commits = [commit(i, pr(i)) for i in range(1, 13)]
    text = changes_text(comparison(*commits))
    assert "change 10" in text and "change 11" not in text
    assert "…and 2 more (<https://gh/compare/v1...v2|compare on GitHub>)" in text
    assert "<https://gh/pull/1|#1> PR 1 by dana" in text


# -- once decided: what nothing checked is never shown done ----------------------------

WHY = "no GitHub repository configured for api"


def test_an_unevaluated_checklist_shows_every_item_not_checked_and_why() -> None:
    cl = unevaluated(ALL, WHY)
    assert cl.unevaluated == WHY and not cl.attestation
    assert {(i.mark, i.detail, i.tickable, i.required) for i in cl.items} == {
        (Mark.NOT_CHECKED, f"not checked: {WHY}", False, False)}
    assert [i.item for i in cl.items] == list(ALL)
    assert cl.blocking == ()  # nothing to wait for: nothing will check it
    assert settle(cl, approvers=None) == cl  # still open: unchanged


def test_approval_attests_nothing_unless_the_environment_says_so() -> None:
    plain = settle(unevaluated(ALL, WHY), approvers=["U0BOB"])
    assert {i.mark for i in plain.items} == {Mark.NOT_CHECKED}
    attested = settle(unevaluated(ALL, WHY, attestation=True), approvers=["U0BOB", "U0CAROL"])
    assert {(i.mark, i.detail) for i in attested.items} == {
        (Mark.ATTESTED, "attested by <@U0BOB>, <@U0CAROL> on approval")}


def test_nobody_attests_what_nobody_approved() -> None:
    # No approval needed (staging), rejected or expired: there is no approver to attest.
    cl = settle(unevaluated(ALL, WHY, attestation=True), approvers=[])
    assert {i.mark for i in cl.items} == {Mark.NOT_CHECKED}


@pytest.mark.parametrize("attestation", [False, True])
def test_settling_keeps_what_github_and_ticks_said(attestation: bool) -> None:
    facts = green_facts(checks=(CheckStatus("build", "pending"),))
    ticks = [Tick(FEATURE_FLAGS, "U1", AT), Tick(ROLLBACK_PLAN, "U1", AT, reason="stateless")]
    cl = evaluate(rules(checks=("build",)), facts, ticks)
    settled = settle(replace(cl, attestation=attestation), approvers=["U0BOB"])
    got = {i.item: (i.mark, i.detail) for i in settled.items}
    assert got[TESTS] == (Mark.PENDING, "pending: build")  # GitHub's answer, as it was
    assert got[REVIEWS][0] is Mark.OK and got[MIGRATIONS][0] is Mark.OK
    assert got[FEATURE_FLAGS] == (Mark.OK, "<@U1>")
    assert got[ROLLBACK_PLAN][0] is Mark.NOT_APPLICABLE
    # The one manual item nobody ticked:
    assert got[MONITORING] == ((Mark.ATTESTED, "attested by <@U0BOB> on approval")
                               if attestation else
                               (Mark.NOT_CHECKED, "not checked: nobody ticked it before "
                                                  "approval"))
    assert not any(i.tickable for i in settled.items if i.item == MONITORING)


def test_an_emergency_skip_stays_a_skip() -> None:
    cl = evaluate(rules(), green_facts(), [], skipped="checkout down")
    settled = settle(replace(cl, attestation=True), approvers=["U0ONCALL"])
    assert settled.get(MONITORING) == cl.get(MONITORING)  # required, skipped (emergency)
