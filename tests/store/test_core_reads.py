"""The deployments' Core statements (bot/store/deployments_read.py and deployments_write.py,
the lean request path of issue 13): a deployment and its decisions read in one statement
come back whole and once, reads after a Core UPDATE in the same transaction see it (no ORM
identity map to go stale), the added row reads back as it was written, and a SQLite
transaction takes the write lock when it begins. On SQLite and (with TEST_DATABASE_URL) on
PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import make_url

from bot.domain.deployment import Decision, NewDeployment
from bot.domain.states import State
from bot.store.db import Database

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


def waiting(version: str, *, instance: str | None = None) -> NewDeployment:
    return NewDeployment(service="api", environment="production", version=version,
                         previous_version="v1.0.0", state=State.AWAITING_APPROVAL,
                         requested_by="U0ALICE", requested_at=T0, approvals_required=3,
                         expires_at=T0 + timedelta(hours=2), instance=instance)


def test_a_deployment_comes_back_once_with_all_its_decisions_in_order(db: Database) -> None:
    with db.transaction() as r:
        one = r.deployments.add(waiting("v1.2.3")).id
        two = r.deployments.add(waiting("v1.2.4")).id
        three = r.deployments.add(waiting("v1.2.5", instance="pr-7")).id
        # decided out of id order: by time first, then id
        r.deployments.add_decision(one, "U0CAROL", approve=True, at=T0 + timedelta(minutes=2))
        r.deployments.add_decision(one, "U0BOB", approve=True, at=T0 + timedelta(minutes=1))
        r.deployments.add_decision(one, "U0DAVE", approve=False, at=T0 + timedelta(minutes=1))
        r.deployments.add_decision(three, "U0BOB", approve=True, at=T0)
    with db.transaction() as r:
        got = r.deployments.get(one)
        found = r.deployments.waiting_for("production", "api")
        on_pr = r.deployments.waiting_for("production", "api", "pr-7")
        missing = r.deployments.get(999_999)
    assert got is not None and got.decisions == (
        Decision("U0BOB", True, T0 + timedelta(minutes=1)),
        Decision("U0DAVE", False, T0 + timedelta(minutes=1)),
        Decision("U0CAROL", True, T0 + timedelta(minutes=2)))
    assert [d.id for d in found] == [one, two]  # each once, oldest first; not the preview
    assert found[0] == got and found[1].decisions == ()
    assert [(d.id, len(d.decisions)) for d in on_pr] == [(three, 1)]
    assert missing is None


def test_what_is_added_reads_back_as_it_was_written(db: Database) -> None:
    with db.transaction() as r:
        added = r.deployments.add(waiting("v1.2.3"))
    with db.transaction() as r:
        assert r.deployments.get(added.id) == added


def test_reads_after_an_update_in_the_same_transaction_see_it(db: Database) -> None:
    with db.transaction() as r:
        old = r.deployments.add(waiting("v1.2.3")).id
        assert [d.state for d in r.deployments.waiting_for("production", "api")] == [
            State.AWAITING_APPROVAL]
        assert r.deployments.transition(old, State.CANCELLED, at=T0, finished_at=T0,
                                        error="superseded", superseded_by=old + 1)
        r.deployments.record_messages(old, channel="C0DEPLOYS", message_ts="1.1", record_ts=None)
        again = r.deployments.get(old)
        assert again is not None
        assert (again.state, again.superseded_by, again.channel, again.message_ts) == (
            State.CANCELLED, old + 1, "C0DEPLOYS", "1.1")
        assert r.deployments.waiting_for("production", "api") == []
        assert [d.state for d in r.deployments.recent(5)] == [State.CANCELLED]
        assert [d.state for d in r.deployments.history(limit=5)] == [State.CANCELLED]


def test_a_sqlite_transaction_holds_the_write_lock_from_its_start(
        db: Database, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    path = make_url(database_url).database
    assert path is not None
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with db.transaction() as r:
            r.deployments.get(1)  # a read only: the lock was taken when it began
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released with the commit
        other.execute("ROLLBACK")
    finally:
        other.close()
