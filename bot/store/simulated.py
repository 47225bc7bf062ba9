"""The simulated cluster's state (table `simulated_workloads`): the SimulatedWorkloads port.

`executor: simulated` keeps what it runs in the database, so that a restart (a second
`deploybot shell` on the same database, a redeployed bot) runs what the first one rolled
out, not `simulated.initial_version` again. One row per version that went live on a
workload (environment, service, instance; instance NULL: the main one); the newest row is
what runs. Rows are only added (a rollout) or deleted (a per-PR instance removed), so
concurrent rollouts of different workloads never conflict.

`SimulatedWorkloadRows` answers inside a caller's transaction (it is `Repos.simulated`);
`SqlSimulatedWorkloads` is the port itself: each call its own short transaction, with the
store's mapping of an unavailable database to RetryableError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from bot.ports import SimulatedWorkload
from bot.store.models import SimulatedWorkloadRow

if TYPE_CHECKING:
    from bot.store.db import Database

_Row = SimulatedWorkloadRow


def _on(environment: str, service: str, instance: str | None) -> tuple[Any, ...]:
    where = _Row.instance.is_(None) if instance is None else _Row.instance == instance
    return (_Row.environment == environment, _Row.service == service, where)


_T = cast(Table, _Row.__table__)
#: What a workload runs now, on the main instance (True) or a per-PR one (:instance); built
#: once: the live read of every /deploy asks it (a Core statement on the table: rows, not ORM
#: objects, at a fraction of the ORM's cost).
_NOW = {main: select(_T).where(
    _T.c.environment == bindparam("environment"), _T.c.service == bindparam("service"),
    _T.c.instance.is_(None) if main else _T.c.instance == bindparam("instance"),
).order_by(_T.c.id.desc()).limit(1) for main in (True, False)}


class SimulatedWorkloadRows:
    """The workloads' rows, inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, environment: str, service: str,
            instance: str | None = None) -> SimulatedWorkload | None:
        row = self._s.execute(_NOW[instance is None], {
            "environment": environment, "service": service, "instance": instance}).first()
        if row is None:
            return None
        return SimulatedWorkload(version=row.version, since=row.went_live_at,
                                 deployment_id=row.deployment_id,
                                 requested_by=row.requested_by)

    def put(self, environment: str, service: str, workload: SimulatedWorkload, *,
            instance: str | None = None) -> None:
        self._s.add(_Row(environment=environment, service=service, instance=instance,
                         version=workload.version, went_live_at=workload.since,
                         deployment_id=workload.deployment_id,
                         requested_by=(workload.requested_by[:64]
                                       if workload.requested_by else None)))
        self._s.flush()

    def history(self, environment: str, service: str, instance: str | None = None, *,
                limit: int = 100) -> list[str]:
        return list(self._s.scalars(
            select(_Row.version).where(*_on(environment, service, instance))
            .order_by(_Row.id.desc()).limit(limit)))

    def remove(self, environment: str, service: str, instance: str) -> bool:
        result = self._s.execute(delete(_Row).where(*_on(environment, service, instance)))
        return bool(getattr(result, "rowcount", 0))


class SqlSimulatedWorkloads:
    """Implements SimulatedWorkloads over the store: every call one transaction."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def get(self, environment: str, service: str,
            instance: str | None = None) -> SimulatedWorkload | None:
        with self._database.transaction() as r:
            return r.simulated.get(environment, service, instance)

    def put(self, environment: str, service: str, workload: SimulatedWorkload, *,
            instance: str | None = None) -> None:
        with self._database.transaction() as r:
            r.simulated.put(environment, service, workload, instance=instance)

    def history(self, environment: str, service: str, instance: str | None = None, *,
                limit: int = 100) -> list[str]:
        with self._database.transaction() as r:
            return r.simulated.history(environment, service, instance, limit=limit)

    def remove(self, environment: str, service: str, instance: str) -> bool:
        with self._database.transaction() as r:
            return r.simulated.remove(environment, service, instance)
