"""A deployment that ended, for tests that need a history: requested, then moved through the
legal transitions (bot.domain.states) to its end, as the services move it — the store has no
write that sets a final state or its columns any other way."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Unpack

from bot.domain.deployment import Deployment, NewDeployment
from bot.domain.states import State
from bot.ports import DeploymentChanges, Repositories

#: Where a request to end in a state starts, and the states it goes through to get there.
PATHS: dict[State, tuple[State, tuple[State, ...]]] = {
    State.SUCCEEDED: (State.QUEUED, (State.RUNNING, State.VERIFYING, State.SUCCEEDED)),
    State.FAILED: (State.QUEUED, (State.RUNNING, State.FAILED)),
    State.CANCELLED: (State.QUEUED, (State.CANCELLED,)),
    State.EXPIRED: (State.AWAITING_APPROVAL, (State.EXPIRED,)),
    State.REJECTED: (State.AWAITING_APPROVAL, (State.REJECTED,)),
}


def ended(r: Repositories, new: NewDeployment, *, at: datetime,
          **changes: Unpack[DeploymentChanges]) -> Deployment:
    """`new` added and moved to its `state` at `at`, the last move recording `changes`."""
    start, path = PATHS[new.state]
    d = r.deployments.add(replace(new, state=start))
    for i, state in enumerate(path):
        last = i == len(path) - 1
        assert r.deployments.transition(d.id, state, at=at, **(changes if last else {}))
    got = r.deployments.get(d.id)
    assert got is not None
    return got
