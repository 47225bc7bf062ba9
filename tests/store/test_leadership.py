"""bot/store/leadership.py: one process holds the scheduler's advisory lock; a leader whose
database session ends (the process died) loses it, and another takes it. On PostgreSQL (the
suite's TEST_DATABASE_URL server); SQLite always leads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.store.db import make_engine
from bot.store.leadership import LOCK_KEY, DatabaseLeadership


@pytest.fixture
def engines(server_database_url: str | None) -> Iterator[tuple[Engine, Engine, Engine]]:
    if server_database_url is None:
        pytest.skip("PostgreSQL only: set TEST_DATABASE_URL (./scripts/test does)")
    made = [make_engine(server_database_url) for _ in range(3)]
    try:
        yield made[0], made[1], made[2]
    finally:
        for e in made:
            e.dispose()


def _holder_pid(admin: Engine) -> int | None:
    with admin.connect() as conn:
        return conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
            "((classid::bigint << 32) | objid::bigint) = :k AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"k": LOCK_KEY}).scalar()  # pg_locks is the whole server's: other databases'
            # processes (other pytest-xdist workers, other runs) hold this key too


def test_one_process_leads_until_its_session_ends(
        engines: tuple[Engine, Engine, Engine]) -> None:
    a_engine, b_engine, admin = engines
    a, b = DatabaseLeadership(a_engine), DatabaseLeadership(b_engine)
    try:
        assert a.acquire()
        assert not b.acquire()  # a leads
        assert a.holds() and a.acquire()  # asked again: still a
        assert _holder_pid(admin) is not None

        # a's process dies: the server ends its session, and with it the lock
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": _holder_pid(admin)})
            conn.commit()
        assert not a.holds()
        assert b.acquire()
        assert not a.acquire()  # b leads now
    finally:
        a.release()
        b.release()
    assert _holder_pid(admin) is None


def test_a_leader_that_stops_gives_the_lead_at_once(
        engines: tuple[Engine, Engine, Engine]) -> None:
    a_engine, b_engine, _ = engines
    a, b = DatabaseLeadership(a_engine), DatabaseLeadership(b_engine)
    try:
        assert a.acquire() and not b.acquire()
        a.release()
        assert not a.holds()
        assert b.acquire()
    finally:
        a.release()
        b.release()


def test_sqlite_has_one_process_which_leads(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/one.db")
    try:
        first, second = DatabaseLeadership(engine), DatabaseLeadership(engine)
        assert first.acquire() and first.holds() and second.acquire()
        first.release()
    finally:
        engine.dispose()
