"""Deploy locks (table `locks`): taken with `/lock` or by a rollback, released by `/unlock`
or, when they expire, by the scheduler.

At most one unreleased lock per environment and service (the partial unique index
`uq_locks_active`): `acquire` inserts inside a SAVEPOINT, so losing the race to another
process returns None and leaves the caller's transaction usable. Releasing is a conditional
UPDATE (`released_at IS NULL`), so of several processes releasing one lock — the scheduler's
expiry job runs in every replica — exactly one gets True (and announces it). A released lock
keeps its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.locks import EXPIRY, MANUAL, Lock
from bot.store.models import LockRow

_LOCKS = cast(Table, LockRow.__table__)
#: The lock in force on one service in one environment (built once: read by every /deploy; a
#: Core statement on the table, rows not ORM objects: a fraction of the ORM's cost).
_IN_FORCE = select(_LOCKS).where(
    _LOCKS.c.environment == bindparam("environment"),
    _LOCKS.c.service == bindparam("service"), _LOCKS.c.released_at.is_(None),
    or_(_LOCKS.c.expires_at.is_(None), _LOCKS.c.expires_at > bindparam("at")),
).limit(1)


def _lock(row: Any) -> Lock:
    """A lock from its row (an ORM object or a Core row)."""
    return Lock(id=row.id, environment=row.environment, service=row.service,
                holder=row.holder, reason=row.reason, origin=row.origin,
                created_at=row.created_at, expires_at=row.expires_at,
                deployment_id=row.deployment_id)


class SqlLockRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def acquire(self, *, environment: str, service: str, holder: str, reason: str,
                at: datetime, expires_at: datetime | None = None, origin: str = MANUAL,
                deployment_id: int | None = None) -> Lock | None:
        """Lock `service` in `environment` for `holder`; None when a lock is held there
        already (by anyone: `get` says whose). An expired lock nobody released yet gives
        way (released as expired, without an announcement: use `expired` and `release`
        first to announce it)."""
        self._s.execute(
            update(LockRow).where(
                LockRow.environment == environment, LockRow.service == service,
                LockRow.released_at.is_(None), LockRow.expires_at.is_not(None),
                LockRow.expires_at <= at,
            ).values(released_at=at, released_by=EXPIRY)
        )
        values = {"environment": environment, "service": service, "holder": holder,
                  "reason": reason, "origin": origin, "deployment_id": deployment_id,
                  "created_at": at, "expires_at": expires_at}
        try:
            with self._s.begin_nested():
                lock_id = self._s.execute(
                    insert(LockRow).values(**values).returning(LockRow.id)).scalar_one()
        except IntegrityError:  # held already (perhaps taken a moment ago elsewhere)
            return None
        return Lock(id=lock_id, environment=environment, service=service, holder=holder,
                    reason=reason, origin=origin, created_at=at, expires_at=expires_at,
                    deployment_id=deployment_id)

    def get(self, environment: str, service: str, *, at: datetime) -> Lock | None:
        """The lock in force on `service` in `environment` at `at` (not released, not
        expired), if any."""
        row = self._s.execute(_IN_FORCE, {"environment": environment, "service": service,
                                          "at": at}).first()
        return None if row is None else _lock(row)

    def active(self, at: datetime) -> Sequence[Lock]:
        """Every lock in force at `at`, by environment and service."""
        rows = self._s.scalars(
            select(LockRow).where(
                LockRow.released_at.is_(None),
                or_(LockRow.expires_at.is_(None), LockRow.expires_at > at),
            ).order_by(LockRow.environment, LockRow.service)
        ).all()
        return [_lock(r) for r in rows]

    def expired(self, at: datetime) -> Sequence[Lock]:
        """Locks whose time is up at `at` but that nobody released yet, oldest expiry first."""
        rows = self._s.scalars(
            select(LockRow).where(
                LockRow.released_at.is_(None), LockRow.expires_at.is_not(None),
                LockRow.expires_at <= at,
            ).order_by(LockRow.expires_at, LockRow.id)
        ).all()
        return [_lock(r) for r in rows]

    def next_expiry(self) -> datetime | None:
        return self._s.scalar(
            select(func.min(LockRow.expires_at)).where(LockRow.released_at.is_(None)))

    def release(self, lock_id: int, *, by: str, at: datetime) -> bool:
        """Release the lock if nobody did yet; True only for the one caller that did."""
        res = self._s.execute(
            update(LockRow).where(LockRow.id == lock_id, LockRow.released_at.is_(None))
            .values(released_at=at, released_by=by)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]
