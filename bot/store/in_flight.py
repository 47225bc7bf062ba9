"""One deployment in flight per service and environment, as the database enforces it.

The partial unique index `uq_deployments_one_active` (models.DeploymentRow, schema revision 0006)
refuses a second queued/running/verifying row for an environment and service on its main
instance; `uq_deployments_one_active_instance` (0010) does the same per per-PR instance.
A write that may put a row in flight (an insert in such a state, a transition into QUEUED)
runs inside a SAVEPOINT here, so the index refusing it rolls back that write alone: the
caller's transaction goes on, and gets `DeploymentBusy` naming the deployment in the way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.busy import DeploymentBusy
from bot.domain.deployment import Deployment
from bot.domain.states import State, sources_for
from bot.store.models import DeploymentRow

INDEX = "uq_deployments_one_active"  # also the start of the per-instance index's name
#: How SQLite names the index's columns when it refuses a row (it does not name the index;
#: the per-instance index's columns start the same).
_SQLITE_COLUMNS = "deployments.environment, deployments.service"


def enters_flight(target: State) -> bool:
    """Whether moving to `target` may put a deployment in flight that was not (the one
    transition the index can refuse: into QUEUED from waiting or approval)."""
    return target.active and not all(s.active for s in sources_for(target))


def refused_by_index(e: IntegrityError) -> bool:
    text = str(e.orig)
    return INDEX in text or _SQLITE_COLUMNS in text


@contextmanager
def one_in_flight(session: Session, where: tuple[str, str, str | None] | int,
                  active_for: Callable[[str, str, str | None], Deployment | None],
                  *, guard: bool = True) -> Iterator[None]:
    """Run the block in a SAVEPOINT (when `guard`); the index refusing it raises
    DeploymentBusy. `where` is (environment, service, instance), or the id of the
    deployment moved."""
    if not guard:
        yield
        return
    try:
        with session.begin_nested():
            yield
    except IntegrityError as e:
        if not refused_by_index(e):
            raise
        if isinstance(where, int):
            row = session.execute(select(DeploymentRow.environment, DeploymentRow.service,
                                         DeploymentRow.instance)
                                  .where(DeploymentRow.id == where)).one()
            environment, service, instance = row[0], row[1], row[2]
        else:
            environment, service, instance = where
        raise DeploymentBusy(active_for(environment, service, instance),
                             environment=environment, service=service) from e
