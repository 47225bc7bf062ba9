"""The deployments' repository, reading what ran where (bot.ports DeploymentHistory): the
versions live and good in each place, the last deployments (`/deploys`), the DORA facts, a
promotion gate's and a rollback's questions. Main instances only, unless an instance is named:
a per-PR preview is never what runs in an environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, column, func, or_, select, true, values
from sqlalchemy.orm import aliased

from bot.domain.deployment import Deployment, Kind, RunningVersion
from bot.domain.dora import DeploymentFact
from bot.domain.live import Recorded
from bot.domain.outcome_notes import VERIFY_FAILED
from bot.domain.states import State
from bot.store.deployment_rows import (
    DEPLOYMENTS,
    ENV_SERVICE,
    MAIN,
    ROLLOUTS,
    OnSession,
    on,
    one_of,
    with_decisions,
)
from bot.store.deployments_read import get
from bot.store.models import DeploymentRow

_D = DEPLOYMENTS


def _last_put_live() -> Any:
    d = _D.c
    went_live = or_(d.state == State.SUCCEEDED.value,
                    and_(d.state == State.FAILED.value, d.error.startswith(VERIFY_FAILED),
                         d.verification.is_not(None)))
    return select(d.version, d.finished_at, d.requested_at, d.id).where(
        *ENV_SERVICE, MAIN,
        # implied by `went_live`; lets the index on (environment, service, state) skip the
        # deployments that never went live
        one_of(d.state, [State.SUCCEEDED.value, State.FAILED.value]),
        one_of(d.kind, ROLLOUTS), went_live,
    ).order_by(d.finished_at.desc().nulls_last(), d.id.desc()).limit(1)


#: Built once: every `/deploy` asks it (bot.store.deployment_rows).
_LAST_PUT_LIVE = _last_put_live()


class SqlDeploymentHistory(OnSession):
    def recent(self, limit: int) -> Sequence[Deployment]:
        rows = self._s.execute(select(_D).order_by(_D.c.id.desc()).limit(limit)).all()
        return with_decisions(self._s, rows)

    def running_versions(self) -> Sequence[RunningVersion]:
        latest = (
            select(DeploymentRow.environment, DeploymentRow.service,
                   func.max(DeploymentRow.id).label("id"))
            .where(DeploymentRow.state == State.SUCCEEDED.value,
                   DeploymentRow.kind.in_(ROLLOUTS), MAIN)
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

    def running_versions_of(self, environments: Sequence[str],
                            services: Sequence[str]) -> Sequence[RunningVersion]:
        """`running_versions` for these environments and services only: the latest rollout
        that succeeded per pair (by request time, then id), found by a short backward walk
        of ix_deployments_env_service_requested per pair in one statement, then read by
        primary key — instead of a pass over every deployment. The App Home's query, fast
        with 100,000 deployments."""
        if not environments or not services:
            return []
        envs = values(column("environment", String), name="envs").data(
            [(e,) for e in environments]).cte("envs")
        svcs = values(column("service", String), name="svcs").data(
            [(s,) for s in services]).cte("svcs")
        d = DeploymentRow

        def live(row: type[DeploymentRow] | Any) -> Any:
            return and_(row.environment == envs.c.environment, row.service == svcs.c.service,
                        row.state == State.SUCCEEDED.value, row.kind.in_(ROLLOUTS),
                        row.instance.is_(None))

        # The newest request time, then the highest id at that time (a tie on a manual
        # clock): both walk the index, where ORDER BY requested_at, id would sort each pair.
        newest = aliased(DeploymentRow)
        newest_at = (select(newest.requested_at).where(live(newest))
                     .order_by(newest.requested_at.desc()).limit(1)
                     .correlate(envs, svcs).scalar_subquery())
        latest = (select(func.max(d.id)).where(live(d), d.requested_at == newest_at)
                  .correlate(envs, svcs).scalar_subquery())
        # Two statements: a join back to deployments lets PostgreSQL pick a full scan.
        ids = [i for i in self._s.scalars(
            select(latest).select_from(envs.join(svcs, true()))) if i is not None]
        if not ids:
            return []
        rows = self._s.execute(
            select(d.environment, d.service, d.version, d.finished_at, d.requested_at)
            .where(d.id.in_(ids)).order_by(d.environment, d.service)
        ).all()
        return [RunningVersion(environment=r[0], service=r[1], version=r[2], since=r[3] or r[4])
                for r in rows]

    def good_versions(self, environment: str, service: str, *, limit: int = 20) -> list[str]:
        """Versions that went live there and passed their checks (deploys and rollbacks
        that succeeded), newest first, each once."""
        latest = func.max(DeploymentRow.id)
        return list(self._s.scalars(
            select(DeploymentRow.version).where(
                DeploymentRow.environment == environment,
                DeploymentRow.service == service,
                DeploymentRow.state == State.SUCCEEDED.value,
                DeploymentRow.kind.in_(ROLLOUTS), MAIN,
            ).group_by(DeploymentRow.version).order_by(latest.desc()).limit(limit)
        ))

    def succeeded_there(self, environment: str, service: str,
                        version: str) -> Recorded | None:
        """The last deployment that took `version` live there and passed its checks (a
        deploy or rollback that succeeded), and when it finished: the promotion gate's
        question (None: never)."""
        row = self._s.execute(
            select(DeploymentRow.id, DeploymentRow.finished_at, DeploymentRow.requested_at)
            .where(
                DeploymentRow.environment == environment,
                DeploymentRow.service == service, DeploymentRow.version == version,
                DeploymentRow.state == State.SUCCEEDED.value,
                DeploymentRow.kind.in_(ROLLOUTS), MAIN,
            ).order_by(DeploymentRow.id.desc()).limit(1)
        ).first()
        return (None if row is None else
                Recorded(version=version, at=row.finished_at or row.requested_at,
                         deployment_id=row.id))

    def latest_live(self, environment: str, service: str, version: str) -> Deployment | None:
        """The last deployment that took `version` live there (succeeded; or went live and
        failed its watch, or was rolled back since)."""
        row_id = self._s.scalar(
            select(DeploymentRow.id).where(
                DeploymentRow.environment == environment,
                DeploymentRow.service == service, DeploymentRow.version == version,
                DeploymentRow.kind.in_(ROLLOUTS), MAIN,
                or_(DeploymentRow.state.in_([State.SUCCEEDED.value, State.ROLLED_BACK.value]),
                    and_(DeploymentRow.state == State.FAILED.value,
                         DeploymentRow.error.startswith(VERIFY_FAILED))),
            ).order_by(DeploymentRow.id.desc()).limit(1)
        )
        return None if row_id is None else get(self._s, row_id)

    def history(self, *, limit: int, environment: str | None = None,
                service: str | None = None) -> Sequence[Deployment]:
        """The last `limit` deployments (of one environment and/or service), newest first,
        with their decisions (`/deploys`)."""
        q = select(_D)
        if environment is not None:
            q = q.where(DeploymentRow.environment == environment)
        if service is not None:
            q = q.where(DeploymentRow.service == service)
        # By request time: ix_deployments_env_service_requested (environment and service) or
        # ix_deployments_requested_at give the order, no sort (the id breaks ties; SQLite
        # keeps it in every index anyway).
        rows = self._s.execute(q.order_by(DeploymentRow.requested_at.desc(),
                                          DeploymentRow.id.desc()).limit(limit)).all()
        return with_decisions(self._s, rows)

    def facts(self, *, environments: Sequence[str], service: str | None,
              since: datetime) -> Sequence[DeploymentFact]:
        """Deploys and rollbacks requested since `since` there (main instances: a per-PR
        preview is no delivery), the columns the DORA measures need only."""
        d = DeploymentRow
        q = select(d.id, d.environment, d.service, d.kind, d.state, d.version,
                   d.previous_version, d.requested_at, d.started_at, d.finished_at,
                   d.error.startswith(VERIFY_FAILED), d.rollback_of).where(
            d.environment.in_(list(environments)), d.kind.in_(ROLLOUTS),
            d.requested_at >= since, MAIN)
        if service is not None:
            q = q.where(d.service == service)
        return [DeploymentFact(
            id=r[0], environment=r[1], service=r[2], kind=Kind(r[3]), state=State(r[4]),
            version=r[5], previous_version=r[6], requested_at=r[7], started_at=r[8],
            finished_at=r[9], failed_verification=bool(r[10]), rollback_of=r[11],
        ) for r in self._s.execute(q.order_by(d.id))]

    def last_succeeded_version(self, environment: str, service: str,
                               instance: str | None = None) -> str | None:
        """The version the last deploy or rollback that succeeded there took live (on the
        main instance, or on the per-PR `instance`)."""
        return self._s.scalar(
            select(DeploymentRow.version).where(
                DeploymentRow.environment == environment,
                DeploymentRow.service == service, on(instance),
                DeploymentRow.state == State.SUCCEEDED.value,
                DeploymentRow.kind.in_(ROLLOUTS),
            ).order_by(DeploymentRow.id.desc()).limit(1)
        )

    def last_put_live(self, environment: str, service: str) -> Recorded | None:
        """What deploybot last put live on the main instance there: the deploy or rollback
        that went live most recently (by the time it went live, then id) — succeeded, or
        went live and failed its watch without being rolled back. Not "newest request":
        an older request approved later replaces a newer one that went live first."""
        row = self._s.execute(_LAST_PUT_LIVE, {"environment": environment,
                                               "service": service}).first()
        if row is None:
            return None
        return Recorded(version=row[0], at=row[1] or row[2], deployment_id=row[3])
