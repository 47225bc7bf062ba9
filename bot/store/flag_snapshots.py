"""The feature flags of each deployment as read when its rollout started (table
`deployment_flags`, one row a deployment, the bot.domain.flag_status.FlagReading as JSON):
what the record's "Feature flags set" shows. The first reading kept stays: a later change
of the flags, or a resumed deployment, never rewrites it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain import flag_status
from bot.domain.flag_status import FlagReading
from bot.store.dialects import insert_or_ignore
from bot.store.models import FlagSnapshotRow


class SqlFlagSnapshots:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, deployment_id: int) -> FlagReading | None:
        row = self._s.get(FlagSnapshotRow, deployment_id)
        return None if row is None else flag_status.from_json(row.reading)

    def keep(self, deployment_id: int, reading: FlagReading) -> bool:
        values = {"deployment_id": deployment_id, "reading": flag_status.to_json(reading),
                  "read_at": reading.at}
        stmt = insert_or_ignore(self._s, FlagSnapshotRow, values)
        return self._s.execute(stmt.returning(FlagSnapshotRow.deployment_id)).first() is not None
