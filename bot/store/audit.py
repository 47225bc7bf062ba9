"""The audit log (table `audit_events`): the services' state changes and the Slack request
trail, read back newest first (`/audit`) or in id order, a batch at a time (export).

An event about a deployment carries that deployment's environment (for `/audit <env>`), and
no event's details carry a secret: every string in them is redacted on the way in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select
from sqlalchemy.orm import Session

from bot.domain.audit import (
    ACTION_MAX,
    ACTOR_MAX,
    CHANNEL_MAX,
    ENVIRONMENT_MAX,
    TS_MAX,
    AuditEntry,
    AuditEvent,
    clip,
    scrub,
)
from bot.store.models import AuditRow, DeploymentRow

# Core statements on the tables, built once (a fraction of the ORM's cost per statement).
_INSERT = insert(cast(Table, AuditRow.__table__))
_DEPLOYMENTS = cast(Table, DeploymentRow.__table__)
_ENVIRONMENT_OF = select(_DEPLOYMENTS.c.environment).where(
    _DEPLOYMENTS.c.id == bindparam("id"))
#: Ids per `IN (…)` list (well under SQLite's and PostgreSQL's limits on parameters).
_CHUNK = 500


def _event(row: AuditRow) -> AuditEvent:
    return AuditEvent(id=row.id, at=row.at, actor=row.actor, action=row.action,
                      environment=row.environment, deployment_id=row.deployment_id,
                      details=row.details or {}, slack_channel=row.slack_channel,
                      slack_ts=row.slack_ts)


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self._s = session
        self._environments: dict[int, str | None] = {}  # deployment id -> its environment

    def _environment_of(self, deployment_id: int) -> str | None:
        """The deployment's environment; None when there is no such deployment."""
        if deployment_id not in self._environments:
            self._environments[deployment_id] = self._s.scalar(_ENVIRONMENT_OF,
                                                               {"id": deployment_id})
        return self._environments[deployment_id]

    def record(
        self,
        action: str,
        *,
        actor: str,
        at: datetime,
        deployment_id: int | None = None,
        details: dict[str, Any] | None = None,
        slack_channel: str | None = None,
        slack_ts: str | None = None,
        environment: str | None = None,
    ) -> None:
        if environment is None and deployment_id is not None:
            environment = self._environment_of(deployment_id)
        # A Core INSERT, now: the ORM's unit of work costs several times more per row.
        self._s.execute(_INSERT, {"at": at, "actor": actor, "action": action,
                                  "deployment_id": deployment_id,
                                  "details": scrub(details or {}),
                                  "slack_channel": slack_channel, "slack_ts": slack_ts,
                                  "environment": environment})

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        rows: list[dict[str, Any]] = []
        for e in entries:
            details = dict(e.details)
            deployment_id = e.deployment_id
            environment = e.environment
            if deployment_id is not None and self._environment_of(deployment_id) is None:
                details["deployment_id"] = deployment_id  # not a deployment: no foreign key
                deployment_id = None
            named = deployment_id if deployment_id is not None else details.get("deployment_id")
            if environment is None and isinstance(named, int):
                environment = self._environment_of(named)
            rows.append({
                "at": e.at, "actor": clip(e.actor, ACTOR_MAX) or "",
                "action": e.action[:ACTION_MAX], "deployment_id": deployment_id,
                "details": scrub(details), "slack_channel": clip(e.slack_channel, CHANNEL_MAX),
                "slack_ts": clip(e.slack_ts, TS_MAX),
                "environment": clip(environment, ENVIRONMENT_MAX)})
        if rows:  # one Core executemany: a fraction of the ORM's cost per row
            self._s.execute(_INSERT, rows)

    def latest(self, *, environment: str | None, since: datetime | None,
               before_id: int | None, limit: int) -> Sequence[AuditEvent]:
        # Newest first by time (the indexes on `at` and `(environment, at)` give the order;
        # the id breaks ties), and below the event `before_id` in that order.
        q = select(AuditRow)
        if environment is not None:
            q = q.where(AuditRow.environment == environment)
        if since is not None:
            q = q.where(AuditRow.at >= since)
        if before_id is not None:
            at = select(AuditRow.at).where(AuditRow.id == before_id).scalar_subquery()
            q = q.where(or_(AuditRow.at < at, and_(AuditRow.at == at, AuditRow.id < before_id)))
        rows = self._s.scalars(q.order_by(AuditRow.at.desc(), AuditRow.id.desc())
                               .limit(limit)).all()
        return [_event(r) for r in rows]

    def start_id(self, since: datetime) -> int | None:
        """The smallest id of an event at or after `since` (None: there is none)."""
        found = self._s.scalar(select(func.min(AuditRow.id)).where(AuditRow.at >= since))
        return None if found is None else int(found)

    def batch_after(self, after_id: int, *, environment: str | None,
                    limit: int) -> Sequence[AuditEvent]:
        # Walk the primary key: the environment is a filter on the rows it reads, never an
        # index to sort by (SQLite would otherwise pick `(environment, at)` and sort every
        # event of the environment for each batch); hence `coalesce(…)`.
        q = select(AuditRow).where(AuditRow.id > after_id)
        if environment is not None:
            q = q.where(func.coalesce(AuditRow.environment, "") == environment)
        return [_event(r) for r in self._s.scalars(q.order_by(AuditRow.id).limit(limit))]

    def first_times(self, action: str, deployment_ids: Sequence[int]) -> dict[int, datetime]:
        out: dict[int, datetime] = {}
        ids = sorted(set(deployment_ids))
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            for deployment_id, at in self._s.execute(
                select(AuditRow.deployment_id, func.min(AuditRow.at))
                .where(AuditRow.deployment_id.in_(chunk), AuditRow.action == action)
                .group_by(AuditRow.deployment_id)
            ):
                if deployment_id is not None and at is not None:
                    out[int(deployment_id)] = at
        return out
