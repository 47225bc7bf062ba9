"""Engines and units of work: the database URL in, `Store.transaction()` out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import RetryableError
from bot.store.acknowledged import SqlAcknowledgedRequests
from bot.store.audit import SqlAuditLog
from bot.store.checklist import SqlChecklistRepository
from bot.store.faulty import SqlFaultyVersions
from bot.store.flag_snapshots import SqlFlagSnapshots
from bot.store.home import SqlHomeViewers
from bot.store.locks import SqlLockRepository
from bot.store.repositories import (
    SqlAnnouncementLog,
    SqlDeploymentRepository,
    SqlFreezeRepository,
)
from bot.store.simulated import SimulatedWorkloadRows

log = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str, **kw: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if "poolclass" not in kw:
            # The connection used last is handed out again (not the one idle longest): with
            # SQLite each connection has its own page cache, which another connection's
            # commit invalidates, so one thread's transactions keep theirs warm.
            kw.setdefault("pool_use_lifo", True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy begin transactions (`_begin_immediate`), so we can make them
            # IMMEDIATE (take the write lock up front: no SQLITE_BUSY when a reader later
            # writes).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        def _begin_immediate(dbapi_conn: Any) -> None:
            # The dialect's BEGIN, on the driver's connection: SQLAlchemy wraps its errors
            # (a database locked past busy_timeout is an OperationalError) as for any
            # statement. Not a "begin" event emitting it through the Connection: that costs
            # a full statement execution per transaction, and any connection event makes
            # SQLAlchemy dispatch events around every statement.
            dbapi_conn.execute("BEGIN IMMEDIATE")

        engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign,assignment]
        return engine
    if "poolclass" not in kw:
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 20)
    # pool_pre_ping: a connection the server dropped (a restart, a failover) is replaced at
    # checkout, so the bot recovers by itself once the database is back; connect_timeout:
    # an unreachable server fails a request in seconds, not minutes.
    kw.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
    return create_engine(url, pool_pre_ping=True, **kw)


class Repos:
    """The repositories of one transaction, each made when first used (most transactions
    use one or two of them)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def deployments(self) -> SqlDeploymentRepository:
        return SqlDeploymentRepository(self._session)

    @cached_property
    def audit(self) -> SqlAuditLog:
        return SqlAuditLog(self._session)

    @cached_property
    def freezes(self) -> SqlFreezeRepository:
        return SqlFreezeRepository(self._session)

    @cached_property
    def announcements(self) -> SqlAnnouncementLog:
        return SqlAnnouncementLog(self._session)

    @cached_property
    def locks(self) -> SqlLockRepository:
        return SqlLockRepository(self._session)

    @cached_property
    def faulty(self) -> SqlFaultyVersions:
        return SqlFaultyVersions(self._session)

    @cached_property
    def home_viewers(self) -> SqlHomeViewers:
        return SqlHomeViewers(self._session)

    @cached_property
    def checklists(self) -> SqlChecklistRepository:
        return SqlChecklistRepository(self._session)

    @cached_property
    def flag_snapshots(self) -> SqlFlagSnapshots:
        return SqlFlagSnapshots(self._session)

    @cached_property
    def acknowledged(self) -> SqlAcknowledgedRequests:
        return SqlAcknowledgedRequests(self._session)

    @cached_property
    def simulated(self) -> SimulatedWorkloadRows:
        """The simulated cluster's state."""
        return SimulatedWorkloadRows(self._session)


class Database:
    """Implements the `Store` port over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def transaction(self) -> Iterator[Repos]:
        try:
            with self._sessions.begin() as session:
                yield Repos(session)
        except (DBAPIError, PoolTimeout) as e:
            # Unreachable, restarting, or the connection broke mid-transaction (nothing of
            # it was committed): the user is told to try again; the driver's words go to
            # the log. Other database errors are bugs and stay what they are.
            if isinstance(e, DBAPIError) and not (isinstance(e, OperationalError)
                                                  or e.connection_invalidated):
                raise
            cause = str(getattr(e, "orig", None) or e).strip().splitlines()
            log.warning("the database is unavailable: %s", cause[0] if cause else repr(e))
            raise RetryableError("the database is unavailable for a moment.") from e

    def dispose(self) -> None:
        self.engine.dispose()
