"""What runs where, read from the cluster (`KubernetesCluster.observe`): through the real
client against the fake API server, after deploybot's rollouts, someone else's, a stuck one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client as k8s

from bot.backends.kubernetes import KubeClients, KubernetesCluster
from bot.domain.live import Observed, Progress, Serving
from bot.errors import PermanentError, RetryableError
from bot.ports import RolloutFailed
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import IMAGE, NS, deploy, make_cluster
from tests.conftest import running_version


@pytest.fixture
def kubectl(clients: KubeClients) -> k8s.AppsV1Api:
    """Someone else's client on the same cluster."""
    return k8s.AppsV1Api(clients.get(NS))


def observe(cluster: KubernetesCluster) -> Observed:
    seen = cluster.observe(NS, "api")
    assert seen is not None
    return seen


def replica_set(fake: FakeKubernetes, image: str) -> dict[str, Any]:
    (rs,) = [rs for rs in fake.objects("replicasets", NS)
             if rs["spec"]["template"]["spec"]["containers"][0]["image"] == image]
    return rs


def stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def progressing(fake: FakeKubernetes) -> dict[str, Any]:
    dep = fake.deployment(NS, "api")
    return next(c for c in dep["status"]["conditions"] if c["type"] == "Progressing")


def set_image(kubectl: k8s.AppsV1Api, image: str, *, cause: str | None = None) -> None:
    """`kubectl set image deployment/api api=<image>` (with `--record`: `cause`)."""
    body: dict[str, Any] = {"spec": {"template": {"spec": {"containers": [
        {"name": "api", "image": image}]}}}}
    if cause is not None:
        body["metadata"] = {"annotations": {"kubernetes.io/change-cause": cause}}
    kubectl.patch_namespaced_deployment("api", NS, body,
                                        _content_type="application/strategic-merge-patch+json")


def settled(fake: FakeKubernetes) -> bool:
    dep = fake.deployment(NS, "api")
    return bool(progressing(fake)["reason"] == "NewReplicaSetAvailable"
                and dep["status"].get("observedGeneration") == dep["metadata"]["generation"])


# -- what deploybot put there -----------------------------------------------------------------

