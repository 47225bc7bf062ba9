"""Repositories: the store's answers to the ports, in domain values, with conditional updates.

The deployments' repository is made of its parts, one module each: deployments_write (a
request, its state changes and named writes, approvals, the window's reminder, the runner's
lease), deployments_read (one deployment, those in flight or waiting, what is due),
deployments_history (what ran where), on the rows and statements of deployment_rows. The
freezes and the announcement log are here; the other repositories are modules of their own
(locks, faulty, audit, checklist, home, simulated).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from bot.domain.freezes import Freeze, RuntimeFreeze
from bot.store.deployments_history import SqlDeploymentHistory
from bot.store.deployments_read import SqlDeploymentReads
from bot.store.deployments_write import SqlDeploymentWrites
from bot.store.dialects import insert_or_ignore
from bot.store.models import AnnouncementRow, FreezeRow


class SqlDeploymentRepository(SqlDeploymentWrites, SqlDeploymentReads, SqlDeploymentHistory):
    """bot.ports DeploymentRepository: every role, on one session."""


def _runtime_freeze(row: Any) -> RuntimeFreeze:
    """A runtime freeze from its row (an ORM object or a Core row)."""
    return RuntimeFreeze(
        number=row.id,
        freeze=Freeze(
            name=row.name, start=row.start, end=row.end, reason=row.reason,
            environments=frozenset(row.environments) if row.environments else None,
            services=frozenset(row.services) if row.services else None,
            source="runtime", id=f"runtime:{row.id}",
        ),
        created_by=row.created_by,
        created_at=row.created_at,
    )


_FREEZES = cast(Table, FreezeRow.__table__)
#: Built once, a Core statement on the table (rows, not ORM objects): every /deploy reads it.
_CURRENT_FREEZES = (select(_FREEZES)
                    .where(_FREEZES.c.removed_at.is_(None), _FREEZES.c.end > bindparam("at"))
                    .order_by(_FREEZES.c.start, _FREEZES.c.id))


class SqlFreezeRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, *, name: str, start: datetime, end: datetime, reason: str,
            environments: Sequence[str] | None, created_by: str, at: datetime) -> RuntimeFreeze:
        row = FreezeRow(name=name, start=start, end=end, reason=reason,
                        environments=list(environments) if environments else None,
                        services=None, created_by=created_by, created_at=at)
        self._s.add(row)
        self._s.flush()
        return _runtime_freeze(row)

    def current(self, at: datetime) -> Sequence[RuntimeFreeze]:
        """Freezes not removed and not yet over at `at`, by start."""
        rows = self._s.execute(_CURRENT_FREEZES, {"at": at}).all()
        return [_runtime_freeze(r) for r in rows]

    def get(self, number: int) -> RuntimeFreeze | None:
        row = self._s.get(FreezeRow, number)
        return None if row is None or row.removed_at is not None else _runtime_freeze(row)

    def remove(self, number: int, *, by: str, at: datetime) -> bool:
        res = self._s.execute(
            update(FreezeRow).where(FreezeRow.id == number, FreezeRow.removed_at.is_(None))
            .values(removed_by=by, removed_at=at)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]


class SqlAnnouncementLog:
    def __init__(self, session: Session) -> None:
        self._s = session

    def claim(self, key: str, *, due_at: datetime, at: datetime) -> bool:
        """Insert the announcement's key; True only for the one caller that inserted it."""
        values = {"key": key, "due_at": due_at, "claimed_at": at}
        stmt = insert_or_ignore(self._s, AnnouncementRow, values)
        return self._s.execute(stmt.returning(AnnouncementRow.key)).first() is not None

    def posted(self, key: str, *, channel: str, ts: str) -> None:
        self._s.execute(update(AnnouncementRow).where(AnnouncementRow.key == key)
                        .values(channel=channel, ts=ts))

    def release(self, key: str) -> None:
        """Forget a claim whose post failed, so a later run may try again."""
        self._s.execute(delete(AnnouncementRow).where(AnnouncementRow.key == key))

    def claimed(self, key: str) -> bool:
        return self._s.get(AnnouncementRow, key) is not None

    def forget(self, prefix: str, *, claimed_before: datetime) -> int:
        """Delete the claims whose key starts with `prefix` made before a time (claims that
        only stop repeats, kept while a repeat may still come); how many."""
        res = self._s.execute(delete(AnnouncementRow).where(
            AnnouncementRow.key.startswith(prefix, autoescape=True),
            AnnouncementRow.claimed_at < claimed_before))
        return int(res.rowcount)  # type: ignore[attr-defined]

    def keys(self, prefix: str) -> list[str]:
        """The claimed keys that start with `prefix`, sorted (e.g. the pull requests polling
        saw open)."""
        return list(self._s.scalars(
            select(AnnouncementRow.key).where(
                AnnouncementRow.key.startswith(prefix, autoescape=True))
            .order_by(AnnouncementRow.key)))

    def drop(self, key: str) -> bool:
        """Delete one claim; True only for the one caller that deleted it (another process
        deleting it at the same time waits for this transaction and deletes nothing)."""
        res = self._s.execute(delete(AnnouncementRow).where(AnnouncementRow.key == key))
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]
