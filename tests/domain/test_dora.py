"""The DORA measures (bot.domain.dora) on hand-made records, with hand-computed answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.deployment import Kind
from bot.domain.dora import STATS_WINDOW, DeploymentFact, compute
from bot.domain.states import State

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
SINCE = T0 - STATS_WINDOW
M = timedelta(minutes=1)
D = timedelta(days=1)


def fact(i: int, version: str, previous: str | None, state: State, at: datetime, *,
         service: str = "api", environment: str = "production", kind: Kind = Kind.DEPLOY,
         took: timedelta | None = 5 * M, verify_failed: bool = False,
         rollback_of: int | None = None, failed_at: datetime | None = None) -> DeploymentFact:
    started = at + M if took is not None else None
    return DeploymentFact(
        id=i, environment=environment, service=service, kind=kind, state=state,
        version=version, previous_version=previous, requested_at=at, started_at=started,
        finished_at=started + took if started is not None and took is not None else None,
        failed_verification=verify_failed, rollback_of=rollback_of, failed_at=failed_at)


def scenario() -> list[DeploymentFact]:
    return [
        # before the window: not counted
        fact(1, "v1", "v0", State.SUCCEEDED, T0 - 40 * D),
        # a change that passed
        fact(2, "v2", "v1", State.SUCCEEDED, T0 - 20 * D),
        # live, failed its watch at +7m (the audit's deploy.failed), then rolled back by #4
        fact(3, "v3", "v2", State.ROLLED_BACK, T0 - 10 * D, took=6 * M, verify_failed=True,
             failed_at=T0 - 10 * D + 7 * M),
        fact(4, "v2", "v3", State.SUCCEEDED, T0 - 10 * D + 20 * M, kind=Kind.ROLLBACK,
             took=9 * M, rollback_of=3),  # ends at -10d +30m: restored after 23 minutes
        # live, failed its watch at +8m, rolled back automatically by +12m: 4 minutes
        fact(5, "v4", "v2", State.ROLLED_BACK, T0 - 5 * D, took=11 * M, verify_failed=True,
             failed_at=T0 - 5 * D + 8 * M),
        # the rollout failed: never live, not a change
        fact(6, "v4", "v2", State.FAILED, T0 - 5 * D + 60 * M),
        # web: went live and passed, then someone rolled it back (#8) two days later
        fact(7, "w2", "w1", State.ROLLED_BACK, T0 - 3 * D, service="web"),
        fact(8, "w1", "w2", State.SUCCEEDED, T0 - 2 * D, service="web", kind=Kind.ROLLBACK,
             took=9 * M, rollback_of=7),  # requested at -2d, ends -2d +10m: 10 minutes
        # a change that passed; a rollback of it was asked for and rejected: not needed
        fact(9, "v5", "v2", State.SUCCEEDED, T0 - 1 * D),
        fact(14, "v2", "v5", State.REJECTED, T0 - 1 * D + 60 * M, kind=Kind.ROLLBACK, took=None,
             rollback_of=9),
        # the version already running: nothing changed
        fact(10, "v5", "v5", State.SUCCEEDED, T0 - 1 * D + 2 * 60 * M),
        # web: failed its watch at -12h +6m and is still live: not restored yet
        fact(11, "w3", "w1", State.FAILED, T0 - D / 2, service="web", verify_failed=True,
             failed_at=T0 - D / 2 + 6 * M),
        # a migration run and a deploy still waiting for approval: not changes
        fact(12, "v5", "v5", State.SUCCEEDED, T0 - D / 4, kind=Kind.MIGRATE),
        fact(13, "v6", "v5", State.AWAITING_APPROVAL, T0 - M, took=None),
    ]


def test_the_measures_of_a_month() -> None:
    stats = compute(scenario(), since=SINCE, until=T0)

    assert stats.days == 30
    assert stats.changes == 6  # 2, 3, 5, 7, 9, 11
    assert stats.per_day == pytest.approx(0.2)
    assert stats.per_week == pytest.approx(1.4)
    assert stats.failed == 4  # 3 (watch, rolled back), 5 (automatic), 7 (rolled back), 11
    assert stats.failure_rate == pytest.approx(4 / 6)
    assert stats.rollbacks == 2  # 4 and 8 went live; 14 was rejected
    assert [(r.deployment_id, r.took) for r in stats.restores] == [
        (3, 23 * M), (5, 4 * M), (7, 10 * M), (11, None)]
    assert stats.median_restore == 10 * M
    assert stats.worst_restore == 23 * M
    assert [r.deployment_id for r in stats.unrestored] == [11]
    assert stats.unrestored[0].failed_at == T0 - D / 2 + 6 * M


def test_a_later_good_deploy_restores_a_failure_that_was_kept() -> None:
    facts = [fact(1, "v2", "v1", State.FAILED, T0 - 2 * D, verify_failed=True,
                  failed_at=T0 - 2 * D + 7 * M),
             # another service's success restores nothing here
             fact(2, "w2", "w1", State.SUCCEEDED, T0 - 2 * D + 10 * M, service="web"),
             fact(3, "v3", "v2", State.SUCCEEDED, T0 - D)]  # ends -1d +6m
    stats = compute(facts, since=SINCE, until=T0)
    (restore,) = stats.restores
    assert restore.took == D - M
    assert (stats.changes, stats.failed, stats.median_restore) == (3, 1, D - M)


def test_without_an_audit_event_the_failure_is_when_the_failed_deploy_ended() -> None:
    facts = [fact(1, "v2", "v1", State.FAILED, T0 - 2 * D, verify_failed=True),  # ends +6m
             fact(2, "v3", "v2", State.SUCCEEDED, T0 - 2 * D + 30 * M)]  # ends +36m
    (restore,) = compute(facts, since=SINCE, until=T0).restores
    assert restore.failed_at == T0 - 2 * D + 6 * M
    assert restore.took == 30 * M


def test_each_environment_is_restored_on_its_own() -> None:
    facts = [fact(1, "v2", "v1", State.FAILED, T0 - 2 * D, verify_failed=True,
                  failed_at=T0 - 2 * D + 6 * M),
             fact(2, "v1", "v0", State.SUCCEEDED, T0 - 2 * D + 10 * M, environment="staging")]
    stats = compute(facts, since=SINCE, until=T0)
    assert [r.restored_at for r in stats.restores] == [None]
    assert stats.median_restore is None and stats.worst_restore is None


def test_nothing_went_live() -> None:
    stats = compute([fact(1, "v2", "v1", State.FAILED, T0 - D),
                     fact(2, "v2", "v1", State.REJECTED, T0 - D, took=None)],
                    since=SINCE, until=T0)
    assert (stats.changes, stats.failed, stats.per_day) == (0, 0, 0.0)
    assert stats.failure_rate is None
    assert stats.restores == ()


def test_the_window_includes_both_ends() -> None:
    facts = [fact(1, "v1", "v0", State.SUCCEEDED, SINCE - M),  # out
             fact(2, "v2", "v1", State.SUCCEEDED, SINCE),  # in
             fact(3, "v3", "v2", State.SUCCEEDED, T0)]  # in: requested just now
    assert compute(facts, since=SINCE, until=T0).changes == 2