def test_after_a_deploybot_rollout_it_names_the_deployment_and_when_its_replica_set_came(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3", deployment_id=7)

    seen = observe(cluster)

    rs = replica_set(fake, IMAGE.format(version="v1.2.3"))
    assert seen == Observed(
        version="v1.2.3", since=stamp(rs["metadata"]["creationTimestamp"]),
        image=IMAGE.format(version="v1.2.3"), settled=True, detail=None, deployment_id=7,
        changed_by="deploybot #7: api v1.2.3 by U0ALICE", replicas=3)
    assert seen.since is not None and seen.since.tzinfo is UTC
    assert running_version(cluster, NS, "api") == "v1.2.3"


def test_after_a_rollback_to_a_reused_replica_set_since_is_when_the_rollback_finished(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3", deployment_id=7)
    deploy(cluster, "v1.2.2", deployment_id=8)  # its ReplicaSet from the first rollout

    seen = observe(cluster)

    rs = replica_set(fake, IMAGE.format(version="v1.2.2"))
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    cond = progressing(fake)
    assert cond["message"] == f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.'
    assert seen.since == stamp(cond["lastUpdateTime"])
    assert seen.since >= stamp(rs["metadata"]["creationTimestamp"])
    assert (seen.version, seen.deployment_id, seen.settled) == ("v1.2.2", 8, True)


def test_while_a_rollback_to_a_reused_replica_set_is_under_way_since_is_unknown(
    fake: FakeKubernetes, cluster: KubernetesCluster, kubectl: k8s.AppsV1Api,
) -> None:
    deploy(cluster, "v1.2.3", deployment_id=7)
    fake.fail_next_rollout(NS, "api", "image_pull")
    set_image(kubectl, IMAGE.format(version="v1.2.2"))
    fake.wait_until(lambda f: f.deployment(NS, "api")["status"].get("updatedReplicas") == 1)

    seen = observe(cluster)

    assert (seen.version, seen.since, seen.settled) == ("v1.2.2", None, False)
    # The reused ReplicaSet's creation is of its first rollout: when this one was applied
    # is not known.
    assert seen.progress == Progress(applied=None, available=0, desired=3,
                                     serving=(Serving("v1.2.3", None, 3),))


# -- what someone else put there ------------------------------------------------------------

def test_after_kubectl_set_image_deploybots_annotations_no_longer_claim_it(
    fake: FakeKubernetes, cluster: KubernetesCluster, kubectl: k8s.AppsV1Api,
) -> None:
    deploy(cluster, "v1.2.3", deployment_id=7)
    set_image(kubectl, IMAGE.format(version="v1.2.9"))  # the annotations stay as they were
    fake.wait_until(settled)

    seen = observe(cluster)

    annotations = fake.deployment(NS, "api")["metadata"]["annotations"]
    assert annotations["deploybot.io/deployment-id"] == "7"  # left behind, about v1.2.3
    rs = replica_set(fake, IMAGE.format(version="v1.2.9"))
    assert seen == Observed(
        version="v1.2.9", since=stamp(rs["metadata"]["creationTimestamp"]),
        image=IMAGE.format(version="v1.2.9"), settled=True, deployment_id=None,
        changed_by=None, replicas=3)


def test_a_change_cause_someone_else_recorded_says_who_changed_it(
    fake: FakeKubernetes, cluster: KubernetesCluster, kubectl: k8s.AppsV1Api,
) -> None:
    deploy(cluster, "v1.2.3", deployment_id=7)
    cause = "kubectl set image deployment/api api=ghcr.io/acme/api:v1.2.9 --record=true"
    set_image(kubectl, IMAGE.format(version="v1.2.9"), cause=cause)
    fake.wait_until(settled)

    seen = observe(cluster)

    assert (seen.version, seen.deployment_id, seen.changed_by) == ("v1.2.9", None, cause)


def test_an_image_outside_the_template_has_no_version_and_says_what_runs(
    fake: FakeKubernetes, cluster: KubernetesCluster, kubectl: k8s.AppsV1Api,
) -> None:
    set_image(kubectl, "registry.local/hotfix/api@sha256:" + "a" * 64)
    fake.wait_until(settled)

    seen = observe(cluster)

    assert seen.version is None
    assert seen.image == "registry.local/hotfix/api@sha256:" + "a" * 64
    assert (seen.settled, seen.deployment_id) == (True, None)
    assert running_version(cluster, NS, "api") is None


# -- unsettled --------------------------------------------------------------------------------

def test_a_rollout_stuck_past_its_progress_deadline_is_not_settled_and_says_so(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.fail_next_rollout(NS, "api", "deadline")
    with pytest.raises(RolloutFailed):
        deploy(cluster, "v1.2.4-bad", deployment_id=8)

    seen = observe(cluster)

    rs = replica_set(fake, IMAGE.format(version="v1.2.4-bad"))
    assert seen == Observed(
        version="v1.2.4-bad", since=None,
        image=IMAGE.format(version="v1.2.4-bad"), settled=False,
        detail="rollout stuck: ProgressDeadlineExceeded", deployment_id=8,
        changed_by="deploybot #8: api v1.2.4-bad by U0ALICE",
        progress=Progress(applied=stamp(rs["metadata"]["creationTimestamp"]), available=0,
                          desired=3, serving=(Serving("v1.2.2", None, 3),)), replicas=3,
        stuck=True)


def test_a_failed_rollout_left_applied_never_ran_and_the_old_version_still_serves(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    """`/deploy api staging v1.2.3`, then v1.2.4-bad whose image cannot be pulled, left
    applied (no auto_rollback): v1.2.4-bad is what the Deployment was given, never ran, and
    v1.2.3 (the old ReplicaSet's pods) is what serves."""
    deploy(cluster, "v1.2.3", deployment_id=7)
    fake.fail_next_rollout(NS, "api", "image_pull")
    with pytest.raises(RolloutFailed):
        deploy(cluster, "v1.2.4-bad", deployment_id=8)

    seen = observe(cluster)

    bad = replica_set(fake, IMAGE.format(version="v1.2.4-bad"))
    assert (seen.version, seen.since, seen.settled, seen.deployment_id) == (
        "v1.2.4-bad", None, False, 8)
    assert seen.progress == Progress(
        applied=stamp(bad["metadata"]["creationTimestamp"]), available=0, desired=3,
        serving=(Serving("v1.2.3", None, 3),))
    good = replica_set(fake, IMAGE.format(version="v1.2.3"))
    assert good["status"]["availableReplicas"] == 3  # what "serves" is read from


def test_mid_rollout_the_new_version_runs_on_some_pods_and_the_old_one_on_the_rest(
    fake: FakeKubernetes, cluster: KubernetesCluster, kubectl: k8s.AppsV1Api,
) -> None:
    """Two of v1.2.3's three new pods came up, the third waits: the controller scaled the
    old ReplicaSet down to one pod (maxUnavailable 0 for three replicas)."""
    fake.fail_next_rollout(NS, "api", "image_pull", healthy_first=2)
    set_image(kubectl, IMAGE.format(version="v1.2.3"))

    def part_way(f: FakeKubernetes) -> bool:
        status = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["status"]
                  for rs in f.objects("replicasets", NS)}
        new, old = (status.get(IMAGE.format(version=v)) or {} for v in ("v1.2.3", "v1.2.2"))
        return new.get("availableReplicas") == 2 and old.get("replicas") == 1
    fake.wait_until(part_way)

    seen = observe(cluster)

    new = replica_set(fake, IMAGE.format(version="v1.2.3"))
    assert (seen.version, seen.since, seen.settled, seen.detail) == (
        "v1.2.3", None, False, None)
    assert seen.progress == Progress(
        applied=stamp(new["metadata"]["creationTimestamp"]), available=2, desired=3,
        serving=(Serving("v1.2.2", None, 1),))
    assert seen.progress.running


def test_a_deadline_left_over_from_the_rollout_before_is_not_this_ones(
    cluster: KubernetesCluster,
) -> None:
    """The controller's first pass after a patch keeps the old ProgressDeadlineExceeded
    (naming the stuck ReplicaSet) next to the new observedGeneration."""
    template = {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": IMAGE.format(version="v1.2.2")}]}}
    dep = {
        "metadata": {"name": "api", "generation": 3, "annotations": {}},
        "spec": {"replicas": 3, "template": template},
        "status": {"observedGeneration": 3, "replicas": 4, "updatedReplicas": 0,
                   "availableReplicas": 3,
                   "conditions": [{"type": "Progressing", "status": "False",
                                   "reason": "ProgressDeadlineExceeded",
                                   "message": 'ReplicaSet "api-bad" has timed out progressing.',
                                   "lastUpdateTime": "2025-03-04T10:00:00Z",
                                   "lastTransitionTime": "2025-03-04T10:00:00Z"}]},
    }
    rs_template = {**template, "metadata": {"labels": {"app": "api", "pod-template-hash": "x"}}}
    good = {"metadata": {"name": "api-good", "creationTimestamp": "2025-03-01T09:00:00Z",
                         "annotations": {"deployment.kubernetes.io/revision": "3",
                                         "deployment.kubernetes.io/revision-history": "1"}},
            "spec": {"replicas": 1, "template": rs_template}, "status": {"replicas": 0}}

    seen = cluster.observed(dep, [good], service="api")

    assert (seen.settled, seen.since, seen.detail) == (False, None, None)
    # api-good is the template's ReplicaSet, not yet scaled up; the stuck one is not read.
    assert seen.progress == Progress(applied=None, available=0, desired=3, serving=())


# -- nothing there, or the cluster cannot be read ------------------------------------------------

def test_without_the_deployment_nothing_runs(clients: KubeClients) -> None:
    assert make_cluster(clients, deployment="nope").observe(NS, "api") is None


def test_an_unreachable_api_is_retryable_and_forbidden_is_permanent(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.forbid("list", "replicasets", NS)
    with pytest.raises(PermanentError) as denied:
        cluster.observe(NS, "api")
    assert "not allowed to list replicasets" in str(denied.value), denied.value
    fake.allow("list", "replicasets", NS)

    fake.set_unreachable(True)
    with pytest.raises(RetryableError) as info:
        cluster.observe(NS, "api")
    assert "unreachable" in str(info.value), info.value
    # A glance at what runs fails fast (status must not wait out a rollout's backoff).
    assert "gave up after 2 attempts" in str(info.value), info.value
