"""End to end on a fake Kubernetes API server: a `/rollback` away from a rollout stuck past
its progress deadline is followed to its end, not announced as failed because of the stuck
rollout's ProgressDeadlineExceeded condition, which the Deployment controller keeps through
its first pass after the rollback's patch."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s

from bot.domain.deployment import Kind
from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import REQUESTER, RunningBot, base_config
from tests.handlers.kube import images
from tests.handlers.spine import blocks_text, deployment_ids, wait_dm
from tests.handlers.test_kubernetes_rollback import IMAGE, set_image


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


def progressing(fake: FakeKubernetes) -> dict[str, Any]:
    dep = fake.deployment("staging", "api")
    return next(c for c in dep["status"]["conditions"] if c["type"] == "Progressing")


def test_a_rollback_from_a_rollout_stuck_past_its_deadline_succeeds(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    set_image(kubectl, fake_k8s, "v1.2.3")  # live before deploybot was installed
    fake_k8s.fail_next_rollout("staging", "api", "deadline")
    kubectl.patch_namespaced_deployment(
        "api", "staging", {"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": IMAGE.format(version="v1.2.4-bad")}]}}}},
        _content_type="application/strategic-merge-patch+json")
    fake_k8s.wait_until(lambda f: progressing(f)["reason"] == "ProgressDeadlineExceeded")

    reply = bot.requester.command("/rollback", "staging api v1.2.2", user_id=REQUESTER)
    (post,) = bot.requester.response_posts(reply)
    assert "to `v1.2.2`" in blocks_text(dict(post.args)), blocks_text(dict(post.args))
    (button,) = next(b for b in post.args["blocks"]
                     if b.get("block_id") == ids.ROLLBACK_BLOCK)["elements"]
    click = bot.requester.click(user_id=REQUESTER, action_id=ids.ROLLBACK_CONFIRM,
                                value=button["value"], channel_id="C0DEPLOYS")
    bot.requester.response_posts(click)
    wait_dm(bot, REQUESTER)
    assert bot.container.runner.wait_idle()

    (rid,) = deployment_ids(bot)
    rb = bot.deployment(rid)
    assert (rb.kind, rb.version, rb.state) == (Kind.ROLLBACK, "v1.2.2", State.SUCCEEDED), (
        rb.state, rb.progress)
    assert images(fake_k8s)["api"] == IMAGE.format(version="v1.2.2")
    assert progressing(fake_k8s)["reason"] == "NewReplicaSetAvailable"
