"""Who looks at deploybot's App Home tab: one row per user, the last time they opened it.

The refresher republishes the tab for the users who opened it recently, so this is written
on every `app_home_opened` (an upsert) and read once per refresh (by `opened_at`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.store.models import HomeViewerRow


class SqlHomeViewers:
    def __init__(self, session: Session) -> None:
        self._s = session

    def opened(self, user_id: str, *, at: datetime) -> None:
        """Record (or move forward) the last time `user_id` opened the tab."""
        dialect = self._s.get_bind().dialect.name
        if dialect == "postgresql":
            pg = pg_insert(HomeViewerRow).values(user_id=user_id, opened_at=at)
            self._s.execute(pg.on_conflict_do_update(
                index_elements=[HomeViewerRow.user_id],
                set_={"opened_at": pg.excluded.opened_at},
                where=HomeViewerRow.opened_at < pg.excluded.opened_at))
        elif dialect == "sqlite":
            lite = sqlite_insert(HomeViewerRow).values(user_id=user_id, opened_at=at)
            self._s.execute(lite.on_conflict_do_update(
                index_elements=[HomeViewerRow.user_id],
                set_={"opened_at": lite.excluded.opened_at},
                where=HomeViewerRow.opened_at < lite.excluded.opened_at))
        else:  # pragma: no cover
            raise NotImplementedError(f"unsupported database {dialect}")

    def since(self, at: datetime, *, limit: int) -> Sequence[str]:
        """Users who opened the tab at or after `at`, most recent first."""
        return self._s.scalars(
            select(HomeViewerRow.user_id).where(HomeViewerRow.opened_at >= at)
            .order_by(HomeViewerRow.opened_at.desc(), HomeViewerRow.user_id).limit(limit)
        ).all()
