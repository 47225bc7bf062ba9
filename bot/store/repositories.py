"""Repositories: the store's answers to the ports, in domain values, with conditional updates.

Every state change is `UPDATE … WHERE id = :id AND state IN (:legal sources)`, so two
processes (or two clicks) can never both move a deployment.

Why over 400 lines: the deployments' repository (its conditional transitions and the
`/deploy` statements built once) is most of it; the other repositories are modules of their
own (locks, faulty, audit, checklist, home, simulated).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from bot.domain.deployment import (
    Decision,
    Deployment,
    JobOutcome,
    Kind,
    NewDeployment,
    RunningVersion,
    Verification,
)
from bot.domain.dora import DeploymentFact
from bot.domain.freezes import Freeze, RuntimeFreeze
from bot.domain.live import Recorded
from bot.domain.record import VERIFY_FAILED
from bot.domain.states import State, sources_for
from bot.store.in_flight import enters_flight, one_in_flight
from bot.store.models import AnnouncementRow, DecisionRow, DeploymentRow, FreezeRow

_FIELDS = {
    "previous_version", "expires_at", "channel", "message_ts", "record_ts", "started_at",
    "finished_at", "error", "progress", "lease_owner", "lease_until", "emergency_reason",
    "not_before", "prompted_at", "approvals_required", "migrations", "verification",
    "github_deployment_id", "superseded_by", "abort_requested_by", "abort_requested_at",
    "downgrade_from",
}


def _one_of(col: Any, values: Sequence[str]) -> Any:
    """`col IN (:v1, :v2, …)` for a fixed list: one bound parameter per value, the same SQL
    as `col.in_(values)` sends, without the expanding parameter SQLAlchemy rewrites the SQL
    for at every execution."""
    return col.in_([literal(v, col.type) for v in values])


#: The tables, for Core statements: deployments and decisions are read and written with
#: Core statements on their tables (see "`/deploy`'s statements" below).
_D = cast(Table, DeploymentRow.__table__)
_C = _D.c
_DECISIONS = cast(Table, DecisionRow.__table__)
#: Kinds whose success means their version runs (a migration run changes no version).
_ROLLOUTS = (Kind.DEPLOY.value, Kind.ROLLBACK.value)
#: Work a runner may claim: queued, or under way — in every case only while nobody holds its
#: lease (two workers' resume polls see a queued row at the same moment: one claims it).
_CLAIMABLE = _one_of(_C.state, [State.QUEUED.value, State.RUNNING.value,
                                 State.VERIFYING.value])
#: The environment's main instance: per-PR previews never count as what runs there
#: (promotion gates, rollback targets, status, the App Home).
_MAIN = _C.instance.is_(None)


#: States of a deployment in flight (queued, running, being verified).
_ACTIVE = [s.value for s in State if s.active]
#: States of a request still waiting (for approval, for its window).
_WAITING = [State.AWAITING_APPROVAL.value, State.SCHEDULED.value]
_PER_INSTANCE = _C.instance == bindparam("instance")


def _on(instance: str | None) -> Any:
    """Rows of the main instance (None), or of one per-PR instance."""
    return _MAIN if instance is None else _C.instance == instance


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Domain values as column values (a JobOutcome or Verification is stored as JSON)."""
    out = dict(fields)
    for key in ("migrations", "verification"):
        if isinstance(out.get(key), JobOutcome | Verification):
            out[key] = out[key].as_dict()
    return out


# `/deploy`'s statements, built once: building a statement and its cache key costs about
# three times what executing it costs on SQLite (benchmarks/README.md, lean request path).
# Each query with an instance has two forms: the main instance, and a per-PR one (:instance).
# They are Core statements on the tables (columns of `_D.c`, not the mapped class's
# attributes, which would make them ORM statements): rows come back as plain rows, with no ORM
# identity map to keep in step with the UPDATEs (Core too), at a fraction of the ORM's cost
# per statement.
#: Every column of a deployment, None unless set (a row just inserted, as `_to_domain` reads it).
_NO_VALUES = dict.fromkeys(_D.c.keys())
#: A deployment's columns with its decisions' (one row per decision, or one with the decision
#: columns NULL when it has none): a deployment and its decisions in one statement.
_DECISION_COLUMNS = (_DECISIONS.c.id.label("decision_id"),
                     _DECISIONS.c.user_id.label("decision_user_id"),
                     _DECISIONS.c.approve.label("decision_approve"),
                     _DECISIONS.c.at.label("decision_at"))
