"""Which versions ran before (the Revisions capability), read from the Deployment's old
ReplicaSets through the real client against the fake API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.kubernetes import REVISION, KubeClients, KubernetesCluster
from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import KubernetesServiceConfig, SimulatedConfig
from bot.errors import PermanentError, RetryableError
from bot.ports import Revisions
from bot.store.simulated import SqlSimulatedWorkloads
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import FAST, IMAGE, NS, SIDECAR
from tests.conftest import running_version


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as f:
        f.add_deployment(NS, "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}, dict(SIDECAR),
        ], replicas=2)
        yield f


def make_cluster(clients: KubeClients, **config: object) -> KubernetesCluster:
    config.setdefault("image", IMAGE)
    return KubernetesCluster("api", KubernetesServiceConfig(**config),  # type: ignore[arg-type]
                             clients, timing=FAST)


@pytest.fixture
def cluster(clients: KubeClients) -> KubernetesCluster:
    return make_cluster(clients)


def deploy(cluster: KubernetesCluster, version: str) -> None:
    cluster.deploy(NS, "api", version, progress=lambda _t: None, deployment_id=1)


def revisions(fake: FakeKubernetes) -> dict[str, str]:
    """image of the api container -> revision annotation, of every ReplicaSet in NS."""
    return {
        next(c["image"] for c in rs["spec"]["template"]["spec"]["containers"]
             if c["name"] == "api"): rs["metadata"]["annotations"][REVISION]
        for rs in fake.objects("replicasets", NS)
    }


def test_the_kubernetes_cluster_has_the_capability(cluster: KubernetesCluster) -> None:
    assert isinstance(cluster, Revisions)


def test_right_after_install_only_the_current_version_is_known(
    cluster: KubernetesCluster,
) -> None:
    assert cluster.earlier_versions(NS, "api") == []


def test_earlier_versions_are_the_old_replica_sets_newest_first(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3")
    assert cluster.earlier_versions(NS, "api") == ["v1.2.2"]
    deploy(cluster, "v1.2.4")
    assert cluster.earlier_versions(NS, "api") == ["v1.2.3", "v1.2.2"]
    assert revisions(fake) == {"ghcr.io/acme/api:v1.2.2": "1", "ghcr.io/acme/api:v1.2.3": "2",
                               "ghcr.io/acme/api:v1.2.4": "3"}


def test_a_rollback_reuses_the_old_replica_set_and_moves_it_to_the_front(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3")
    deploy(cluster, "v1.2.4")

    deploy(cluster, "v1.2.2")  # a rollback: Kubernetes reuses v1.2.2's RS, revision 4

    assert revisions(fake) == {"ghcr.io/acme/api:v1.2.2": "4", "ghcr.io/acme/api:v1.2.3": "2",
                               "ghcr.io/acme/api:v1.2.4": "3"}
    assert len(fake.objects("replicasets", NS)) == 3  # no new ReplicaSet
    assert running_version(cluster, NS, "api") == "v1.2.2"
    assert cluster.earlier_versions(NS, "api") == ["v1.2.4", "v1.2.3"]


def test_images_that_do_not_fit_the_template_are_skipped(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3")
    # a hotfix from somewhere else, rolled out by hand
    cluster.rollout(NS, "docker.io/someone/api:hotfix", progress=lambda _t: None,
                    change_cause="kubectl set image")
    assert running_version(cluster, NS, "api") is None
    assert cluster.earlier_versions(NS, "api") == ["v1.2.3", "v1.2.2"]
    deploy(cluster, "v1.2.4")
    assert cluster.earlier_versions(NS, "api") == ["v1.2.3", "v1.2.2"]


def test_a_version_is_listed_once_though_several_replica_sets_ran_it(
    fake: FakeKubernetes, clients: KubeClients, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3")
    # The sidecar changes: a new ReplicaSet, still v1.2.3 of the api container.
    sidecar = make_cluster(clients, image="envoyproxy/envoy:{version}", containers=["envoy"])
    deploy(sidecar, "v1.31.0")
    deploy(cluster, "v1.2.4")
    assert len(fake.objects("replicasets", NS)) == 4
    assert cluster.earlier_versions(NS, "api") == ["v1.2.3", "v1.2.2"]


def test_replica_sets_of_another_deployment_with_the_same_labels_are_not_ours(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.add_deployment(NS, "api-canary", labels={"app": "api"}, replicas=1,
                        containers=[{"name": "api", "image": "ghcr.io/acme/api:v1.9.9"}])
    deploy(cluster, "v1.2.3")
    assert cluster.earlier_versions(NS, "api") == ["v1.2.2"]


def test_a_missing_deployment_knows_no_earlier_versions(clients: KubeClients) -> None:
    assert make_cluster(clients, deployment="payments").earlier_versions(NS, "api") == []


def test_an_unreachable_api_is_worth_a_retry(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.set_unreachable(True)
    with pytest.raises(RetryableError) as info:
        cluster.earlier_versions(NS, "api")
    assert "unreachable" in str(info.value)


def test_a_forbidden_list_is_a_configuration_problem_naming_the_permission(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.forbid("list", "replicasets", NS)
    with pytest.raises(PermanentError) as info:
        cluster.earlier_versions(NS, "api")
    assert "not allowed to list replicasets" in str(info.value)


def test_the_router_asks_the_service_s_cluster(
    fake: FakeKubernetes, cluster: KubernetesCluster,
    simulated_workloads: SqlSimulatedWorkloads, clock: ManualClock,
) -> None:
    simulated = SimulatedCluster(SimulatedConfig(rollout_seconds=0, initial_version="v9.9.9"),
                                 workloads=simulated_workloads, clock=clock,
                                 sleep=lambda _s: None)
    router = ServiceClusters({"api": cluster, "billing": simulated})
    deploy(cluster, "v1.2.3")
    router.deploy(NS, "billing", "v10.0.0", progress=lambda _t: None)
    assert router.earlier_versions(NS, "api") == ["v1.2.2"]
    assert router.earlier_versions(NS, "billing") == ["v9.9.9"]
