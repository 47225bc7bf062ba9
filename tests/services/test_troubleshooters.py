"""Which executor answers what (bot/services/troubleshooters.py): the service's own Cluster
through the router, its Troubleshooting capability where it has one, else a plain "does not
apply" per executor — the same words for `/pods`, `/logs` and `/events` everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.kubernetes import KubeClients, KubernetesCluster
from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.errors import PermanentError
from bot.services.troubleshooters import (
    DoesNotApply,
    does_not_apply,
    executor_kind,
    executor_of,
    troubleshooter,
)
from bot.store.simulated import SqlSimulatedWorkloads
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import base_config


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    data: dict[str, Any] = base_config(
        services={
            "api": {"executor": "kubernetes",
                    "kubernetes": {"image": "ghcr.io/acme/api:{version}"}},
            "web": {"executor": "simulated"},
            "site": {"executor": "github-actions", "github": {
                "repository": "acme/site", "actions": {"workflow": "deploy.yml"}}},
        },
        kubernetes={"contexts": {"staging": "fake"}})
    return parse_config(data, source="test config")


@pytest.fixture
def clusters(config: AppConfig, tmp_path: Path, clock: ManualClock,
             simulated_workloads: SqlSimulatedWorkloads) -> Iterator[ServiceClusters]:
    with FakeKubernetes() as fake:
        kube = KubeClients(config.kubernetes, kubeconfig=fake.write_kubeconfig(
            str(tmp_path / "kubeconfig"), context="fake"))
        simulated = SimulatedCluster(config.simulated, workloads=simulated_workloads,
                                     clock=clock, sleep=lambda _s: None)
        api = config.services["api"].kubernetes
        assert api is not None
        yield ServiceClusters({"api": KubernetesCluster("api", api, kube), "web": simulated,
                               "site": simulated})
        kube.close()


def test_the_router_hands_each_service_its_own_cluster(clusters: ServiceClusters) -> None:
    assert isinstance(executor_of(clusters, "api"), KubernetesCluster)
    assert isinstance(executor_of(clusters, "web"), SimulatedCluster)
    with pytest.raises(PermanentError, match="no cluster is configured for service 'nope'"):
        executor_of(clusters, "nope")
    one = executor_of(clusters, "web")
    assert executor_of(one, "anything") is one  # a Cluster that is no router runs them all


def test_the_kubernetes_executor_troubleshoots(config: AppConfig,
                                               clusters: ServiceClusters) -> None:
    assert troubleshooter(config, clusters, "api", "/pods") is executor_of(clusters, "api")
    assert executor_kind(config, "api") == "kubernetes"


@pytest.mark.parametrize("command, what", [("/pods", "it has no pods"),
                                           ("/logs", "deploybot keeps no logs of it"),
                                           ("/events", "it has no Kubernetes events")])
def test_the_simulated_executor_does_not_apply(config: AppConfig, clusters: ServiceClusters,
                                               command: str, what: str) -> None:
    with pytest.raises(DoesNotApply) as told:
        troubleshooter(config, clusters, "web", command)  # type: ignore[arg-type]
    assert told.value.message == (f"`web` runs on the simulated executor: {what}; `/rollout` "
                                  "shows what runs.")


def test_a_github_actions_service_is_pointed_at_its_runs(config: AppConfig) -> None:
    assert does_not_apply(config, "site", "/logs") == (
        "`site` is deployed by a GitHub Actions workflow of acme/site: deploybot cannot see "
        "its logs, only the workflow's runs. `/rollout` shows the latest deploy run's jobs "
        "(each linked to its log); `/ci &lt;version&gt;` shows a version's CI.")
