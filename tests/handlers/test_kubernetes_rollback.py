"""End to end on a fake Kubernetes API server: `/rollback` right after install, when
deploybot has no history yet, goes back to what the cluster's ReplicaSets remember."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s

from bot.devtools.fake_k8s import FakeKubernetes
from bot.domain.deployment import Kind
from bot.domain.states import State
from bot.presentation import ids
from tests.conftest import REQUESTER, RunningBot, base_config
from tests.handlers.kube import images
from tests.handlers.spine import blocks_text, deployment_ids, wait_dm

IMAGE = "ghcr.io/acme/api:{version}"


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


def set_image(kubectl: k8s.AppsV1Api, fake: FakeKubernetes, version: str) -> None:
    """`kubectl set image deployment/api api=…` and wait for the rollout."""
    image = IMAGE.format(version=version)
    kubectl.patch_namespaced_deployment(
        "api", "staging", {"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": image}]}}}},
        _content_type="application/strategic-merge-patch+json")
    fake.wait_until(lambda f: images(f)["api"] == image and (
        f.deployment("staging", "api").get("status") or {}).get("updatedReplicas") == 3)


def test_with_no_history_the_rollback_goes_to_the_clusters_previous_revision(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    set_image(kubectl, fake_k8s, "v1.2.3")  # deployed before deploybot was installed
    reply = bot.requester.command("/rollback", "staging", user_id=REQUESTER)
    (post,) = bot.requester.response_posts(reply)
    text = blocks_text(dict(post.args))
    assert "back from `v1.2.3` to `v1.2.2`?" in text, text

    (button,) = next(b for b in post.args["blocks"]
                     if b.get("block_id") == ids.ROLLBACK_BLOCK)["elements"]
    click = bot.requester.click(user_id=REQUESTER, action_id=ids.ROLLBACK_CONFIRM,
                                value=button["value"], channel_id="C0DEPLOYS")
    bot.requester.response_posts(click)
    wait_dm(bot, REQUESTER)
    assert bot.container.runner.wait_idle()
    (rid,) = deployment_ids(bot)
    rb = bot.deployment(rid)
    assert (rb.kind, rb.version, rb.previous_version, rb.rollback_of, rb.state) == (
        Kind.ROLLBACK, "v1.2.2", "v1.2.3", None, State.SUCCEEDED)
    assert images(fake_k8s)["api"] == IMAGE.format(version="v1.2.2")
