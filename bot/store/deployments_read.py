"""The deployments' repository, reading one deployment and those in flight or waiting
(bot.ports DeploymentQueries, and the reads of DeploymentSchedules): what `/deploy`, a click
and the scheduler's jobs ask before they change anything.

`get`, `active_for` and `waiting_for` are `/deploy`'s statements, built once here (see
bot.store.deployment_rows); each query with an instance has two forms, the main instance and
a per-PR one (:instance).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot.domain.deployment import Deployment
from bot.domain.states import State
from bot.store.deployment_rows import (
    DECISION_COLUMNS,
    DEPLOYMENTS,
    ENV_SERVICE,
    MAIN,
    PER_INSTANCE,
    WITH_DECISIONS,
    OnSession,
    joined,
    one_of,
    with_decisions,
)
from bot.store.models import DeploymentRow

_D = DEPLOYMENTS
_C = _D.c
#: States of a deployment in flight (queued, running, being verified).
_ACTIVE = [s.value for s in State if s.active]
#: States of a request still waiting (for approval, for its window).
_WAITING = [State.AWAITING_APPROVAL.value, State.SCHEDULED.value]

_GET = select(_D, *DECISION_COLUMNS).select_from(WITH_DECISIONS).where(
    _C.id == bindparam("id"))
_ACTIVE_ID = {main: select(_C.id).where(
    *ENV_SERVICE, where, one_of(_C.state, _ACTIVE)).order_by(_C.id).limit(1)
    for main, where in ((True, MAIN), (False, PER_INSTANCE))}
_WAITING_ROWS = {main: select(_D, *DECISION_COLUMNS).select_from(WITH_DECISIONS).where(
    *ENV_SERVICE, where, one_of(_C.state, _WAITING)).order_by(_C.id)
    for main, where in ((True, MAIN), (False, PER_INSTANCE))}


def get(session: Session, deployment_id: int) -> Deployment | None:
    """A deployment and its decisions, in one statement."""
    found = joined(session.execute(_GET, {"id": deployment_id}))
    return found[0] if found else None


def active_for(session: Session, environment: str, service: str,
               instance: str | None = None) -> Deployment | None:
    """The deployment of `service` to `environment` (its main instance, or the per-PR
    `instance`) in flight (queued, running or being verified), if any: there is at most
    one."""
    row_id = session.scalar(_ACTIVE_ID[instance is None], {
        "environment": environment, "service": service, "instance": instance})
    return None if row_id is None else get(session, row_id)


class SqlDeploymentReads(OnSession):
    def get(self, deployment_id: int) -> Deployment | None:
        return get(self._s, deployment_id)

    def active_for(self, environment: str, service: str,
                   instance: str | None = None) -> Deployment | None:
        return active_for(self._s, environment, service, instance)

    def waiting_for(self, environment: str, service: str,
                    instance: str | None = None) -> Sequence[Deployment]:
        """Requests of `service` to `environment` (main instance, or per-PR `instance`)
        still waiting for approval or for their window, oldest first (supersession)."""
        return joined(self._s.execute(_WAITING_ROWS[instance is None], {
            "environment": environment, "service": service, "instance": instance}))

    def awaiting_approval(self, limit: int) -> tuple[Sequence[Deployment], int]:
        """The oldest `limit` deployments awaiting approval (with their decisions), and how
        many await approval in all: two queries on the state index."""
        waiting = DeploymentRow.state == State.AWAITING_APPROVAL.value
        total = int(self._s.scalar(select(func.count()).select_from(DeploymentRow)
                                   .where(waiting)) or 0)
        if total == 0:
            return [], 0
        rows = self._s.execute(
            select(_D).where(waiting).order_by(DeploymentRow.id).limit(limit)
        ).all()
        return with_decisions(self._s, rows), total

    def unstarted_on_instance(self, environment: str, service: str,
                              instance: str) -> Sequence[int]:
        """Deployments to a per-PR instance that have not started: awaiting approval,
        waiting for a window, or queued (a closed pull request's preview cancels them)."""
        return self._s.scalars(
            select(DeploymentRow.id).where(
                DeploymentRow.environment == environment, DeploymentRow.service == service,
                DeploymentRow.instance == instance,
                DeploymentRow.state.in_([State.AWAITING_APPROVAL.value, State.SCHEDULED.value,
                                         State.QUEUED.value]),
            ).order_by(DeploymentRow.id)
        ).all()

    def last_to_instance(self, environment: str, service: str, instance: str) -> int | None:
        """The id of the last deployment to a per-PR instance (whatever its state), if any."""
        return self._s.scalar(
            select(func.max(DeploymentRow.id)).where(
                DeploymentRow.environment == environment, DeploymentRow.service == service,
                DeploymentRow.instance == instance)
        )

    # -- what is due (DeploymentSchedules) ---------------------------------------------
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

    def next_due(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        waiting = DeploymentRow.state == State.AWAITING_APPROVAL.value
        scheduled = DeploymentRow.state == State.SCHEDULED.value
        row = self._s.execute(select(
            select(func.min(DeploymentRow.expires_at)).where(waiting).scalar_subquery(),
            select(func.min(DeploymentRow.not_before)).where(
                scheduled, DeploymentRow.prompted_at.is_(None)).scalar_subquery(),
            select(func.min(DeploymentRow.prompted_at)).where(scheduled).scalar_subquery(),
        )).one()
        return row[0], row[1], row[2]

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
        return None if row_id is None else get(self._s, row_id)
