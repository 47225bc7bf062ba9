"""Which process leads the scheduler: a PostgreSQL session-level advisory lock.

Several worker processes share one database; APScheduler 3 does not coordinate schedulers
that share a job store, so only the process holding this lock runs the scheduled jobs
(bot.scheduling.leader). The lock is PostgreSQL's `pg_try_advisory_lock` on a connection of
its own, kept open while this process leads: a lock held by a session is released by the
server when the session ends, so a leader that dies (SIGKILL, a lost node) gives it up as
soon as the server notices its connection gone, and another process takes it at its next
try. `holds()` asks on that connection: an error (the connection or the server went away)
means this process leads no more. A SQLite database belongs to one process: it always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

#: the advisory lock's key: "dplysched" folded into PostgreSQL's bigint
LOCK_KEY = 0x64706C79_73636864


class DatabaseLeadership:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._shared = engine.dialect.name == "postgresql"
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it (True: this process leads)."""
        if not self._shared:
            return True
        if self._conn is not None:
            return self.holds()
        conn = None
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                    {"k": LOCK_KEY}).scalar_one())
        except SQLAlchemyError as e:
            log.warning("scheduler leadership: could not ask the database: %s", e)
            if conn is not None:
                conn.invalidate()
                conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def holds(self) -> bool:
        """Whether this process still leads (its lock's session is alive)."""
        if not self._shared:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar_one()
        except SQLAlchemyError as e:
            log.warning("scheduler leadership: lost the database session: %s", e)
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Give the lock up (stopping): another process leads from its next try."""
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._conn.close()
        except SQLAlchemyError:
            self._drop()  # the session's end releases it all the same
        self._conn = None

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
        self._conn = None
