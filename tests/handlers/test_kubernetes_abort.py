"""Abort on a fake Kubernetes API server: the rollout is stopped being followed and the
Deployment is rolled back to the image it replaced, through the real client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.kubernetes import Timing
from bot.clock import ManualClock
from bot.config import AppConfig
from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_slack import FakeSlack
from tests.conftest import APPROVER, RunningBot, base_config, running_version, serve_bot
from tests.handlers.kube import SIDECAR, images
from tests.handlers.spine import announcements, audit_actions, ephemeral_text, run_to_end

IMAGE = "ghcr.io/acme/api:{version}"


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    """A slow controller (a pass every 0.25 s): the rollout takes seconds, time to click."""
    with FakeKubernetes(tick=0.25) as fake:
        fake.add_deployment("staging", "api", containers=[
            {"name": "api", "image": IMAGE.format(version="v1.2.2")}, dict(SIDECAR)],
            replicas=3)
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> Iterator[RunningBot]:
    # Progress (where the runner sees an abort) at least every half second.
    with serve_bot(config, database_url, fake_slack, clock,
                   kubernetes_timing=Timing(keepalive_every=0.5, resync_every=0.5)) as running:
        yield running


def test_abort_rolls_the_deployment_back_to_the_image_it_replaced(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    deadline = time.monotonic() + 10
    while IMAGE.format(version="v1.2.3") != images(fake_k8s)["api"] \
            or bot.deployment(1).state is not State.RUNNING:
        assert time.monotonic() < deadline, "the rollout did not start"
        time.sleep(0.02)

    reply = bot.requester.click(user_id=APPROVER, action_id=ids.ABORT, value="1",
                                message=bot.card(1))
    assert "You aborted deployment #1" in ephemeral_text(bot, reply)

    assert run_to_end(bot, 1) is State.ROLLED_BACK
    assert bot.deployment(1).error == f"aborted by <@{APPROVER}>; rolled back to v1.2.2"
    assert images(fake_k8s) == {"api": IMAGE.format(version="v1.2.2"), "envoy": SIDECAR["image"]}
    dep = fake_k8s.deployment("staging", "api")
    assert dep["metadata"]["annotations"]["kubernetes.io/change-cause"] == \
        f"deploybot #1: api v1.2.2 by {APPROVER} (abort)"
    status = dep.get("status") or {}
    assert (status.get("updatedReplicas"), status.get("availableReplicas")) == (3, 3)
    assert running_version(bot.container.cluster, "staging", "api") == "v1.2.2"
    assert "deploy.aborted" in audit_actions(bot, 1)
    assert len(announcements(bot)) == 1
