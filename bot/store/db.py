"""Engines and units of work: the database URL in, `Store.transaction()` out."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import RetryableError
from bot.store.audit import SqlAuditLog
from bot.store.checklist import SqlChecklistRepository
from bot.store.faulty import SqlFaultyVersions
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
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event start transactions, so we can make them IMMEDIATE
            # (take the write lock up front: no SQLITE_BUSY when a reader later writes).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

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
    def __init__(self, session: Session) -> None:
        self.deployments = SqlDeploymentRepository(session)
        self.audit = SqlAuditLog(session)
        self.freezes = SqlFreezeRepository(session)
        self.announcements = SqlAnnouncementLog(session)
        self.locks = SqlLockRepository(session)
        self.faulty = SqlFaultyVersions(session)
        self.home_viewers = SqlHomeViewers(session)
        self.checklists = SqlChecklistRepository(session)
        self.simulated = SimulatedWorkloadRows(session)  # the simulated cluster's state


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
