"""Repositories: the store's answers to the ports, in domain values, with conditional updates.

Every state change is `UPDATE … WHERE id = :id AND state IN (:legal sources)`, so two
processes (or two clicks) can never both move a deployment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.deployment import (
    Decision,
    Deployment,
    JobOutcome,
    Kind,
    NewDeployment,
    RunningVersion,
    Verification,
)
from bot.domain.freezes import Freeze, RuntimeFreeze
from bot.domain.states import State, sources_for
from bot.store.models import AnnouncementRow, AuditRow, DecisionRow, DeploymentRow, FreezeRow

_FIELDS = {
    "previous_version", "expires_at", "channel", "message_ts", "record_ts", "started_at",
    "finished_at", "error", "progress", "lease_owner", "lease_until", "emergency_reason",
    "not_before", "prompted_at", "approvals_required", "migrations", "verification",
}
#: Kinds whose success means their version runs (a migration run changes no version).
_ROLLOUTS = (Kind.DEPLOY.value, Kind.ROLLBACK.value)


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Domain values as column values (a JobOutcome or Verification is stored as JSON)."""
    out = dict(fields)
    for key in ("migrations", "verification"):
        if isinstance(out.get(key), JobOutcome | Verification):
            out[key] = out[key].as_dict()
    return out


def _insert_or_ignore(session: Session, table: Any, values: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the two databases we support."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(table).values(**values).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(table).values(**values).on_conflict_do_nothing()
    raise NotImplementedError(f"unsupported database {dialect}")  # pragma: no cover


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
        emergency_reason=row.emergency_reason,
        not_before=row.not_before,
        prompted_at=row.prompted_at,
        migrations=JobOutcome.from_dict(row.migrations) if row.migrations else None,
        kind=Kind(row.kind),
        target=row.target,
        rollback_of=row.rollback_of,
        verification=Verification.from_dict(row.verification) if row.verification else None,
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
            emergency_reason=new.emergency_reason,
            not_before=new.not_before,
            kind=new.kind.value,
            target=new.target,
            rollback_of=new.rollback_of,
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
                    row_version=DeploymentRow.row_version + 1, **_columns(fields))
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def set_fields(self, deployment_id: int, **fields: Any) -> None:
        unknown = set(fields) - _FIELDS
        if unknown:
            raise TypeError(f"unknown deployment fields: {sorted(unknown)}")
        self._s.execute(
            update(DeploymentRow).where(DeploymentRow.id == deployment_id)
            .values(**_columns(fields))
        )

    def add_decision(self, deployment_id: int, user_id: str, *, approve: bool,
                     at: datetime) -> bool:
        values = {"deployment_id": deployment_id, "user_id": user_id, "approve": approve,
                  "at": at}
        stmt = _insert_or_ignore(self._s, DecisionRow, values)
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

    def due_scheduled(self, at: datetime) -> Sequence[int]:
        """Deployments waiting for a window that has opened, whose requester was not yet
        asked to confirm."""
        return self._s.scalars(
            select(DeploymentRow.id).where(
                DeploymentRow.state == State.SCHEDULED.value,
                DeploymentRow.not_before <= at,
                DeploymentRow.prompted_at.is_(None),
            ).order_by(DeploymentRow.id)
        ).all()

    def unanswered(self, *, prompted_before: datetime) -> Sequence[int]:
        """Scheduled deployments whose requester was asked before then and never answered."""
        return self._s.scalars(
            select(DeploymentRow.id).where(
                DeploymentRow.state == State.SCHEDULED.value,
                DeploymentRow.prompted_at <= prompted_before,
            ).order_by(DeploymentRow.id)
        ).all()

    def find_scheduled(self, *, service: str, environment: str, version: str,
                       requested_by: str) -> Deployment | None:
        row_id = self._s.scalar(
            select(DeploymentRow.id).where(
                DeploymentRow.state == State.SCHEDULED.value,
                DeploymentRow.service == service, DeploymentRow.environment == environment,
                DeploymentRow.version == version, DeploymentRow.requested_by == requested_by,
            ).order_by(DeploymentRow.id).limit(1)
        )
        return None if row_id is None else self.get(row_id)

    def mark_prompted(self, deployment_id: int, *, at: datetime) -> bool:
        """Claim the one reminder for a scheduled deployment (False: someone else did)."""
        res = self._s.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id,
                   DeploymentRow.state == State.SCHEDULED.value,
                   DeploymentRow.prompted_at.is_(None))
            .values(prompted_at=at)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

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
            .where(DeploymentRow.state == State.SUCCEEDED.value,
                   DeploymentRow.kind.in_(_ROLLOUTS))
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
                DeploymentRow.kind.in_(_ROLLOUTS),
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


def _runtime_freeze(row: FreezeRow) -> RuntimeFreeze:
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
        rows = self._s.scalars(
            select(FreezeRow).where(FreezeRow.removed_at.is_(None), FreezeRow.end > at)
            .order_by(FreezeRow.start, FreezeRow.id)
        ).all()
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
        stmt = _insert_or_ignore(self._s, AnnouncementRow, values)
        return self._s.execute(stmt.returning(AnnouncementRow.key)).first() is not None

    def posted(self, key: str, *, channel: str, ts: str) -> None:
        self._s.execute(update(AnnouncementRow).where(AnnouncementRow.key == key)
                        .values(channel=channel, ts=ts))

    def release(self, key: str) -> None:
        """Forget a claim whose post failed, so a later run may try again."""
        self._s.execute(delete(AnnouncementRow).where(AnnouncementRow.key == key))

    def claimed(self, key: str) -> bool:
        return self._s.get(AnnouncementRow, key) is not None
