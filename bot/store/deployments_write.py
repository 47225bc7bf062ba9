"""The deployments' repository, writing: a request, its state changes, what it records on the
way (bot.ports DeploymentWrites), its approvals (DeploymentDecisions), its window's reminder
(the writes of DeploymentSchedules) and the runner's lease (DeploymentLeases).

Every state change is `UPDATE … WHERE id = :id AND state IN (:legal sources)`, so two
processes (or two clicks) can never both move a deployment; the lease, an abort and a
reminder are conditional updates too. Each named write sets its own columns, with a
statement built once (see bot.store.deployment_rows).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Unpack

from sqlalchemy import bindparam, func, insert, or_, select, update

from bot.domain.deployment import Deployment, JobOutcome, NewDeployment, Verification
from bot.domain.states import State, sources_for
from bot.ports.deployments import DeploymentChanges
from bot.store.deployment_rows import (
    CLAIMABLE,
    DEPLOYMENTS,
    OnSession,
    one_of,
    promotion_values,
    to_domain,
)
from bot.store.deployments_read import active_for
from bot.store.dialects import insert_or_ignore
from bot.store.in_flight import enters_flight, one_in_flight
from bot.store.models import DecisionRow, DeploymentRow

_D = DEPLOYMENTS
_C = _D.c
#: The columns a state change may record with it (DeploymentChanges' keys).
_CHANGES = DeploymentChanges.__optional_keys__
#: Every column of a deployment, None unless set (a row just inserted, as `to_domain` reads it).
_NO_VALUES = dict.fromkeys(_D.c.keys())
_INSERT = insert(_D)


@functools.lru_cache(maxsize=64)
def _update_by_id(fields: frozenset[str], sources: tuple[str, ...] | None = None) -> Any:
    """`UPDATE deployments SET <fields> WHERE id = :_id`, built once per set of fields;
    with `sources`, a transition: `AND state IN (sources)`, and the row version goes up.
    Values are bound as :<field>."""
    q = update(_D).where(_C.id == bindparam("_id"))
    values: dict[str, Any] = {f: bindparam(f) for f in sorted(fields)}
    if sources is not None:
        q = q.where(one_of(_C.state, sources))
        values["row_version"] = _C.row_version + 1
    return q.values(values)


# The named writes' statements, built once.
_SET_MESSAGES = _update_by_id(frozenset({"channel", "message_ts", "record_ts"}))
_SET_PROGRESS = _update_by_id(frozenset({"progress"}))
_SET_VERIFICATION = _update_by_id(frozenset({"verification"}))
_SET_MIGRATIONS = _update_by_id(frozenset({"migrations"}))
_SET_GITHUB_DEPLOYMENT = _update_by_id(frozenset({"github_deployment_id"}))
_SET_ERROR = _update_by_id(frozenset({"error"}))
_SET_PREVIOUS_VERSION = _update_by_id(frozenset({"previous_version"}))
_SET_APPROVALS_REQUIRED = _update_by_id(frozenset({"approvals_required"}))
_SET_DOWNGRADE = _update_by_id(frozenset({"downgrade_from"}))
_SET_PROMPTED = _update_by_id(frozenset({"prompted_at"}))
_SET_NOT_BEFORE = _update_by_id(frozenset({"not_before"}))
_SET_NOT_BEFORE_UNPROMPTED = _update_by_id(frozenset({"not_before", "prompted_at"}))
_SET_LEASE = _update_by_id(frozenset({"lease_owner", "lease_until"}))


class SqlDeploymentWrites(OnSession):
    def _set(self, stmt: Any, deployment_id: int, values: dict[str, Any]) -> None:
        self._s.execute(stmt, {**values, "_id": deployment_id})

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
            **promotion_values(new.promotion),
            cause=new.cause.as_dict() if new.cause is not None else None,
        )
        # In flight from the start: the database refuses a second one (DeploymentBusy).
        with one_in_flight(self._s, (new.environment, new.service, new.instance),
                           functools.partial(active_for, self._s),
                           guard=new.state.active):
            # A Core INSERT: the ORM's unit of work costs several times more for one row.
            res = self._s.execute(_INSERT, values)
        new_id = res.inserted_primary_key[0]  # type: ignore[attr-defined]
        return to_domain(SimpleNamespace(**{**_NO_VALUES, **values, "id": new_id}), [])

    def lock(self, deployment_id: int, state: State) -> bool:
        res = self._s.execute(
            update(_D)
            .where(_C.id == deployment_id, _C.state == state.value)
            .values(row_version=_C.row_version + 1)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def transition(self, deployment_id: int, target: State, *, at: datetime,
                   **changes: Unpack[DeploymentChanges]) -> bool:
        unknown = set(changes) - _CHANGES
        if unknown:
            raise TypeError(f"unknown deployment fields: {sorted(unknown)}")
        sources = tuple(s.value for s in sources_for(target))
        params = {**changes, "state": target.value, "updated_at": at}
        stmt = _update_by_id(frozenset(params), sources)
        # Into QUEUED: the database refuses a second deployment in flight (DeploymentBusy).
        with one_in_flight(self._s, deployment_id, functools.partial(active_for, self._s),
                           guard=enters_flight(target)):
            res = self._s.execute(stmt, {**params, "_id": deployment_id})
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    def record_messages(self, deployment_id: int, *, channel: str, message_ts: str,
                        record_ts: str | None) -> None:
        self._set(_SET_MESSAGES, deployment_id,
                  {"channel": channel, "message_ts": message_ts, "record_ts": record_ts})

    def record_progress(self, deployment_id: int, text: str) -> None:
        self._set(_SET_PROGRESS, deployment_id, {"progress": text})

    def record_verification(self, deployment_id: int, verification: Verification) -> None:
        """Stored as JSON (Verification.as_dict)."""
        self._set(_SET_VERIFICATION, deployment_id, {"verification": verification.as_dict()})

    def record_migrations(self, deployment_id: int, outcome: JobOutcome) -> None:
        """Stored as JSON (JobOutcome.as_dict)."""
        self._set(_SET_MIGRATIONS, deployment_id, {"migrations": outcome.as_dict()})

    def record_github_deployment(self, deployment_id: int, github_deployment_id: int) -> None:
        self._set(_SET_GITHUB_DEPLOYMENT, deployment_id,
                  {"github_deployment_id": github_deployment_id})

    def record_error(self, deployment_id: int, error: str) -> None:
        self._set(_SET_ERROR, deployment_id, {"error": error})

    def record_previous_version(self, deployment_id: int, version: str | None) -> None:
        self._set(_SET_PREVIOUS_VERSION, deployment_id, {"previous_version": version})

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

    # -- approvals (DeploymentDecisions) -------------------------------------------------
    def add_decision(self, deployment_id: int, user_id: str, *, approve: bool,
                     at: datetime, reason: str | None = None) -> bool:
        values = {"deployment_id": deployment_id, "user_id": user_id, "approve": approve,
                  "at": at, "reason": reason}
        stmt = insert_or_ignore(self._s, DecisionRow, values)
        return self._s.execute(stmt.returning(DecisionRow.id)).first() is not None

    def count_approvals(self, deployment_id: int) -> int:
        return int(self._s.scalar(
            select(func.count()).select_from(DecisionRow).where(
                DecisionRow.deployment_id == deployment_id, DecisionRow.approve.is_(True))
        ) or 0)

    def require_approvals(self, deployment_id: int, required: int) -> None:
        self._set(_SET_APPROVALS_REQUIRED, deployment_id, {"approvals_required": required})

    def record_downgrade(self, deployment_id: int, downgrade_from: str) -> None:
        self._set(_SET_DOWNGRADE, deployment_id, {"downgrade_from": downgrade_from})

    # -- the window's reminder (DeploymentSchedules) -------------------------------------
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

    def unmark_prompted(self, deployment_id: int) -> None:
        self._set(_SET_PROMPTED, deployment_id, {"prompted_at": None})

    def reschedule(self, deployment_id: int, *, not_before: datetime | None,
                   prompt_again: bool = False) -> None:
        if prompt_again:
            self._set(_SET_NOT_BEFORE_UNPROMPTED, deployment_id,
                      {"not_before": not_before, "prompted_at": None})
        else:
            self._set(_SET_NOT_BEFORE, deployment_id, {"not_before": not_before})

    # -- the runner's lease (DeploymentLeases) -------------------------------------------
    def claim(self, deployment_id: int, *, owner: str, at: datetime, until: datetime) -> bool:
        res = self._s.execute(
            update(_D)
            .where(_C.id == deployment_id, CLAIMABLE,
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

    def release_lease(self, deployment_id: int) -> None:
        self._set(_SET_LEASE, deployment_id, {"lease_owner": None, "lease_until": None})

    def claimable(self, at: datetime) -> Sequence[int]:
        return self._s.scalars(
            select(DeploymentRow.id).where(
                CLAIMABLE,
                or_(DeploymentRow.lease_until.is_(None), DeploymentRow.lease_until < at),
            ).order_by(DeploymentRow.id)
        ).all()

    def next_claimable(self, at: datetime) -> datetime | None:
        unleased, first = self._s.execute(
            select(func.count(DeploymentRow.id).filter(DeploymentRow.lease_until.is_(None)),
                   func.min(DeploymentRow.lease_until)).where(CLAIMABLE)
        ).one()
        if unleased or (first is not None and first < at):
            return at
        return first