_WITH_DECISIONS = _D.outerjoin(_DECISIONS, _DECISIONS.c.deployment_id == _C.id)
_GET = select(_D, *_DECISION_COLUMNS).select_from(_WITH_DECISIONS).where(
    _C.id == bindparam("id"))
_DECISIONS_OF_ANY = select(_DECISIONS).where(
    _DECISIONS.c.deployment_id.in_(bindparam("ids", expanding=True)))
_ENV_SERVICE = (_C.environment == bindparam("environment"),
                _C.service == bindparam("service"))
_ACTIVE_ID = {main: select(_C.id).where(
    *_ENV_SERVICE, on, _one_of(_C.state, _ACTIVE)).order_by(_C.id).limit(1)
    for main, on in ((True, _MAIN), (False, _PER_INSTANCE))}
_WAITING_ROWS = {main: select(_D, *_DECISION_COLUMNS).select_from(_WITH_DECISIONS).where(
    *_ENV_SERVICE, on, _one_of(_C.state, _WAITING)).order_by(_C.id)
    for main, on in ((True, _MAIN), (False, _PER_INSTANCE))}


_INSERT = insert(_D)


@functools.lru_cache(maxsize=64)
def _update_by_id(fields: frozenset[str], sources: tuple[str, ...] | None = None) -> Any:
    """`UPDATE deployments SET <fields> WHERE id = :_id`, built once per set of fields;
    with `sources`, a transition: `AND state IN (sources)`, and the row version goes up.
    Values are bound as :<field>."""
    q = update(_D).where(_C.id == bindparam("_id"))
    values: dict[str, Any] = {f: bindparam(f) for f in sorted(fields)}
    if sources is not None:
        q = q.where(_one_of(_C.state, sources))
        values["row_version"] = _C.row_version + 1
    return q.values(values)


def _last_put_live() -> Any:
    d = _C
    went_live = or_(d.state == State.SUCCEEDED.value,
                    and_(d.state == State.FAILED.value, d.error.startswith(VERIFY_FAILED),
                         d.verification.is_not(None)))
    return select(d.version, d.finished_at, d.requested_at, d.id).where(
        *_ENV_SERVICE, _MAIN,
        # implied by `went_live`; lets the index on (environment, service, state) skip the
        # deployments that never went live
        _one_of(d.state, [State.SUCCEEDED.value, State.FAILED.value]),
        _one_of(d.kind, _ROLLOUTS), went_live,
    ).order_by(d.finished_at.desc().nulls_last(), d.id.desc()).limit(1)


_LAST_PUT_LIVE = _last_put_live()


def _insert_or_ignore(session: Session, table: Any, values: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the two databases we support."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(table).values(**values).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(table).values(**values).on_conflict_do_nothing()
    raise NotImplementedError(f"unsupported database {dialect}")  # pragma: no cover


def _to_domain(row: Any, decisions: Sequence[Any]) -> Deployment:
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
        updated_at=row.updated_at,
        decisions=tuple(
            Decision(user_id=r.user_id, approve=r.approve, at=r.at)
            for r in sorted(decisions, key=lambda r: (r.at, r.id))
        ),
    )


def _joined(rows: Iterable[Any]) -> list[Deployment]:
    """Deployments from rows with their decisions' columns (`_DECISION_COLUMNS`), in the
    order of the rows' first appearance."""
    found: dict[int, tuple[Any, list[Any]]] = {}
    for row in rows:
        entry = found.get(row.id)
        if entry is None:
            entry = found[row.id] = (row, [])
        if row.decision_id is not None:
            entry[1].append(SimpleNamespace(id=row.decision_id, user_id=row.decision_user_id,
                                            approve=row.decision_approve, at=row.decision_at))
    return [_to_domain(row, decisions) for row, decisions in found.values()]


