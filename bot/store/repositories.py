"""Repositories: the store's answers to the ports, in domain values, with conditional updates.

Every state change is `UPDATE … WHERE id = :id AND state IN (:legal sources)`, so two
processes (or two clicks) can never both move a deployment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.deployment import Decision, Deployment, NewDeployment, RunningVersion
from bot.domain.states import State, sources_for
from bot.store.models import AuditRow, DecisionRow, DeploymentRow

_FIELDS = {
    "previous_version", "expires_at", "channel", "message_ts", "record_ts", "started_at",
    "finished_at", "error", "progress", "lease_owner", "lease_until",
}


def _to_domain(row: DeploymentRow, decisions: Sequence[DecisionRow]) -> Deployment:
    return Deployment(
        id=row.id,
        service=row.service,
        environment=row.environment,
        version=row.version,
        previous_version=row.previous_version,
        state=State(row.state),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        approvals_required=row.approvals_required,
        expires_at=row.expires_at,
        channel=row.channel,
        message_ts=row.message_ts,
        record_ts=row.record_ts,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        progress=row.progress,
        decisions=tuple(
            Decision(user_id=r.user_id, approve=r.approve, at=r.at)
            for r in sorted(decisions, key=lambda r: (r.at, r.id))
        ),
    )


class SqlDeploymentRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, new: NewDeployment) -> Deployment:
        row = DeploymentRow(
            service=new.service,
            environment=new.environment,
            version=new.version,
            previous_version=new.previous_version,
            state=new.state.value,
            requested_by=new.requested_by,
            requested_at=new.requested_at,
            approvals_required=new.approvals_required,
            expires_at=new.expires_at,
            updated_at=new.requested_at,
            row_version=0,
        )
        self._s.add(row)
        self._s.flush()
        return _to_domain(row, [])

    def get(self, deployment_id: int) -> Deployment | None:
        row = self._s.execute(
            select(DeploymentRow).where(DeploymentRow.id == deployment_id)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is None:
            return None
        decisions = self._s.scalars(
            select(DecisionRow).where(DecisionRow.deployment_id == deployment_id)
        ).all()
        return _to_domain(row, decisions)

    def lock(self, deployment_id: int, state: State) -> bool:
        res = self._s.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id, DeploymentRow.state == state.value)
            .values(row_version=DeploymentRow.row_version + 1)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def transition(
        self, deployment_id: int, target: State, *, at: datetime, **fields: Any
    ) -> bool:
        unknown = set(fields) - _FIELDS
        if unknown:
            raise TypeError(f"unknown deployment fields: {sorted(unknown)}")
        sources = [s.value for s in sources_for(target)]
        res = self._s.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id, DeploymentRow.state.in_(sources))
            .values(state=target.value, updated_at=at,
                    row_version=DeploymentRow.row_version + 1, **fields)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def set_fields(self, deployment_id: int, **fields: Any) -> None:
        unknown = set(fields) - _FIELDS
        if unknown:
            raise TypeError(f"unknown deployment fields: {sorted(unknown)}")
        self._s.execute(
            update(DeploymentRow).where(DeploymentRow.id == deployment_id).values(**fields)
        )

    def add_decision(self, deployment_id: int, user_id: str, *, approve: bool,
                     at: datetime) -> bool:
        values = {"deployment_id": deployment_id, "user_id": user_id, "approve": approve,
                  "at": at}
        dialect = self._s.get_bind().dialect.name
        if dialect == "postgresql":
            stmt: Any = pg_insert(DecisionRow).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite_insert(DecisionRow).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - other databases are not supported
            raise NotImplementedError(dialect)
        return self._s.execute(stmt.returning(DecisionRow.id)).first() is not None

    def count_approvals(self, deployment_id: int) -> int:
        return int(self._s.scalar(
            select(func.count()).select_from(DecisionRow).where(
                DecisionRow.deployment_id == deployment_id, DecisionRow.approve.is_(True))
        ) or 0)

    def due_for_expiry(self, at: datetime) -> Sequence[int]:
        return self._s.scalars(
            select(DeploymentRow.id).where(
                DeploymentRow.state == State.AWAITING_APPROVAL.value,
                DeploymentRow.expires_at <= at,
            ).order_by(DeploymentRow.id)
        ).all()

    def claim(self, deployment_id: int, *, owner: str, at: datetime, until: datetime) -> bool:
        res = self._s.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id, or_(
                DeploymentRow.state == State.QUEUED.value,
                and_(DeploymentRow.state.in_([State.RUNNING.value, State.VERIFYING.value]),
                     or_(DeploymentRow.lease_until.is_(None), DeploymentRow.lease_until < at)),
            ))
            .values(lease_owner=owner, lease_until=until, updated_at=at,
                    row_version=DeploymentRow.row_version + 1)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def renew(self, deployment_id: int, *, owner: str, until: datetime) -> bool:
        res = self._s.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id, DeploymentRow.lease_owner == owner)
            .values(lease_until=until)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def claimable(self, at: datetime) -> Sequence[int]:
        return self._s.scalars(
            select(DeploymentRow.id).where(or_(
                DeploymentRow.state == State.QUEUED.value,
                and_(DeploymentRow.state.in_([State.RUNNING.value, State.VERIFYING.value]),
                     or_(DeploymentRow.lease_until.is_(None), DeploymentRow.lease_until < at)),
            )).order_by(DeploymentRow.id)
        ).all()

    def recent(self, limit: int) -> Sequence[Deployment]:
        rows = self._s.scalars(
            select(DeploymentRow).order_by(DeploymentRow.id.desc()).limit(limit)
        ).all()
        ids = [r.id for r in rows]
        decisions: dict[int, list[DecisionRow]] = {i: [] for i in ids}
        if ids:
            for dr in self._s.scalars(
                select(DecisionRow).where(DecisionRow.deployment_id.in_(ids))
            ):
                decisions[dr.deployment_id].append(dr)
        return [_to_domain(r, decisions[r.id]) for r in rows]

    def running_versions(self) -> Sequence[RunningVersion]:
        latest = (
            select(DeploymentRow.environment, DeploymentRow.service,
                   func.max(DeploymentRow.id).label("id"))
            .where(DeploymentRow.state == State.SUCCEEDED.value)
            .group_by(DeploymentRow.environment, DeploymentRow.service)
            .subquery()
        )
        rows = self._s.execute(
            select(DeploymentRow.environment, DeploymentRow.service, DeploymentRow.version,
                   DeploymentRow.finished_at, DeploymentRow.requested_at)
            .join(latest, DeploymentRow.id == latest.c.id)
            .order_by(DeploymentRow.environment, DeploymentRow.service)
        ).all()
        return [RunningVersion(environment=r[0], service=r[1], version=r[2], since=r[3] or r[4])
                for r in rows]

    def last_succeeded_version(self, environment: str, service: str) -> str | None:
        return self._s.scalar(
            select(DeploymentRow.version).where(
                DeploymentRow.environment == environment,
                DeploymentRow.service == service,
                DeploymentRow.state == State.SUCCEEDED.value,
            ).order_by(DeploymentRow.id.desc()).limit(1)
        )


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self._s = session

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
    ) -> None:
        self._s.add(AuditRow(at=at, actor=actor, action=action, deployment_id=deployment_id,
                             details=details or {}, slack_channel=slack_channel,
                             slack_ts=slack_ts))
