"""End to end: `/deploy` over Slack's HTTP protocol, rolled out on a (fake) Kubernetes API
server through the real client, with KUBECONFIG from the environment as in production."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import REQUESTER, RunningBot, base_config
from tests.handlers.kube import SIDECAR, images
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    deployment_ids,
    ephemeral_text,
    run_to_end,
    thread_replies,
    updates_of,
)


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    """The shared `bot` fixture builds its container from this (and KUBECONFIG)."""
    return base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


def test_deploy_to_staging_patches_the_deployment_shows_progress_and_announces_it_live(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    reply = bot.deploy("staging v1.2.3")
    assert "Deployment #1 started" in ephemeral_text(bot, reply)

    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert images(fake_k8s) == {"api": "ghcr.io/acme/api:v1.2.3", "envoy": SIDECAR["image"]}
    annotations = fake_k8s.deployment("staging", "api")["metadata"]["annotations"]
    assert annotations["kubernetes.io/change-cause"] == f"deploybot #1: api v1.2.3 by {REQUESTER}"
    assert annotations["deploybot.io/deployment-id"] == "1"

    d = bot.deployment(1)
    assert d.previous_version == "v1.2.2"  # read from the Deployment's image
    # The thread's card was edited in place with the rollout's progress.
    texts = [blocks_text(c.args) for c in updates_of(bot, d.message_ts or "")]
    assert any("pods updated" in t for t in texts), texts
    assert any("3/3 pods updated, 3 available" in t for t in texts), texts
    (ann,) = announcements(bot)
    assert "api `v1.2.3` is live in staging" in blocks_text(ann)
    record = thread_replies(bot, d.message_ts or "")[0]
    assert "v1.2.3 is live" in blocks_text(record)
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.verifying",
                                     "deploy.succeeded"]


def test_deploying_the_running_version_is_refused_up_front_as_nothing_to_deploy(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    """The version the cluster runs (read now, not deploybot's record) is refused before any
    card or approval: there is nothing to deploy; restarting its pods is kubectl's."""
    generation = fake_k8s.deployment("staging", "api")["metadata"]["generation"]

    answer = ephemeral_text(bot, bot.deploy("staging v1.2.2"))

    assert answer.startswith("⚠️ `v1.2.2` already runs in staging (since "), answer
    assert ", read from the cluster): nothing to deploy." in answer, answer
    assert "`kubectl rollout restart`" in answer, answer  # deploybot has no restart command
    assert deployment_ids(bot) == []
    assert bot.slack.calls("chat.postMessage") == []  # no card, no approval asked
    assert fake_k8s.deployment("staging", "api")["metadata"]["generation"] == generation
    assert fake_k8s.recorded(method="PATCH") == []


def test_the_version_deploybot_put_there_is_refused_too(bot: RunningBot) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    assert run_to_end(bot, 1) is State.SUCCEEDED

    answer = ephemeral_text(bot, bot.deploy("api staging v1.2.3"))

    # Since when: the cluster's ReplicaSet (the fake API server's own clock), or deploybot's
    # finish when later (bot.domain.live.reconcile): the time itself is tested with the
    # simulated executor (tests/handlers/test_github_webhook.py).
    assert answer.startswith("⚠️ `v1.2.3` already runs in staging (since "), answer
    assert ", read from the cluster): nothing to deploy." in answer, answer
    assert deployment_ids(bot) == [1]


def test_when_the_cluster_cannot_be_read_the_request_goes_on(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    """Never refused on deploybot's own record: the cluster could not say what runs, so the
    deploy is requested as before (the runner reads it again when it starts)."""
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    assert run_to_end(bot, 1) is State.SUCCEEDED
    # 503 to the read and to its one retry (bot.backends.kubernetes.api: `observe`)
    fake_k8s.fail_requests("GET", "/deployments/api", status=503, times=2)

    answer = ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert "Deployment #2 started" in answer, answer
    assert deployment_ids(bot) == [1, 2]


def test_a_failed_rollout_on_kubernetes_ends_failed_with_the_cause_in_the_thread(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.fail_next_rollout("staging", "api", "image_pull")
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert run_to_end(bot, 1) is State.FAILED
    d = bot.deployment(1)
    assert d.error is not None and "cannot pull the image ghcr.io/acme/api:v1.2.3" in d.error
    (ann,) = announcements(bot)
    assert "Cause: the new pods cannot pull the image" in blocks_text(ann)
