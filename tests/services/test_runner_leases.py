"""The runner's lease (bot/services/runner/leases.py): handed back on request (SIGTERM), resumed by
another runner at once; and given up by a runner that finds another one holds it now.

The whole bot runs in process (the `bot` fixture, a simulated rollout of a few seconds);
"another process" is a second container on the same database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from bot.container import Container, build_container
from bot.domain.states import State
from devtools.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, RunningBot, base_config
from tests.handlers.spine import audit_actions, request

LEASE = timedelta(seconds=3)


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(simulated={"rollout_seconds": 3, "initial_version": "v1.2.2"},
                       runner={"lease": "3s", "poll_every": "1s"})


@pytest.fixture
def other(bot: RunningBot, database_url: str, fake_slack: FakeSlack,
          clock: ManualClock) -> Iterator[Container]:
    container = build_container(bot.container.config, database_url=database_url,
                                slack_token=BOT_TOKEN, slack_api_url=fake_slack.base_url,
                                clock=clock, progress_every=timedelta(0))
    try:
        yield container
    finally:
        container.close()


def _running(bot: RunningBot, deployment_id: int) -> None:
    deadline = time.monotonic() + 10
    while bot.deployment(deployment_id).progress is None \
            or "pods updated" not in str(bot.deployment(deployment_id).progress):
        assert time.monotonic() < deadline, bot.deployment(deployment_id)
        time.sleep(0.05)


def _announced(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls("chat.postMessage") if "is live" in str(c.args.get("blocks"))]


def test_a_handed_back_deployment_is_resumed_at_once(bot: RunningBot, other: Container,
                                                     fake_slack: FakeSlack) -> None:
    deployment_id = request(bot, "staging v1.3.0")
    _running(bot, deployment_id)

    assert bot.container.runner.hand_back(timeout=5) == [deployment_id]
    assert bot.container.runner.wait_idle(1)
    d = bot.deployment(deployment_id)
    assert d.state is State.RUNNING  # nothing moved: only the lease was given up
    assert "deploy.handed_back" in audit_actions(bot, deployment_id)
    bot.container.runner.submit(deployment_id)  # a runner that handed back takes no more
    assert bot.container.runner.wait_idle(1)

    # The lease has not run out on the clock (it did not move): released, all the same.
    assert other.runner.resume() == 1
    assert other.runner.wait_idle(20)
    assert bot.deployment(deployment_id).state is State.SUCCEEDED
    actions = audit_actions(bot, deployment_id)
    assert actions.index("deploy.handed_back") < actions.index("deploy.resumed")
    assert len(_announced(fake_slack)) == 1


def test_a_runner_that_lost_its_lease_stops_following(bot: RunningBot,
                                                      fake_slack: FakeSlack,
                                                      clock: ManualClock) -> None:
    """This process stalled past its lease and another one claimed the deployment: the
    heartbeat's renewal fails, and this runner stops at its next progress report without
    touching the deployment (the other one finishes it)."""
    deployment_id = request(bot, "staging v1.3.0")
    _running(bot, deployment_id)
    with bot.container.database.engine.begin() as conn:  # another process's claim
        conn.execute(text("UPDATE deployments SET lease_owner = 'elsewhere:1:abc', "
                          "lease_until = :u WHERE id = :i"),
                     {"u": clock.now() + timedelta(hours=1), "i": deployment_id})

    assert bot.container.runner.wait_idle(10)
    d = bot.deployment(deployment_id)
    assert d.state is State.RUNNING and d.finished_at is None
    assert "deploy.succeeded" not in audit_actions(bot, deployment_id)
    assert _announced(fake_slack) == []
    with bot.container.database.engine.connect() as conn:
        owner = conn.execute(text("SELECT lease_owner FROM deployments WHERE id = :i"),
                             {"i": deployment_id}).scalar_one()
    assert owner == "elsewhere:1:abc"


class TestMoreDeploymentsThanWorkers:
    """Issue 13's reproduction: work waiting for a worker is never marked lost. With one
    worker, the second deployment waits in the pool while the first rolls out; the lease
    heartbeat must not try to renew (and fail, and give up) a lease its waiting deployment
    does not hold yet."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config(
            services={"api": {"executor": "simulated"}, "web": {"executor": "simulated"}},
            simulated={"rollout_seconds": 3, "initial_version": "v1.2.2"},
            runner={"lease": "1s", "poll_every": "1s", "workers": 1})

    def test_a_deployment_waiting_for_a_worker_runs_to_its_end_in_one_process(
            self, bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
        first = request(bot, "api staging v1.3.0")
        second = request(bot, "web staging v1.3.0")
        assert bot.container.runner.wait_idle(30)
        assert bot.deployment(first).state is State.SUCCEEDED
        assert bot.deployment(second).state is State.SUCCEEDED, bot.deployment(second)
        assert "another process holds its lease now" not in caplog.text
        assert "deploy.resumed" not in audit_actions(bot, second)  # run once, not taken over
