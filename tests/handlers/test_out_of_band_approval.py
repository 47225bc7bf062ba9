"""An approval card's "Running now" after a change made outside deploybot (someone's
`kubectl set image` in production while the card waits), on the fake Kubernetes API
server, over signed Slack HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s

from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, RunningBot, base_config
from tests.handlers.kube import SIDECAR
from tests.handlers.spine import blocks_text, request, run_to_end
from tests.handlers.test_kubernetes_rollback import IMAGE


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    fake_k8s.add_deployment("production", "api", containers=[
        {"name": "api", "image": IMAGE.format(version="v1.2.2")}, dict(SIDECAR)], replicas=3)
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}},
    )


def set_production_image(kubectl: k8s.AppsV1Api, fake: FakeKubernetes, version: str) -> None:
    """`kubectl set image` in production, then `kubectl rollout status` (its rules: see
    tests/handlers/test_kubernetes_rollback.set_image)."""
    image = IMAGE.format(version=version)
    patched = kubectl.patch_namespaced_deployment("api", "production", {"spec": {"template": {
        "spec": {"containers": [{"name": "api", "image": image}]}}}})

    def rolled_out(f: FakeKubernetes) -> bool:
        dep = f.deployment("production", "api")
        st = dep.get("status") or {}
        return (dep["spec"]["template"]["spec"]["containers"][0]["image"] == image
                and int(st.get("observedGeneration") or 0) >= patched.metadata.generation
                and st.get("updatedReplicas", 0) == 3 == st.get("replicas", 0)
                and st.get("availableReplicas", 0) >= 3)

    fake.wait_until(rolled_out)


def running_now(bot: RunningBot, deployment_id: int) -> str:
    (line,) = [ln for ln in blocks_text(bot.card(deployment_id)).splitlines()
               if "*Running now:*" in ln]
    return line


def test_an_approval_that_reads_another_live_version_updates_the_cards_running_now(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    """The card said v1.2.2 runs; someone put v1.2.6 there. The approval reads v1.2.6 (and
    asks to confirm the downgrade): the card then says v1.2.6 runs, not the stale v1.2.2."""
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    two = request(bot, "production v1.2.3")
    assert running_now(bot, two).endswith("*Running now:* `v1.2.2`")
    set_production_image(kubectl, fake_k8s, "v1.2.6")
    reply = bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE, value=str(two),
                                message=bot.card(two))
    (post,) = bot.requester.response_posts(reply)
    assert "`v1.2.3` is older than `v1.2.6`" in str(post.args["text"]), post.args["text"]
    bot.slack.wait_for("chat.update", predicate=lambda c: "*Running now:* `v1.2.6`" in
                       json.dumps(c.args, ensure_ascii=False))
    assert running_now(bot, two).endswith("*Running now:* `v1.2.6`"), running_now(bot, two)
    assert bot.deployment(two).previous_version == "v1.2.6"
