"""The lock repository, and one deployment in flight per service and environment, on SQLite
and (with TEST_DATABASE_URL) on PostgreSQL: what the database itself guarantees, also when
several transactions race."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import text

from bot.domain.busy import DeploymentBusy
from bot.domain.deployment import Kind, NewDeployment
from bot.domain.locks import Lock
from bot.domain.states import State
from bot.store.db import Database

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


def acquire(db: Database, holder: str = "U0BOB", *, service: str = "api",
            environment: str = "production", at: datetime = T0,
            expires_at: datetime | None = None) -> Lock | None:
    with db.transaction() as r:
        return r.locks.acquire(environment=environment, service=service, holder=holder,
                               reason="investigating checkout errors", at=at,
                               expires_at=expires_at)


def at_once(n: int, fn: Callable[[int], T]) -> list[T]:
    """Run fn(0..n-1) in n threads released together."""
    gate = threading.Barrier(n)

    def one(i: int) -> T:
        gate.wait(timeout=10)
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


# -- locks ------------------------------------------------------------------------------------

def test_acquire_get_list_release(db: Database) -> None:
    lock = acquire(db, expires_at=T0 + timedelta(hours=2))
    assert lock is not None
    assert (lock.environment, lock.service, lock.holder, lock.origin) == (
        "production", "api", "U0BOB", "manual")
    assert (lock.reason, lock.created_at, lock.expires_at) == (
        "investigating checkout errors", T0, T0 + timedelta(hours=2))
    with db.transaction() as r:
        assert r.locks.get("production", "api", at=T0 + timedelta(minutes=5)) == lock
        assert r.locks.get("staging", "api", at=T0) is None
        assert r.locks.get("production", "web", at=T0) is None
        assert list(r.locks.active(T0)) == [lock]
        assert r.locks.release(lock.id, by="U0CAROL", at=T0 + timedelta(minutes=25))
        assert not r.locks.release(lock.id, by="U0DAVE", at=T0 + timedelta(minutes=26))
    with db.transaction() as r:
        assert r.locks.get("production", "api", at=T0 + timedelta(minutes=30)) is None
        assert list(r.locks.active(T0 + timedelta(minutes=30))) == []
        assert list(r.locks.expired(T0 + timedelta(hours=3))) == []  # released: not expired
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT released_by FROM locks")).one()
    assert row[0] == "U0CAROL"
    again = acquire(db, "U0CAROL", at=T0 + timedelta(hours=1))  # free again: a new row
    assert again is not None and again.id != lock.id and again.holder == "U0CAROL"


def test_a_second_acquire_returns_none_and_the_transaction_goes_on(db: Database) -> None:
    first = acquire(db)
    assert first is not None
    with db.transaction() as r:
        assert r.locks.acquire(environment="production", service="api", holder="U0ALICE",
                               reason="mine", at=T0 + timedelta(minutes=1)) is None
        assert r.locks.acquire(environment="production", service="api", holder="U0BOB",
                               reason="again", at=T0 + timedelta(minutes=1)) is None
        # the same transaction still works: another service, and the audit log
        other = r.locks.acquire(environment="production", service="web", holder="U0ALICE",
                                reason="mine", at=T0 + timedelta(minutes=1))
        r.audit.record("lock.locked", actor="U0ALICE", at=T0)
    assert other is not None
    with db.transaction() as r:
        assert [(lk.service, lk.holder) for lk in r.locks.active(T0 + timedelta(minutes=2))] \
            == [("api", "U0BOB"), ("web", "U0ALICE")]


def test_expiry(db: Database) -> None:
    lock = acquire(db, expires_at=T0 + timedelta(hours=2))
    assert lock is not None
    end = T0 + timedelta(hours=2)
    with db.transaction() as r:
        assert r.locks.get("production", "api", at=end - timedelta(seconds=1)) == lock
        assert r.locks.get("production", "api", at=end) is None  # expired: not in force
        assert list(r.locks.active(end)) == []
        assert list(r.locks.expired(end - timedelta(seconds=1))) == []
        assert list(r.locks.expired(end)) == [lock]


def test_next_expiry_is_the_first_unreleased_lock_to_expire(db: Database) -> None:
    with db.transaction() as r:
        assert r.locks.next_expiry() is None
    acquire(db, service="web")  # no expiry
    first = acquire(db, expires_at=T0 + timedelta(hours=1))
    acquire(db, environment="staging", expires_at=T0 + timedelta(hours=2))
    assert first is not None
    with db.transaction() as r:
        assert r.locks.next_expiry() == T0 + timedelta(hours=1)
        assert r.locks.release(first.id, by="U0BOB", at=T0)
    with db.transaction() as r:
        assert r.locks.next_expiry() == T0 + timedelta(hours=2)


def test_an_expired_unreleased_lock_gives_way_at_acquire(db: Database) -> None:
    old = acquire(db, expires_at=T0 + timedelta(minutes=30))
    assert old is not None
    new = acquire(db, "U0ALICE", at=T0 + timedelta(minutes=31))
    assert new is not None and new.holder == "U0ALICE"
    with db.transaction() as r:
        assert list(r.locks.expired(T0 + timedelta(hours=1))) == []
        assert not r.locks.release(old.id, by="deploybot", at=T0 + timedelta(hours=1))
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT holder, released_by FROM locks ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("U0BOB", "deploybot"), ("U0ALICE", None)]


def test_a_rollback_takes_a_lock_inside_its_own_transaction(db: Database) -> None:
    """The call the rollback takes, with its deployment, in one transaction."""
    with db.transaction() as r:
        d = r.deployments.add(NewDeployment(
            service="api", environment="production", version="v1.2.2",
            previous_version="v1.2.3", state=State.QUEUED, requested_by="U0CAROL",
            requested_at=T0, approvals_required=0, expires_at=None, kind=Kind.ROLLBACK))
        lock = r.locks.acquire(environment="production", service="api", holder="U0CAROL",
                               reason="rolled back from v1.2.3", at=T0, expires_at=None,
                               origin="rollback", deployment_id=d.id)
    assert lock is not None and (lock.origin, lock.deployment_id) == ("rollback", d.id)
    with db.transaction() as r:
        assert r.locks.get("production", "api", at=T0 + timedelta(days=30)) == lock


@pytest.mark.parametrize("n", [2, 8])
def test_simultaneous_acquires_one_wins(db: Database, n: int) -> None:
    results = at_once(n, lambda i: acquire(db, f"U0USER{i:02d}"))
    winners = [lk for lk in results if lk is not None]
    assert len(winners) == 1
    with db.transaction() as r:
        assert list(r.locks.active(T0)) == winners


def test_simultaneous_releases_one_wins(db: Database) -> None:
    lock = acquire(db, expires_at=T0 + timedelta(minutes=5))
    assert lock is not None

    def release(i: int) -> bool:
        with db.transaction() as r:
            return r.locks.release(lock.id, by="deploybot", at=T0 + timedelta(minutes=6))

    assert sorted(at_once(6, release)) == [False] * 5 + [True]


# -- one deployment in flight -------------------------------------------------------------------

def new(state: State, *, user: str = "U0ALICE", service: str = "api",
        environment: str = "production", kind: Kind = Kind.DEPLOY) -> NewDeployment:
    return NewDeployment(service=service, environment=environment, version="v1.2.3",
                         previous_version="v1.2.2", state=state, requested_by=user,
                         requested_at=T0, approvals_required=0, expires_at=None, kind=kind)


def test_one_deployment_in_flight_per_service_and_environment(db: Database) -> None:
    with db.transaction() as r:
        running = r.deployments.add(new(State.QUEUED))
        assert r.deployments.transition(running.id, State.RUNNING, at=T0)
        waiting = r.deployments.add(new(State.AWAITING_APPROVAL, user="U0BOB"))
        r.deployments.add(new(State.QUEUED, service="web"))  # another service: fine
        r.deployments.add(new(State.QUEUED, environment="staging"))  # another environment
    with db.transaction() as r:
        active = r.deployments.active_for("production", "api")
        assert active is not None and active.id == running.id
        assert r.deployments.active_for("development", "api") is None
        with pytest.raises(DeploymentBusy) as added:
            r.deployments.add(new(State.QUEUED, user="U0BOB", kind=Kind.ROLLBACK))
        with pytest.raises(DeploymentBusy) as moved:
            r.deployments.transition(waiting.id, State.QUEUED, at=T0)
        assert added.value.active == active == moved.value.active
        assert str(added.value) == (
            f"Deployment #{running.id} of api to production is running now (requested by "
            "<@U0ALICE>); only one runs at a time per service and environment. Wait for it "
            "to finish, or follow it in the deployments channel.")
        r.audit.record("still.usable", actor="U0BOB", at=T0)
    with db.transaction() as r:  # none of the refused writes happened
        again = r.deployments.get(waiting.id)
        assert again is not None and again.state is State.AWAITING_APPROVAL
        # once it is over, the next one may go
        assert r.deployments.transition(running.id, State.FAILED, at=T0)
        assert r.deployments.transition(waiting.id, State.QUEUED, at=T0)
        assert r.deployments.active_for("production", "api") == r.deployments.get(waiting.id)


@pytest.mark.parametrize("n", [2, 8])
def test_simultaneous_requests_put_one_in_flight(db: Database, n: int) -> None:
    def add(i: int) -> int | None:
        try:
            with db.transaction() as r:
                return r.deployments.add(new(State.QUEUED, user=f"U0USER{i:02d}")).id
        except DeploymentBusy as e:
            assert e.active is not None
            return None

    results = at_once(n, add)
    started = [i for i in results if i is not None]
    assert len(started) == 1
    with db.transaction() as r:
        active = r.deployments.active_for("production", "api")
    assert active is not None and active.id == started[0]


def test_simultaneous_approvals_of_two_requests_queue_one(db: Database) -> None:
    with db.transaction() as r:
        ids = [r.deployments.add(new(State.AWAITING_APPROVAL, user=u)).id
               for u in ("U0ALICE", "U0BOB")]

    def approve(i: int) -> bool:
        try:
            with db.transaction() as r:
                return r.deployments.transition(ids[i], State.QUEUED, at=T0)
        except DeploymentBusy:
            return False

    assert sorted(at_once(2, approve)) == [False, True]
