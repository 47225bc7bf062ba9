"""End to end on a fake Kubernetes API server: `/rollback` right after install, when
deploybot has no history yet, goes back to what the cluster's ReplicaSets remember."""

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

IMAGE = "ghcr.io/acme/api:{version}"


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


def set_image(kubectl: k8s.AppsV1Api, fake: FakeKubernetes, version: str) -> None:
    """`kubectl set image deployment/api api=…` then `kubectl rollout status`: wait until the
    controller has observed this patch's generation and its rollout is complete.

    The counts alone do not say which template they are about: right after the patch the
    status is still the previous rollout's (3 updated, observedGeneration behind), so a wait
    on them could end before the controller started this rollout, and a
    `fail_next_rollout` that follows would then fail this one instead of the next. Hence
    the rules of `kubectl rollout status` (DeploymentStatusViewer.Status in
    staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go): observedGeneration
    >= generation, then updated == desired, no old replica left, every updated one available.
    """
    image = IMAGE.format(version=version)
    patched = kubectl.patch_namespaced_deployment(
        "api", "staging", {"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": image}]}}}},
        _content_type="application/strategic-merge-patch+json")
    generation = patched.metadata.generation

    def rolled_out(f: FakeKubernetes) -> bool:
        dep = f.deployment("staging", "api")
        st = dep.get("status") or {}  # zero counts are omitted (omitempty)
        want = dep["spec"].get("replicas", 1)
        return (images(f)["api"] == image
                and int(st.get("observedGeneration") or 0) >= generation
                and st.get("updatedReplicas", 0) == want == st.get("replicas", 0)
                and st.get("availableReplicas", 0) >= want)

    fake.wait_until(rolled_out)


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