class SqlDeploymentRepository:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, new: NewDeployment) -> Deployment:
        values: dict[str, Any] = dict(
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
            instance=new.instance,
            downgrade_from=new.downgrade_from,
        )
        # In flight from the start: the database refuses a second one (DeploymentBusy).
        with one_in_flight(self._s, (new.environment, new.service, new.instance),
                           self.active_for,
                           guard=new.state.active):
            # A Core INSERT: the ORM's unit of work costs several times more for one row.
            res = self._s.execute(_INSERT, values)
        new_id = res.inserted_primary_key[0]  # type: ignore[attr-defined]
        return _to_domain(SimpleNamespace(**{**_NO_VALUES, **values, "id": new_id}), [])

    def get(self, deployment_id: int) -> Deployment | None:
        found = _joined(self._s.execute(_GET, {"id": deployment_id}))
        return found[0] if found else None

    def lock(self, deployment_id: int, state: State) -> bool:
        res = self._s.execute(
            update(_D)
            .where(_C.id == deployment_id, _C.state == state.value)
            .values(row_version=_C.row_version + 1)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def transition(
        self, deployment_id: int, target: State, *, at: datetime, **fields: Any
    ) -> bool:
        unknown = set(fields) - _FIELDS
        if unknown:
            raise TypeError(f"unknown deployment fields: {sorted(unknown)}")
        sources = tuple(s.value for s in sources_for(target))
        params = {**_columns(fields), "state": target.value, "updated_at": at}
        stmt = _update_by_id(frozenset(params), sources)
        # Into QUEUED: the database refuses a second deployment in flight (DeploymentBusy).
        with one_in_flight(self._s, deployment_id, self.active_for,
                           guard=enters_flight(target)):
            res = self._s.execute(stmt, {**params, "_id": deployment_id})
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def active_for(self, environment: str, service: str,
                   instance: str | None = None) -> Deployment | None:
        """The deployment of `service` to `environment` (its main instance, or the per-PR
        `instance`) in flight (queued, running or being verified), if any: there is at most
        one."""
        row_id = self._s.scalar(_ACTIVE_ID[instance is None], {
            "environment": environment, "service": service, "instance": instance})
        return None if row_id is None else self.get(row_id)

    def set_fields(self, deployment_id: int, **fields: Any) -> None:
        unknown = set(fields) - _FIELDS
        if unknown:
            raise TypeError(f"unknown deployment fields: {sorted(unknown)}")
        params = _columns(fields)
        self._s.execute(_update_by_id(frozenset(params)), {**params, "_id": deployment_id})

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
            update(_D)
            .where(_C.id == deployment_id,
                   _C.state == State.SCHEDULED.value,
                   _C.prompted_at.is_(None))
            .values(prompted_at=at)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def request_abort(self, deployment_id: int, *, by: str, at: datetime) -> bool:
        """Who asked to abort it, once: only while it rolls out or is watched."""
        res = self._s.execute(
            update(_D)
            .where(_C.id == deployment_id,
                   _C.state.in_([State.RUNNING.value, State.VERIFYING.value]),
                   _C.abort_requested_by.is_(None))
            .values(abort_requested_by=by, abort_requested_at=at, updated_at=at,
                    row_version=_C.row_version + 1)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def claim(self, deployment_id: int, *, owner: str, at: datetime, until: datetime) -> bool:
        res = self._s.execute(
            update(_D)
            .where(_C.id == deployment_id, _CLAIMABLE,
                   or_(_C.lease_until.is_(None), _C.lease_until < at))
            .values(lease_owner=owner, lease_until=until, updated_at=at,
                    row_version=_C.row_version + 1)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def renew(self, deployment_id: int, *, owner: str, until: datetime) -> bool:
        res = self._s.execute(
            update(_D)
            .where(_C.id == deployment_id, _C.lease_owner == owner)
            .values(lease_until=until)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def claimable(self, at: datetime) -> Sequence[int]:
        return self._s.scalars(
            select(DeploymentRow.id).where(
                _CLAIMABLE,
                or_(DeploymentRow.lease_until.is_(None), DeploymentRow.lease_until < at),
            ).order_by(DeploymentRow.id)
        ).all()

    def _with_decisions(self, rows: Sequence[Any]) -> list[Deployment]:
        """Rows as domain values, with their approval decisions in one more query."""
        ids = [r.id for r in rows]
        decisions: dict[int, list[Any]] = {i: [] for i in ids}
        if ids:
            for dr in self._s.execute(_DECISIONS_OF_ANY, {"ids": ids}):
                decisions[dr.deployment_id].append(dr)
        return [_to_domain(r, decisions[r.id]) for r in rows]

    def recent(self, limit: int) -> Sequence[Deployment]:
        rows = self._s.execute(select(_D).order_by(_D.c.id.desc()).limit(limit)).all()
        return self._with_decisions(rows)

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
        return self._with_decisions(rows), total

    def running_versions(self) -> Sequence[RunningVersion]:
        latest = (
            select(DeploymentRow.environment, DeploymentRow.service,
                   func.max(DeploymentRow.id).label("id"))
            .where(DeploymentRow.state == State.SUCCEEDED.value,
                   DeploymentRow.kind.in_(_ROLLOUTS), _MAIN)
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
                        row.state == State.SUCCEEDED.value, row.kind.in_(_ROLLOUTS),
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
                DeploymentRow.kind.in_(_ROLLOUTS), _MAIN,
            ).group_by(DeploymentRow.version).order_by(latest.desc()).limit(limit)
        ))

    def succeeded_there(self, environment: str, service: str, version: str) -> bool:
        """Whether `version` went live there and passed its checks (a deploy or rollback
        that succeeded): the promotion gate's question."""
        return self._s.scalar(
            select(DeploymentRow.id).where(
                DeploymentRow.environment == environment,
                DeploymentRow.service == service, DeploymentRow.version == version,
                DeploymentRow.state == State.SUCCEEDED.value,
                DeploymentRow.kind.in_(_ROLLOUTS), _MAIN,
            ).limit(1)
        ) is not None

    def latest_live(self, environment: str, service: str, version: str) -> Deployment | None:
        """The last deployment that took `version` live there (succeeded; or went live and
        failed its watch, or was rolled back since)."""
        row_id = self._s.scalar(
            select(DeploymentRow.id).where(
                DeploymentRow.environment == environment,
                DeploymentRow.service == service, DeploymentRow.version == version,
                DeploymentRow.kind.in_(_ROLLOUTS), _MAIN,
                or_(DeploymentRow.state.in_([State.SUCCEEDED.value, State.ROLLED_BACK.value]),
                    and_(DeploymentRow.state == State.FAILED.value,
                         DeploymentRow.error.startswith(VERIFY_FAILED))),
            ).order_by(DeploymentRow.id.desc()).limit(1)
        )
        return None if row_id is None else self.get(row_id)

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
        return self._with_decisions(rows)

    def facts(self, *, environments: Sequence[str], service: str | None,
              since: datetime) -> Sequence[DeploymentFact]:
        """Deploys and rollbacks requested since `since` there (main instances: a per-PR
        preview is no delivery), the columns the DORA measures need only."""
        d = DeploymentRow
        q = select(d.id, d.environment, d.service, d.kind, d.state, d.version,
                   d.previous_version, d.requested_at, d.started_at, d.finished_at,
                   d.error.startswith(VERIFY_FAILED), d.rollback_of).where(
            d.environment.in_(list(environments)), d.kind.in_(_ROLLOUTS),
            d.requested_at >= since, _MAIN)
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
                DeploymentRow.service == service, _on(instance),
                DeploymentRow.state == State.SUCCEEDED.value,
                DeploymentRow.kind.in_(_ROLLOUTS),
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

    def waiting_for(self, environment: str, service: str,
                    instance: str | None = None) -> Sequence[Deployment]:
        """Requests of `service` to `environment` (main instance, or per-PR `instance`)
        still waiting for approval or for their window, oldest first (supersession)."""
        return _joined(self._s.execute(_WAITING_ROWS[instance is None], {
            "environment": environment, "service": service, "instance": instance}))

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


def _runtime_freeze(row: Any) -> RuntimeFreeze:
    """A runtime freeze from its row (an ORM object or a Core row)."""
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


_FREEZES = cast(Table, FreezeRow.__table__)
#: Built once, a Core statement on the table (rows, not ORM objects): every /deploy reads it.
_CURRENT_FREEZES = (select(_FREEZES)
                    .where(_FREEZES.c.removed_at.is_(None), _FREEZES.c.end > bindparam("at"))
                    .order_by(_FREEZES.c.start, _FREEZES.c.id))


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
        rows = self._s.execute(_CURRENT_FREEZES, {"at": at}).all()
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

    def forget(self, prefix: str, *, claimed_before: datetime) -> int:
        """Delete the claims whose key starts with `prefix` made before a time (claims that
        only stop repeats, kept while a repeat may still come); how many."""
        res = self._s.execute(delete(AnnouncementRow).where(
            AnnouncementRow.key.startswith(prefix, autoescape=True),
            AnnouncementRow.claimed_at < claimed_before))
        return int(res.rowcount)  # type: ignore[attr-defined]

    def keys(self, prefix: str) -> list[str]:
        """The claimed keys that start with `prefix`, sorted (e.g. the pull requests polling
        saw open)."""
        return list(self._s.scalars(
            select(AnnouncementRow.key).where(
                AnnouncementRow.key.startswith(prefix, autoescape=True))
            .order_by(AnnouncementRow.key)))

    def drop(self, key: str) -> bool:
        """Delete one claim; True only for the one caller that deleted it (another process
        deleting it at the same time waits for this transaction and deletes nothing)."""
        res = self._s.execute(delete(AnnouncementRow).where(AnnouncementRow.key == key))
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]
