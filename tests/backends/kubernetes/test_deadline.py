"""A ProgressDeadlineExceeded condition left over from an earlier rollout does not fail the
next one: against the fake API server, whose controller keeps the old Progressing condition
on its first pass after a patch (as kube-controller-manager does), and on the pure rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from bot.backends.kubernetes import KubeClients, KubernetesCluster, deadline_counts
from bot.config import KubernetesAccessConfig
from bot.ports import RolloutFailed
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import (
    IMAGE,
    NS,
    SIDECAR,
    deploy,
    make_cluster,
    rollout_complete,
)


def progressing(dep: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in dep["status"]["conditions"] if c["type"] == "Progressing")


def replica_set_of(fake: FakeKubernetes, version: str) -> str:
    image = IMAGE.format(version=version)
    (name,) = [str(rs["metadata"]["name"]) for rs in fake.objects("replicasets", NS)
               if rs["spec"]["template"]["spec"]["containers"][0]["image"] == image]
    return name


def stuck_on_a_bad_version(fake: FakeKubernetes, cluster: KubernetesCluster) -> str:
    """v1.2.3 live, then v1.2.4-bad stuck past its progress deadline; the bad ReplicaSet."""
    deploy(cluster, "v1.2.3", deployment_id=7)
    fake.fail_next_rollout(NS, "api", "deadline")
    with pytest.raises(RolloutFailed, match="ProgressDeadlineExceeded"):
        deploy(cluster, "v1.2.4-bad", deployment_id=8)
    bad = replica_set_of(fake, "v1.2.4-bad")
    cond = progressing(fake.deployment(NS, "api"))
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert cond["message"] == f'ReplicaSet "{bad}" has timed out progressing.'
    return bad


def states_since(clients: KubeClients, rv: str) -> list[dict[str, Any]]:
    """The Deployment as every event after `rv` showed it, up to its finished rollout."""
    apps = k8s.AppsV1Api(clients.get(NS))
    seen: list[dict[str, Any]] = []
    w = k8s_watch.Watch()  # type: ignore[no-untyped-call]
    for event in w.stream(apps.list_namespaced_deployment, NS,  # type: ignore[no-untyped-call]
                          field_selector="metadata.name=api", resource_version=rv,
                          timeout_seconds=2):
        seen.append(event["raw_object"])
        if progressing(event["raw_object"])["reason"] == "NewReplicaSetAvailable":
            w.stop()  # type: ignore[no-untyped-call]
    return seen


def test_a_rollback_after_a_rollout_stuck_past_its_deadline_is_followed_to_its_end(
    fake: FakeKubernetes, cluster: KubernetesCluster, clients: KubeClients,
) -> None:
    bad = stuck_on_a_bad_version(fake, cluster)
    before = fake.deployment(NS, "api")["metadata"]["resourceVersion"]

    deploy(cluster, "v1.2.2", deployment_id=9)  # its ReplicaSet exists, scaled to 0

    dep = fake.deployment(NS, "api")
    assert rollout_complete(dep)
    good = replica_set_of(fake, "v1.2.2")
    assert progressing(dep)["message"] == f'ReplicaSet "{good}" has successfully progressed.'
    # The window the rollback went through: the controller's first pass after the patch
    # observed the new generation and still carried the old deadline condition.
    states = states_since(clients, before)
    generation = dep["metadata"]["generation"]
    assert any(s["status"].get("observedGeneration") == generation
               and progressing(s)["reason"] == "ProgressDeadlineExceeded"
               and bad in progressing(s)["message"] for s in states), states


def test_a_rollback_that_itself_gets_stuck_fails_naming_its_own_replica_set(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    stuck_on_a_bad_version(fake, cluster)
    fake.fail_next_rollout(NS, "api", "deadline")
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.2", deployment_id=9)
    good = replica_set_of(fake, "v1.2.2")
    assert f'ReplicaSet "{good}" has timed out progressing' in str(info.value), info.value


def test_a_deadline_condition_older_than_the_patch_is_waited_past_on_the_servers_clock(
    tmp_path: Path,
) -> None:
    """The bad rollout timed out ten minutes before the rollback (the cluster's clock): the
    condition is stale by its time alone."""
    now = [datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)]
    with FakeKubernetes(tick=0.02, clock=lambda: now[0]) as f:
        f.add_deployment(NS, "api", containers=[
            {"name": "api", "image": IMAGE.format(version="v1.2.2")}, dict(SIDECAR)], replicas=3)
        kubeconfig = f.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
        c = KubeClients(KubernetesAccessConfig(contexts={NS: "fake"}), kubeconfig=kubeconfig)
        try:
            cluster = make_cluster(c)
            stuck_on_a_bad_version(f, cluster)
            now[0] += timedelta(minutes=10)
            deploy(cluster, "v1.2.2", deployment_id=9)
            dep = f.deployment(NS, "api")
            assert rollout_complete(dep)
            assert progressing(dep)["lastUpdateTime"] == "2025-03-04T10:10:00Z"
        finally:
            c.close()


# -- the rule ----------------------------------------------------------------------------

PATCHED = datetime(2025, 3, 4, 10, 0, 7, tzinfo=UTC)


def condition(message: str, at: str) -> dict[str, Any]:
    return {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": message, "lastUpdateTime": at, "lastTransitionTime": at}


@pytest.mark.parametrize(("message", "at", "counts"), [
    # named the new ReplicaSet, set after the patch: the rollout is stuck
    ('ReplicaSet "api-new" has timed out progressing.', "2025-03-04T10:10:07Z", True),
    # in the patch's own second (timestamps have whole seconds): not provably older
    ('ReplicaSet "api-new" has timed out progressing.', "2025-03-04T10:00:07Z", True),
    # set before the patch: left over from the rollout before
    ('ReplicaSet "api-new" has timed out progressing.', "2025-03-04T10:00:06Z", False),
    # names another ReplicaSet (the stuck one this rollout replaces)
    ('ReplicaSet "api-bad" has timed out progressing.', "2025-03-04T10:10:07Z", False),
    # names none (the controller had no new ReplicaSet): the time decides
    ('Deployment "api" has timed out progressing.', "2025-03-04T10:10:07Z", True),
])
def test_a_deadline_condition_counts_only_when_newer_than_the_patch_and_about_the_new_rs(
    message: str, at: str, counts: bool,
) -> None:
    cond = condition(message, at)
    assert deadline_counts(cond, patched_at=PATCHED, new_replica_set="api-new") is counts


def test_without_a_patch_time_the_replica_set_named_decides() -> None:
    """A resumed follow (deploybot restarted after its patch) does not know when it patched."""
    stale = condition('ReplicaSet "api-bad" has timed out progressing.', "2025-03-04T09:00:00Z")
    mine = condition('ReplicaSet "api-new" has timed out progressing.', "2025-03-04T09:00:00Z")
    assert not deadline_counts(stale, patched_at=None, new_replica_set="api-new")
    assert deadline_counts(mine, patched_at=None, new_replica_set="api-new")
    # no new ReplicaSet yet: a condition that names one names another
    assert not deadline_counts(mine, patched_at=None, new_replica_set=None)
