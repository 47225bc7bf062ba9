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
from pathlib import Path

import pytest

from bot.backends.kubernetes import Timing
from bot.clock import ManualClock
from bot.config import parse_config
from bot.container import Container, build_container
from bot.domain.deployment import NewDeployment
from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_slack import FakeSlack
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
        # VERIFYING, and each parked at its watch's wait (its bake window's end computed)
        return (_states(container, ids).get(State.VERIFYING, 0) == N
                and container.runner.parked == N)

    _until(all_watching, "all 200 in their watch at once")
    # The runner's threads: its workers and the lease heartbeat, not one per deployment.
    assert peak[0] - threads_before <= WORKERS + 1
    assert sum(1 for t in threading.enumerate() if t.name.startswith("deploy-")) == WORKERS

    clock.advance(BAKE + timedelta(seconds=1))  # the bake window ends for all of them
    assert container.runner.wait_idle(180), _states(container, ids)
    assert _states(container, ids) == {State.SUCCEEDED: N}
    assert _threads() - threads_before <= WORKERS + 1


K8S = 30
K8S_WORKERS = 2


def test_thirty_kubernetes_rollouts_and_watches_at_once_on_two_threads(
        database_url: str, fake_slack: FakeSlack, clock: ManualClock, tmp_path: Path) -> None:
    """The same on the fake Kubernetes API: each deployment patches its Deployment, follows
    the rollout by reading it (no watch stream in a fiber) and watches the new pods, 15
    deployments to a thread."""
    names = [f"svc{i:02d}" for i in range(K8S)]
    with FakeKubernetes(tick=0.02) as fake:
        for name in names:
            fake.add_deployment("staging", name, containers=[
                {"name": name, "image": f"ghcr.io/acme/{name}:v1.2.2"}], replicas=2)
        kubeconfig = fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
        config = parse_config(base_config(
            services={n: {"executor": "kubernetes",
                          "kubernetes": {"image": f"ghcr.io/acme/{n}:{{version}}"}}
                      for n in names},
            kubernetes={"contexts": {"staging": "fake"}},
            environments={"staging": {"verify": {"bake": "1m"}}},
            runner={"workers": K8S_WORKERS, "lease": "60s"}), source="test config")
        c = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                            slack_api_url=fake_slack.base_url, clock=clock, sleep=time.sleep,
                            kubeconfig=kubeconfig, verify_poll=timedelta(seconds=0.5),
                            kubernetes_timing=Timing(resync_every=0.5))
        try:
            at = clock.now()
            with c.database.transaction() as r:
                ids = [r.deployments.add(NewDeployment(
                    service=n, environment="staging", version="v1.3.0",
                    previous_version="v1.2.2", state=State.QUEUED, requested_by=REQUESTER,
                    requested_at=at, approvals_required=0, expires_at=None)).id
                    for n in names]
            threads_before = _threads()
            for i in ids:
                c.runner.submit(i)
            _until(lambda: _states(c, ids).get(State.VERIFYING, 0) == K8S
                   and c.runner.parked == K8S, "all 30 rolled out and in their watch at once")
            assert _threads() - threads_before <= K8S_WORKERS + 1
            assert all(fake.deployment("staging", n)["spec"]["template"]["spec"][
                "containers"][0]["image"] == f"ghcr.io/acme/{n}:v1.3.0" for n in names)
            assert not [r for r in fake.recorded("GET", "/deployments") if r.is_watch]

            clock.advance(BAKE + timedelta(seconds=1))
            assert c.runner.wait_idle(180), _states(c, ids)
            assert _states(c, ids) == {State.SUCCEEDED: K8S}
        finally:
            clock.advance(timedelta(days=1))
            c.close()
