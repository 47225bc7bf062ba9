"""A deployment's rows as the deployments' repository reads and writes them: the tables, the
conditions its statements share, and a row (with its decisions' rows) as a domain value.

The statements are Core statements on the tables (columns of `DEPLOYMENTS.c`, not the mapped
class's attributes, which would make them ORM statements): rows come back as plain rows, with
no ORM identity map to keep in step with the UPDATEs (Core too), at a fraction of the ORM's
cost per statement. Those `/deploy` runs are built once, at import (deployments_read,
deployments_write): building a statement and its cache key costs about three times what
executing it costs on SQLite (benchmarks/README.md, lean request path).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, literal, select
from sqlalchemy.orm import Session

from bot.domain.cause import Cause
from bot.domain.deployment import (
    Decision,
    Deployment,
    JobOutcome,
    Kind,
    Promotion,
    Verification,
)
from bot.domain.states import State
from bot.store.models import DecisionRow, DeploymentRow

#: The tables: deployments and decisions are read and written with Core statements on them.
DEPLOYMENTS = cast(Table, DeploymentRow.__table__)
DECISIONS = cast(Table, DecisionRow.__table__)
_C = DEPLOYMENTS.c


def one_of(col: Any, values: Sequence[str]) -> Any:
    """`col IN (:v1, :v2, …)` for a fixed list: one bound parameter per value, the same SQL
    as `col.in_(values)` sends, without the expanding parameter SQLAlchemy rewrites the SQL
    for at every execution."""
    return col.in_([literal(v, col.type) for v in values])


#: Kinds whose success means their version runs (a migration run changes no version).
ROLLOUTS = (Kind.DEPLOY.value, Kind.ROLLBACK.value)
#: The environment's main instance: per-PR previews never count as what runs there
#: (promotion gates, rollback targets, status, the App Home).
MAIN = _C.instance.is_(None)
#: One per-PR instance, bound as :instance.
PER_INSTANCE = _C.instance == bindparam("instance")
#: One service in one environment, bound as :environment and :service.
ENV_SERVICE = (_C.environment == bindparam("environment"), _C.service == bindparam("service"))
#: Work a runner may claim: queued, or under way — in every case only while nobody holds its
#: lease (two workers' resume polls see a queued row at the same moment: one claims it).
CLAIMABLE = one_of(_C.state, [State.QUEUED.value, State.RUNNING.value, State.VERIFYING.value])


def on(instance: str | None) -> Any:
    """Rows of the main instance (None), or of one per-PR instance."""
    return MAIN if instance is None else _C.instance == instance


#: A deployment's columns with its decisions' (one row per decision, or one with the decision
#: columns NULL when it has none): a deployment and its decisions in one statement.
DECISION_COLUMNS = (DECISIONS.c.id.label("decision_id"),
                    DECISIONS.c.user_id.label("decision_user_id"),
                    DECISIONS.c.approve.label("decision_approve"),
                    DECISIONS.c.at.label("decision_at"),
                    DECISIONS.c.reason.label("decision_reason"))
WITH_DECISIONS = DEPLOYMENTS.outerjoin(DECISIONS, DECISIONS.c.deployment_id == _C.id)
_DECISIONS_OF_ANY = select(DECISIONS).where(
    DECISIONS.c.deployment_id.in_(bindparam("ids", expanding=True)))


def to_domain(row: Any, decisions: Sequence[Any]) -> Deployment:
    """A deployment from its row and its decisions' rows (Core rows, or anything with
    their columns as attributes)."""
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
        github_deployment_id=row.github_deployment_id,
        instance=row.instance,
        superseded_by=row.superseded_by,
        abort_requested_by=row.abort_requested_by,
        abort_requested_at=row.abort_requested_at,
        downgrade_from=row.downgrade_from,
        promotion=_promotion(row),
        cause=Cause.from_dict(row.cause) if isinstance(row.cause, dict) else None,
        updated_at=row.updated_at,
        decisions=tuple(
            Decision(user_id=r.user_id, approve=r.approve, at=r.at, reason=r.reason)
            for r in sorted(decisions, key=lambda r: (r.at, r.id))
        ),
    )


def _promotion(row: Any) -> Promotion | None:
    """The promotion gate's finding kept with a deployment (None: no gate then)."""
    if row.promoted_from is None:
        return None
    return Promotion(row.promoted_from, deployment_id=row.promoted_deployment_id,
                     at=row.promoted_at, commit=row.promoted_commit)


def promotion_values(promotion: Promotion | None) -> dict[str, Any]:
    """A deployment's promotion columns for `promotion` (all NULL for None)."""
    p = promotion
    return {"promoted_from": p.source if p else None,
            "promoted_deployment_id": p.deployment_id if p else None,
            "promoted_at": p.at if p else None,
            "promoted_commit": p.commit if p else None}


def joined(rows: Iterable[Any]) -> list[Deployment]:
    """Deployments from rows with their decisions' columns (`DECISION_COLUMNS`), in the
    order of the rows' first appearance."""
    found: dict[int, tuple[Any, list[Any]]] = {}
    for row in rows:
        entry = found.get(row.id)
        if entry is None:
            entry = found[row.id] = (row, [])
        if row.decision_id is not None:
            entry[1].append(SimpleNamespace(id=row.decision_id, user_id=row.decision_user_id,
                                            approve=row.decision_approve, at=row.decision_at,
                                            reason=row.decision_reason))
    return [to_domain(row, decisions) for row, decisions in found.values()]


def with_decisions(session: Session, rows: Sequence[Any]) -> list[Deployment]:
    """Deployments' rows as domain values, with their approval decisions in one more query."""
    ids = [r.id for r in rows]
    decisions: dict[int, list[Any]] = {i: [] for i in ids}
    if ids:
        for dr in session.execute(_DECISIONS_OF_ANY, {"ids": ids}):
            decisions[dr.deployment_id].append(dr)
    return [to_domain(r, decisions[r.id]) for r in rows]


class OnSession:
    """A part of the deployments' repository: its statements run in the caller's session
    (the unit of work of `Store.transaction`)."""

    def __init__(self, session: Session) -> None:
        self._s = session
