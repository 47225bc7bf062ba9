"""Per-PR instances on Kubernetes against the fake API server (real client, real HTTP): the
first deploy to `pr-7` creates Deployment `api-pr-7` from the shared `api` (one replica, the
instance label on its labels, selector and pods, the PR's image, the sidecar kept), the next
one patches it, the shared Deployment is never touched, and `remove_instance` deletes it
(with its ReplicaSets and pods) once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.kubernetes import DEPLOYMENT_ID, KubeClients, KubernetesCluster
from bot.backends.kubernetes.previews import INSTANCE_LABEL, preview_deployment
from bot.config import KubernetesAccessConfig
from bot.errors import PermanentError
from bot.ports import Previews
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import (
    NS,
    SIDECAR,
    containers,
    make_cluster,
    rollout_complete,
)


@pytest.fixture
def cluster(fake: FakeKubernetes, tmp_path: Path) -> Iterator[KubernetesCluster]:
    kubeconfig = fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
    clients = KubeClients(KubernetesAccessConfig(contexts={NS: "fake"}), kubeconfig=kubeconfig)
    yield make_cluster(clients)
    clients.close()


def deploy_pr(cluster: KubernetesCluster, version: str, *, deployment_id: int,
              instance: str = "pr-7") -> list[str]:
    seen: list[str] = []
    cluster.deploy(NS, "api", version, progress=seen.append, deployment_id=deployment_id,
                   requested_by="deploybot (github)", instance=instance)
    return seen


def test_a_preview_is_created_from_the_shared_deployment_then_patched_then_deleted(
        fake: FakeKubernetes, cluster: KubernetesCluster) -> None:
    shared_before = fake.deployment(NS, "api")
    deploy_pr(cluster, "abc123abc123", deployment_id=11)
    dep = fake.deployment(NS, "api-pr-7")
    assert rollout_complete(dep)
    assert dep["spec"]["replicas"] == 1
    assert containers(dep) == {"api": "ghcr.io/acme/api:abc123abc123",
                               "envoy": SIDECAR["image"]}
    assert dep["metadata"]["labels"] == {"app": "api", INSTANCE_LABEL: "pr-7"}
    assert dep["spec"]["selector"]["matchLabels"] == {"app": "api", INSTANCE_LABEL: "pr-7"}
    assert dep["spec"]["template"]["metadata"]["labels"] == {"app": "api",
                                                             INSTANCE_LABEL: "pr-7"}
    assert dep["metadata"]["annotations"][DEPLOYMENT_ID] == "11"
    pods = fake.pods(NS, f"{INSTANCE_LABEL}=pr-7")
    assert len(pods) == 1
    assert fake.recorded(method="POST", path_contains="/deployments")
    # the shared Deployment: not patched, same spec
    assert fake.recorded(method="PATCH", path_contains="/deployments/api") == []
    assert fake.deployment(NS, "api")["spec"] == shared_before["spec"]

    # an update of the pull request patches its Deployment
    deploy_pr(cluster, "def456def456", deployment_id=12)
    dep = fake.deployment(NS, "api-pr-7")
    assert containers(dep)["api"] == "ghcr.io/acme/api:def456def456"
    assert rollout_complete(dep)
    assert len(fake.recorded(method="POST", path_contains="/deployments")) == 1
    assert len(fake.recorded(method="PATCH", path_contains="/deployments/api-pr-7")) == 1

    # a second pull request has its own
    deploy_pr(cluster, "abc123abc123", deployment_id=13, instance="pr-8")
    assert fake.deployment(NS, "api-pr-8")["spec"]["replicas"] == 1

    assert isinstance(cluster, Previews)
    assert cluster.remove_instance(NS, "api", "pr-7") is True
    with pytest.raises(KeyError):
        fake.deployment(NS, "api-pr-7")
    fake.wait_until(lambda f: f.pods(NS, f"{INSTANCE_LABEL}=pr-7") == [])
    assert cluster.remove_instance(NS, "api", "pr-7") is False  # gone already
    fake.deployment(NS, "api-pr-8")  # the other preview stays
    assert fake.deployment(NS, "api")["spec"] == shared_before["spec"]


def test_the_router_removes_instances_only_where_the_cluster_can(
        fake: FakeKubernetes, cluster: KubernetesCluster) -> None:
    deploy_pr(cluster, "abc123abc123", deployment_id=11)

    class _NoPreviews:
        def observe(self, environment: str, service: str) -> None:
            return None

    router = ServiceClusters({"api": cluster, "legacy": _NoPreviews()})  # type: ignore[dict-item]
    assert router.removes_instances("api") and not router.removes_instances("legacy")
    assert router.remove_instance(NS, "api", "pr-7") is True
    with pytest.raises(PermanentError):
        router.remove_instance(NS, "legacy", "pr-7")


def test_the_preview_spec_drops_what_the_server_owns() -> None:
    shared: dict[str, Any] = {
        "metadata": {"name": "api", "namespace": NS, "uid": "u1", "resourceVersion": "9",
                     "generation": 4, "labels": {"app": "api"},
                     "annotations": {"deployment.kubernetes.io/revision": "4",
                                     "team": "payments"}},
        "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"containers": [{"name": "api", "image": "x:1"}]}}},
        "status": {"replicas": 5},
    }
    body = preview_deployment(shared, name="api-pr-3", instance="pr-3", image="x:2",
                              containers=["api"], annotations={"why": "PR"})
    assert body["metadata"] == {"namespace": NS, "name": "api-pr-3",
                                "labels": {"app": "api", INSTANCE_LABEL: "pr-3"},
                                "annotations": {"team": "payments", "why": "PR"}}
    assert "status" not in body and body["spec"]["replicas"] == 1
    assert body["spec"]["template"]["spec"]["containers"] == [{"name": "api", "image": "x:2"}]
    assert shared["spec"]["replicas"] == 5  # the shared one is not changed
