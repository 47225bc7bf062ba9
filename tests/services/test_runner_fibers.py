"""Waiting is not working (issue 13): the runner follows 200 deployments at once in one
process on `runner.workers` threads, each in its watch, none holding a thread of its own.

The watch's time is a ManualClock that only the test moves: every deployment rolls out
(simulated, at once) and then watches its pods for a bake window that does not end until
the test moves the clock past it, while the watch's looks at the pods wait in real time
(`sleep=time.sleep`, so they park their fibers). So all 200 are in their watch at the same
moment whatever the machine's speed, and no assertion is about how long anything took."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.config import parse_config
from bot.container import Container, build_container
from bot.devtools.fake_slack import FakeSlack
from bot.domain.deployment import NewDeployment
from bot.domain.states import State
from tests.conftest import BOT_TOKEN, REQUESTER, base_config

N = 200
WORKERS = 4
BAKE = timedelta(minutes=1)


def _until(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def container(database_url: str, fake_slack: FakeSlack, clock: ManualClock,
              ) -> Iterator[Container]:
    services = {f"svc{i:03d}": {"executor": "simulated"} for i in range(N)}
    config = parse_config(base_config(
        services=services, environments={"staging": {"verify": {"bake": "1m"}}},
        runner={"workers": WORKERS, "lease": "60s"}), source="test config")
    c = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                        slack_api_url=fake_slack.base_url, clock=clock, sleep=time.sleep,
                        verify_poll=timedelta(seconds=0.2))
    try:
        yield c
    finally:
        clock.advance(timedelta(days=1))  # a watch left open by a failure ends: close waits
        c.close()


def _threads() -> int:
    """This process's threads but the fake Slack server's (one per open connection)."""
    return sum(1 for t in threading.enumerate() if "process_request" not in t.name)


def _states(c: Container, ids: list[int]) -> dict[State, int]:
    counts: dict[State, int] = {}
    with c.database.transaction() as r:
        for i in ids:
            d = r.deployments.get(i)
            assert d is not None
            counts[d.state] = counts.get(d.state, 0) + 1
    return counts


def test_two_hundred_deployments_watch_at_once_on_four_threads(
        container: Container, clock: ManualClock) -> None:
    at = clock.now()
    with container.database.transaction() as r:
        ids = [r.deployments.add(NewDeployment(
            service=f"svc{i:03d}", environment="staging", version="v1.3.0",
            previous_version="v1.2.2", state=State.QUEUED, requested_by=REQUESTER,
            requested_at=at, approvals_required=0, expires_at=None)).id for i in range(N)]
    threads_before = _threads()
    peak = [0]

    for i in ids:  # as approvals hand them to the runner, all at once
        container.runner.submit(i)

    def all_watching() -> bool:
        peak[0] = max(peak[0], _threads())
        return _states(container, ids).get(State.VERIFYING, 0) == N

    _until(all_watching, "all 200 in their watch at once")
    # The runner's threads: its workers and the lease heartbeat, not one per deployment.
    assert peak[0] - threads_before <= WORKERS + 1
    assert sum(1 for t in threading.enumerate() if t.name.startswith("deploy-")) == WORKERS

    clock.advance(BAKE + timedelta(seconds=1))  # the bake window ends for all of them
    assert container.runner.wait_idle(60), _states(container, ids)
    assert _states(container, ids) == {State.SUCCEEDED: N}
    assert _threads() - threads_before <= WORKERS + 1
