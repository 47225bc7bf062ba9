"""The faulty-version marks (table `faulty_versions`): set by a rollback, read by `/deploy`.

At most one mark in force per environment, service and version (a partial unique index);
marking twice keeps the first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.faulty import FaultyMark
from bot.store.models import FaultyVersionRow

_MARKS = cast(Table, FaultyVersionRow.__table__)
#: The mark in force on one version (built once: read by every /deploy; a Core statement on
#: the table, rows not ORM objects: a fraction of the ORM's cost).
_MARK = select(_MARKS).where(
    _MARKS.c.environment == bindparam("environment"),
    _MARKS.c.service == bindparam("service"),
    _MARKS.c.version == bindparam("version"),
    _MARKS.c.cleared_at.is_(None)).limit(1)


def _mark(row: Any) -> FaultyMark:
    """A mark from its row (an ORM object or a Core row)."""
    return FaultyMark(environment=row.environment, service=row.service, version=row.version,
                      reason=row.reason, marked_by=row.marked_by, marked_at=row.marked_at,
                      deployment_id=row.deployment_id)


class SqlFaultyVersions:
    def __init__(self, session: Session) -> None:
        self._s = session

    def mark(self, *, environment: str, service: str, version: str, reason: str, by: str,
             at: datetime, deployment_id: int | None = None) -> FaultyMark:
        """Mark `version` faulty there; the mark in force already, if there is one."""
        existing = self.get(environment, service, version)
        if existing is not None:
            return existing
        row = FaultyVersionRow(environment=environment, service=service, version=version,
                               reason=reason[:2000], marked_by=by, marked_at=at,
                               deployment_id=deployment_id)
        try:
            with self._s.begin_nested():
                self._s.add(row)
        except IntegrityError:  # marked by another process meanwhile
            again = self.get(environment, service, version)
            assert again is not None
            return again
        return _mark(row)

    def get(self, environment: str, service: str, version: str) -> FaultyMark | None:
        row = self._s.execute(_MARK, {"environment": environment, "service": service,
                                      "version": version}).first()
        return None if row is None else _mark(row)

    def marked(self, environment: str, service: str) -> set[str]:
        """Every version marked faulty there (to leave out of rollback candidates)."""
        return set(self._s.scalars(
            select(FaultyVersionRow.version).where(
                FaultyVersionRow.environment == environment,
                FaultyVersionRow.service == service, FaultyVersionRow.cleared_at.is_(None))
        ))
