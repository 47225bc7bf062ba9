"""Slack requests acknowledged and not answered yet (`acknowledged_requests`, schema 0019):
written in batches just after the acks, deleted one by one as the answers go out, and the
ones left behind by a dead process claimed by a conditional DELETE (one claimant each)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from bot.domain.acknowledged import Acknowledged
from bot.store.models import AcknowledgedRequestRow

_TABLE = cast(Table, AcknowledgedRequestRow.__table__)


def _acknowledged(row: Any) -> Acknowledged:
    return Acknowledged(id=row.id, what=row.what, user_id=row.user_id,
                        response_url=row.response_url, instance=row.instance,
                        created_at=row.created_at)


class SqlAcknowledgedRequests:
    def __init__(self, session: Session) -> None:
        self._s = session

    def record_many(self, requests: Sequence[Acknowledged]) -> None:
        """Insert these rows (one statement: a burst of acks is one batch)."""
        if not requests:
            return
        self._s.execute(insert(_TABLE), [
            {"id": a.id, "what": a.what, "user_id": a.user_id,
             "response_url": a.response_url, "instance": a.instance,
             "created_at": a.created_at} for a in requests])

    def forget(self, request_id: str) -> bool:
        """Delete one row: its answer was sent. True when it was there."""
        res = self._s.execute(delete(_TABLE).where(_TABLE.c.id == request_id))
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    claim = forget  # the sweep's claim is the same conditional DELETE: one caller gets True

    def left_behind(self, *, before: datetime, other_than: str,
                    limit: int) -> Sequence[Acknowledged]:
        """Rows acked before `before` by a process other than `other_than`, oldest first."""
        rows = self._s.execute(
            select(_TABLE).where(_TABLE.c.created_at < before,
                                 _TABLE.c.instance != other_than)
            .order_by(_TABLE.c.created_at, _TABLE.c.id).limit(limit)).all()
        return [_acknowledged(r) for r in rows]

    def oldest(self, *, other_than: str) -> datetime | None:
        """When the oldest row of a process other than `other_than` was acked."""
        value = self._s.execute(select(func.min(_TABLE.c.created_at))
                                .where(_TABLE.c.instance != other_than)).scalar()
        return cast(datetime | None, value)
