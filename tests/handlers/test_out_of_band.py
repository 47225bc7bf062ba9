"""Changes made outside deploybot on the fake Kubernetes API server (as kubectl makes them:
through the API objects), then every screen that says "running", "previous" or "since"."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s

from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    blocks_text,
    deployment_ids,
    request,
    run_to_end,
)
from tests.handlers.test_kubernetes_live import drift_events, staging_line
from tests.handlers.test_kubernetes_rollback import IMAGE, set_image


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes", "kubernetes": {"image": IMAGE}}},
        kubernetes={"contexts": {"staging": "fake"}},
        environments={"staging": {}},
    )


def scale(kubectl: k8s.AppsV1Api, replicas: int) -> None:
    """`kubectl scale deployment/api --replicas=N`: a patch of the scale subresource's
    spec.replicas; here the Deployment's own spec.replicas (what the subresource writes)."""
    kubectl.patch_namespaced_deployment("api", "staging", {"spec": {"replicas": replicas}})


def test_a_deployment_scaled_to_zero_runs_nothing(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    """`kubectl scale --replicas=0`: the template still names v1.2.3 but no pod runs it, so
    status says nothing runs (and why), no drift is announced, `/deploy` of that version is
    refused for what it is (no deploy of the same image scales it up, not "already runs")
    and `/rollback` has nothing to go back from."""
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    scale(kubectl, 0)
    fake_k8s.wait_until(lambda f: not f.pods("staging"))
    line = staging_line(bot)
    assert line == ("• `staging` / `api`: nothing running — its Deployment is scaled to 0 "
                    "replicas (its template: `v1.2.3`)"), line
    assert drift_events(bot) == 0
    reply = bot.requester.command("/rollback", "staging", user_id=APPROVER)
    (post,) = bot.requester.response_posts(reply)
    text = str(post.args["text"])
    assert "Nothing runs of api in staging" in text and "scaled to 0" in text, text
    assert "kubectl scale" in text, text
    reply = bot.deploy("staging v1.2.3")
    (post,) = bot.requester.response_posts(reply)
    text = str(post.args["text"])
    assert "Nothing runs of api in staging" in text and "already runs" not in text, text
    assert "scaled to 0 replicas" in text, text
    # Another version would change the template and run nothing either: never "is live".
    reply = bot.deploy("staging v1.2.4")
    (post,) = bot.requester.response_posts(reply)
    text = str(post.args["text"])
    assert "Nothing runs of api in staging" in text and "Scale it up" in text, text
    assert deployment_ids(bot) == [1]


def test_a_deleted_deployment_runs_nothing(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    """`kubectl delete deployment api`: status says nothing runs (not deploybot's v1.2.3),
    and `/rollback` says why there is nothing to go back from and what would help (deploybot
    updates a Deployment; it does not create one)."""
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    kubectl.delete_namespaced_deployment("api", "staging")
    assert staging_line(bot) == "• `staging` / `api`: nothing running"
    reply = bot.requester.command("/rollback", "staging", user_id=APPROVER)
    (post,) = bot.requester.response_posts(reply)
    text = str(post.args["text"])
    assert "Nothing runs of api in staging (it has no Deployment there)" in text, text
    assert "does not create one" in text, text
    assert drift_events(bot) == 0


def drift_posts(bot: RunningBot) -> list[str]:
    return [t for t in (blocks_text(a) for a in announcements(bot))
            if "changed outside deploybot" in t]


def test_drift_is_announced_once_per_episode_and_ends_when_deploybot_deploys_again(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    """`kubectl set image` v1.2.6 is announced once however often it is read; deploybot's
    v1.2.7 ends it (no drift shown); someone putting v1.2.6 back after that is a new change
    outside deploybot, announced and audited again (not swallowed by the first's claim)."""
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    set_image(kubectl, fake_k8s, "v1.2.6")
    staging_line(bot)
    assert "changed outside deploybot" in staging_line(bot)
    assert len(drift_posts(bot)) == 1 and drift_events(bot) == 1

    request(bot, "staging v1.2.7")
    assert run_to_end(bot, 2) is State.SUCCEEDED
    assert "changed outside deploybot" not in staging_line(bot)
    assert len(drift_posts(bot)) == 1

    set_image(kubectl, fake_k8s, "v1.2.6")
    line = staging_line(bot)
    assert "changed outside deploybot" in line and "last deployed `v1.2.7`" in line, line
    staging_line(bot)
    posts = drift_posts(bot)
    assert len(posts) == 2 and drift_events(bot) == 2, posts
    assert "runs `v1.2.6`" in posts[-1] and "deployment #2" in posts[-1], posts[-1]
    # What the change affects, said as the code does it: the promotion gate asks deploybot's
    # record of verified deploys (succeeded_there), not what runs.
    assert ("Rollbacks and the downgrade check now work from `v1.2.6`; the promotion gate "
            "still counts only what deploybot deployed and verified." in posts[-1]), posts[-1]


def test_rollback_offers_what_ran_just_before_as_the_clusters_revisions_say(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    """deploybot put v1.2.3 there; then someone set v1.2.5, then v1.2.6. What ran before
    v1.2.6 is v1.2.5 (the Deployment's ReplicaSet revisions), not deploybot's last record
    (v1.2.3): the cluster's order wins, deploybot's history comes after it."""
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    set_image(kubectl, fake_k8s, "v1.2.5")
    set_image(kubectl, fake_k8s, "v1.2.6")
    reply = bot.requester.command("/rollback", "staging", user_id=APPROVER)
    (post,) = bot.requester.response_posts(reply)
    text = blocks_text(dict(post.args))
    assert "back from `v1.2.6` to `v1.2.5`?" in text, text
    assert "`v1.2.3`" in text and "`v1.2.2`" in text, text  # still offered, after it


def test_a_rollout_someone_else_started_and_left_stuck_is_drift(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    """Someone's `kubectl set image` v1.2.9-bad stops half-way (one new pod, then
    ProgressDeadlineExceeded): status says how far it got and that it was changed outside
    deploybot, and it is announced once — as applied and stuck, never as running since."""
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    fake_k8s.fail_next_rollout("staging", "api", "deadline", healthy_first=1)
    kubectl.patch_namespaced_deployment("api", "staging", {"spec": {"template": {"spec": {
        "containers": [{"name": "api", "image": IMAGE.format(version="v1.2.9-bad")}]}}}})
    fake_k8s.wait_until(stuck)
    line = staging_line(bot)
    assert "`v1.2.9-bad` applied" in line and "rollout stuck" in line, line
    assert "`v1.2.3` still serves (2 old pods)" in line, line
    assert "⚠️ changed outside deploybot; deploybot last deployed `v1.2.3`" in line, line
    staging_line(bot)
    (post,) = drift_posts(bot)
    assert "`v1.2.9-bad` applied" in post and "1/3 new pods available" in post, post
    assert "runs `v1.2.9-bad`" not in post and "since" not in post, post
    assert drift_events(bot) == 1


def stuck(f: FakeKubernetes) -> bool:
    """The Deployment's Progressing condition says ProgressDeadlineExceeded."""
    conds = (f.deployment("staging", "api").get("status") or {}).get("conditions") or []
    return any(c.get("reason") == "ProgressDeadlineExceeded" for c in conds)
