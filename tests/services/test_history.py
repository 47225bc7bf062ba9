"""`/deploys` and `/deploys stats` as the history service answers them, on deployments
seeded in the database (SQLite, or PostgreSQL with TEST_DATABASE_URL) through the
repositories; the DORA measures are checked against hand-computed values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.deployment import Kind, NewDeployment
from bot.domain.history_commands import HistoryArgs, StatsArgs
from bot.domain.states import State
from bot.services.history import HistoryService
from bot.store.db import Database
from tests.conftest import WEDNESDAY, base_config

T0 = WEDNESDAY
M = timedelta(minutes=1)
D = timedelta(days=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def service(db: Database) -> HistoryService:
    config = parse_config(base_config(services={"api": {}, "web": {}}), source="test")
    return HistoryService(config=config, store=db, clock=ManualClock(T0))


def run(db: Database, env: str, svc: str, version: str, previous: str, at: timedelta, *,
        end: State, took: timedelta = 5 * M, kind: Kind = Kind.DEPLOY,
        rollback_of: int | None = None, failed_after: timedelta | None = None) -> int:
    """A deployment requested at T0 + `at`, started a minute later, ended `end` after `took`
    (FAILED: its watch failed `failed_after` after it started, recorded as deploy.failed)."""
    requested, started = T0 + at, T0 + at + M
    with db.transaction() as r:
        d = r.deployments.add(NewDeployment(
            service=svc, environment=env, version=version, previous_version=previous,
            state=State.QUEUED, requested_by="U0ALICE", requested_at=requested,
            approvals_required=0, expires_at=None, kind=kind, rollback_of=rollback_of))
        assert r.deployments.transition(d.id, State.RUNNING, at=started, started_at=started)
        assert r.deployments.transition(d.id, State.VERIFYING, at=started)
        if end is State.SUCCEEDED:
            assert r.deployments.transition(d.id, end, at=started + took,
                                            finished_at=started + took)
        else:
            assert failed_after is not None
            failed_at = started + failed_after
            assert r.deployments.transition(d.id, State.FAILED, at=failed_at,
                                            finished_at=failed_at,
                                            error="failed verification: pods restarting")
            r.audit.record("deploy.failed", actor="deploybot", at=failed_at,
                           deployment_id=d.id)
        return d.id


def rolled_back(db: Database, i: int, *, finished: timedelta | None = None) -> None:
    fields = {} if finished is None else {"finished_at": T0 + finished}
    with db.transaction() as r:
        assert r.deployments.transition(i, State.ROLLED_BACK, at=T0, **fields)


@pytest.fixture
def seeded(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    ids["a"] = run(db, "production", "api", "v1", "v0", -40 * D, end=State.SUCCEEDED)  # before
    ids["b"] = run(db, "production", "api", "v2", "v1", -20 * D, end=State.SUCCEEDED)
    # failed its watch 6 min after it started; rolled back by hand (d), which ended at +30m
    ids["c"] = run(db, "production", "api", "v3", "v2", -10 * D, end=State.FAILED,
                   failed_after=6 * M)
    ids["d"] = run(db, "production", "api", "v2", "v3", -10 * D + 20 * M, end=State.SUCCEEDED,
                   took=9 * M, kind=Kind.ROLLBACK, rollback_of=ids["c"])
    rolled_back(db, ids["c"])
    # failed its watch at +8m, rolled back automatically by +12m
    ids["e"] = run(db, "production", "api", "v4", "v2", -5 * D, end=State.FAILED,
                   failed_after=7 * M)
    rolled_back(db, ids["e"], finished=-5 * D + 12 * M)
    ids["f"] = run(db, "production", "api", "v5", "v2", -1 * D, end=State.SUCCEEDED)
    # web: passed, then rolled back by hand two days later (h ends at -2d +10m)
    ids["g"] = run(db, "production", "web", "w2", "w1", -3 * D, end=State.SUCCEEDED)
    ids["h"] = run(db, "production", "web", "w1", "w2", -2 * D, end=State.SUCCEEDED,
                   took=9 * M, kind=Kind.ROLLBACK, rollback_of=ids["g"])
    rolled_back(db, ids["g"])
    # web: failed its watch at -12h +6m, still live
    ids["i"] = run(db, "production", "web", "w3", "w1", -D / 2, end=State.FAILED,
                   failed_after=5 * M)
    # staging: failed at -1d +7m, restored by the next deploy ending -1d +1h +6m
    ids["j"] = run(db, "staging", "api", "v9", "v8", -1 * D, end=State.FAILED,
                   failed_after=6 * M)
    ids["k"] = run(db, "staging", "api", "v10", "v9", -1 * D + 60 * M, end=State.SUCCEEDED)
    return ids


def test_stats_default_to_the_production_environments(
        service: HistoryService, seeded: dict[str, int]) -> None:
    report = service.stats(StatsArgs())

    assert report.environments == ("production",) and report.default_scope
    assert report.per_environment == ()
    st = report.overall
    assert (st.since, st.until) == (T0 - 30 * D, T0)
    assert st.changes == 6  # b c e f g i
    assert st.per_day == pytest.approx(0.2) and st.per_week == pytest.approx(1.4)
    assert st.failed == 4  # c e g i
    assert st.failure_rate == pytest.approx(4 / 6)
    assert st.rollbacks == 2  # d h
    assert [(r.deployment_id, r.took) for r in st.restores] == [
        (seeded["c"], 23 * M), (seeded["e"], 4 * M), (seeded["g"], 10 * M),
        (seeded["i"], None)]
    assert (st.median_restore, st.worst_restore) == (10 * M, 23 * M)


def test_stats_of_one_service(service: HistoryService, seeded: dict[str, int]) -> None:
    st = service.stats(StatsArgs(service="web")).overall
    assert (st.changes, st.failed, st.rollbacks) == (2, 2, 1)
    assert (st.median_restore, st.worst_restore) == (10 * M, 10 * M)
    assert [r.deployment_id for r in st.unrestored] == [seeded["i"]]


def test_stats_of_another_environment(service: HistoryService, seeded: dict[str, int]) -> None:
    report = service.stats(StatsArgs(environment="staging"))
    assert report.environments == ("staging",) and not report.default_scope
    st = report.overall
    assert (st.changes, st.failed, st.failure_rate) == (2, 1, 0.5)
    assert st.median_restore == 59 * M


def test_stats_over_several_environments_say_each(db: Database,
                                                  seeded: dict[str, int]) -> None:
    config = parse_config(base_config(services={"api": {}, "web": {}}, environments={
        "staging": {"production": True}, "production": {}}), source="test")
    report = HistoryService(config=config, store=db, clock=ManualClock(T0)).stats(StatsArgs())
    assert report.environments == ("staging", "production")
    assert report.overall.changes == 8 and report.overall.failed == 5
    assert [(e, s.changes, s.failed) for e, s in report.per_environment] == [
        ("staging", 2, 1), ("production", 6, 4)]


def test_nothing_deployed_yet(service: HistoryService) -> None:
    st = service.stats(StatsArgs()).overall
    assert (st.changes, st.failure_rate, st.median_restore, st.restores) == (0, None, None, ())


def test_history(service: HistoryService, seeded: dict[str, int]) -> None:
    h = service.history(HistoryArgs(environment="production", service="web"))
    assert [d.id for d in h.deployments] == [seeded["i"], seeded["h"], seeded["g"]]
    assert [d.kind for d in h.deployments] == [Kind.DEPLOY, Kind.ROLLBACK, Kind.DEPLOY]
    assert (h.at, h.limit, h.environment, h.service) == (T0, 20, "production", "web")
    assert len(service.history(HistoryArgs(), limit=3).deployments) == 3
