"""The history and audit queries of the store (`/deploys`, `/deploys stats`, `/audit`, the
export), on SQLite and (with TEST_DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.audit import CLICK, AuditEntry
from bot.domain.deployment import Kind, NewDeployment
from bot.domain.states import State
from bot.store.db import Database

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


def add(db: Database, environment: str, service: str, version: str, *, at: datetime,
        state: State = State.QUEUED, kind: Kind = Kind.DEPLOY,
        rollback_of: int | None = None) -> int:
    with db.transaction() as r:
        return r.deployments.add(NewDeployment(
            service=service, environment=environment, version=version, previous_version="v0",
            state=state, requested_by="U0ALICE", requested_at=at, approvals_required=0,
            expires_at=None, kind=kind, rollback_of=rollback_of)).id


def finish(db: Database, i: int, target: State, *, at: datetime, error: str | None = None) -> None:
    with db.transaction() as r:
        path = {State.SUCCEEDED: [State.RUNNING, State.VERIFYING, State.SUCCEEDED],
                State.FAILED: [State.RUNNING, State.VERIFYING, State.FAILED],
                State.CANCELLED: [State.CANCELLED]}[target]
        *before, last = path
        for s in before:
            assert r.deployments.transition(i, s, at=at)
        assert r.deployments.transition(i, last, at=at, started_at=at,
                                        finished_at=at + 5 * M, error=error)


@pytest.fixture
def seeded(db: Database) -> dict[str, int]:
    """Six deployments over two environments and two services, oldest first."""
    ids: dict[str, int] = {}
    n = 0
    for env in ("staging", "production"):
        for svc in ("api", "web"):
            for v in ("v1", "v2") if (env, svc) != ("staging", "web") else ("v1",):
                n += 1
                i = add(db, env, svc, v, at=T0 + n * M)
                finish(db, i, State.SUCCEEDED, at=T0 + n * M)
                ids[f"{env}/{svc}/{v}"] = i
    return ids


def test_history_newest_first_with_a_limit(db: Database, seeded: dict[str, int]) -> None:
    with db.transaction() as r:
        everything = r.deployments.history(limit=20)
        two = r.deployments.history(limit=2)
    assert [d.id for d in everything] == sorted(seeded.values(), reverse=True)
    assert [d.id for d in two] == [d.id for d in everything[:2]]


@pytest.mark.parametrize(("environment", "service", "expected"), [
    ("production", None, ["production/web/v2", "production/web/v1", "production/api/v2",
                          "production/api/v1"]),
    (None, "web", ["production/web/v2", "production/web/v1", "staging/web/v1"]),
    ("staging", "api", ["staging/api/v2", "staging/api/v1"]),
    ("staging", "nothing", []),
])
def test_history_filters(db: Database, seeded: dict[str, int], environment: str | None,
                         service: str | None, expected: list[str]) -> None:
    with db.transaction() as r:
        found = r.deployments.history(limit=20, environment=environment, service=service)
    assert [d.id for d in found] == [seeded[k] for k in expected]
    assert all(d.state is State.SUCCEEDED and d.duration == 5 * M for d in found)


def test_history_carries_the_decisions(db: Database) -> None:
    i = add(db, "production", "api", "v1", at=T0, state=State.AWAITING_APPROVAL)
    with db.transaction() as r:
        r.deployments.add_decision(i, "U0BOB", approve=True, at=T0 + M)
        r.deployments.add_decision(i, "U0CAROL", approve=True, at=T0 + 2 * M)
        (d,) = r.deployments.history(limit=20, environment="production")
    assert [a.user_id for a in d.approvers] == ["U0BOB", "U0CAROL"]


def test_facts_for_the_measures(db: Database) -> None:
    old = add(db, "production", "api", "v0", at=T0 - 40 * 24 * 60 * M)
    finish(db, old, State.SUCCEEDED, at=T0 - 40 * 24 * 60 * M)
    ok = add(db, "production", "api", "v1", at=T0)
    finish(db, ok, State.SUCCEEDED, at=T0)
    bad = add(db, "production", "api", "v2", at=T0 + 10 * M)
    finish(db, bad, State.FAILED, at=T0 + 10 * M, error="failed verification: pods restart")
    broken = add(db, "production", "api", "v3", at=T0 + 20 * M)
    finish(db, broken, State.FAILED, at=T0 + 20 * M, error="image pull failed")
    back = add(db, "production", "api", "v1", at=T0 + 30 * M, kind=Kind.ROLLBACK,
               rollback_of=bad)
    finish(db, back, State.SUCCEEDED, at=T0 + 30 * M)
    migrate = add(db, "production", "api", "v1", at=T0 + 40 * M, kind=Kind.MIGRATE)
    finish(db, migrate, State.SUCCEEDED, at=T0 + 40 * M)
    staging = add(db, "staging", "api", "v1", at=T0)
    web = add(db, "production", "web", "v1", at=T0)

    with db.transaction() as r:
        facts = r.deployments.facts(environments=["production"], service=None,
                                    since=T0 - 30 * 24 * 60 * M)
        api_only = r.deployments.facts(environments=["production", "staging"], service="api",
                                       since=T0 - M)
    assert [f.id for f in facts] == [ok, bad, broken, back, web]  # no migration, no old one
    by_id = {f.id: f for f in facts}
    assert by_id[bad].failed_verification and not by_id[broken].failed_verification
    assert (by_id[bad].state, by_id[bad].started_at, by_id[bad].finished_at) == (
        State.FAILED, T0 + 10 * M, T0 + 15 * M)
    assert (by_id[back].kind, by_id[back].rollback_of) == (Kind.ROLLBACK, bad)
    assert [f.id for f in api_only] == [ok, bad, broken, back, staging]


# -- the audit log ----------------------------------------------------------------------------

def test_an_event_about_a_deployment_gets_its_environment(db: Database) -> None:
    i = add(db, "staging", "api", "v1", at=T0)
    with db.transaction() as r:
        r.audit.record("deploy.started", actor="deploybot", at=T0, deployment_id=i)
        r.audit.record("freeze.added", actor="U0CAROL", at=T0 + M)
        r.audit.record("lock.added", actor="U0CAROL", at=T0 + 2 * M, environment="production")
        events = r.audit.latest(environment=None, since=None, before_id=None, limit=10)
    assert [(e.action, e.environment, e.deployment_id) for e in events] == [
        ("lock.added", "production", None), ("freeze.added", None, None),
        ("deploy.started", "staging", i)]


def test_record_many_resolves_or_moves_deployment_ids(db: Database) -> None:
    i = add(db, "production", "api", "v1", at=T0)
    with db.transaction() as r:
        r.audit.record_many([
            AuditEntry(action=CLICK, actor="U0BOB", at=T0, details={"deployment_id": i}),
            AuditEntry(action=CLICK, actor="U0BOB", at=T0 + M, deployment_id=987654),
            AuditEntry(action="slack.command", actor="U" + "X" * 80, at=T0 + 2 * M,
                       details={"text": "staging v1"}, environment="staging",
                       slack_channel="C0DEPLOYS", slack_ts="1.2"),
        ])
    with db.transaction() as r:
        events = list(reversed(r.audit.latest(environment=None, since=None, before_id=None,
                                              limit=10)))
    assert [(e.environment, e.deployment_id, dict(e.details)) for e in events] == [
        ("production", None, {"deployment_id": i}),
        (None, None, {"deployment_id": 987654}),  # no such deployment: no foreign key
        ("staging", None, {"text": "staging v1"}),
    ]
    assert events[2].actor == "U" + "X" * 63  # cut to the column
    assert (events[2].slack_channel, events[2].slack_ts) == ("C0DEPLOYS", "1.2")


@pytest.fixture
def events(db: Database) -> list[int]:
    """20 events, one a minute, alternating staging / production / none."""
    envs = ["staging", "production", None]
    with db.transaction() as r:
        r.audit.record_many([AuditEntry(action="x.happened", actor="U0ALICE", at=T0 + n * M,
                                        details={"n": n}, environment=envs[n % 3])
                             for n in range(20)])
        return [e.id for e in reversed(r.audit.latest(environment=None, since=None,
                                                      before_id=None, limit=100))]


def test_latest_pages_by_environment_and_since(db: Database, events: list[int]) -> None:
    with db.transaction() as r:
        page1 = r.audit.latest(environment="production", since=None, before_id=None, limit=3)
        page2 = r.audit.latest(environment="production", since=None,
                               before_id=page1[-1].id, limit=3)
        recent = r.audit.latest(environment=None, since=T0 + 17 * M, before_id=None, limit=9)
    assert [e.details["n"] for e in page1] == [19, 16, 13]
    assert [e.details["n"] for e in page2] == [10, 7, 4]
    assert [e.details["n"] for e in recent] == [19, 18, 17]


def test_export_batches_walk_the_ids(db: Database, events: list[int]) -> None:
    seen: list[int] = []
    after = 0
    while True:
        with db.transaction() as r:
            batch = r.audit.batch_after(after, environment="staging", limit=3)
        seen += [e.details["n"] for e in batch]
        if len(batch) < 3:
            break
        after = batch[-1].id
    assert seen == [0, 3, 6, 9, 12, 15, 18]
    with db.transaction() as r:
        assert r.audit.start_id(T0 + 5 * M) == events[5]
        assert r.audit.start_id(T0 + 60 * M) is None


def test_first_times(db: Database) -> None:
    a = add(db, "production", "api", "v1", at=T0)
    b = add(db, "production", "web", "v1", at=T0)
    with db.transaction() as r:
        r.audit.record("deploy.failed", actor="deploybot", at=T0 + 2 * M, deployment_id=a)
        r.audit.record("deploy.failed", actor="deploybot", at=T0 + M, deployment_id=a)
        r.audit.record("deploy.started", actor="deploybot", at=T0, deployment_id=b)
        assert r.audit.first_times("deploy.failed", [a, b, 4242]) == {a: T0 + M}
        assert r.audit.first_times("deploy.failed", []) == {}
