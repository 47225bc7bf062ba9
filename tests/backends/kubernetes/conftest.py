"""The fixtures the Kubernetes backend's tests share: a fake API server with one Deployment
`api` (3 replicas of v1.2.2 and a sidecar) in NS, a kubeconfig for it, the clients, and
the backend (`make_cluster`'s defaults). A module wanting another Deployment defines its own
`fake`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.backends.kubernetes import KubeClients, KubernetesCluster
from bot.config import KubernetesAccessConfig
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import IMAGE, NS, SIDECAR, make_cluster


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as f:
        f.add_deployment(NS, "api", containers=[
            {"name": "api", "image": IMAGE.format(version="v1.2.2")}, dict(SIDECAR),
        ], replicas=3)
        yield f


@pytest.fixture
def kubeconfig(fake: FakeKubernetes, tmp_path: Path) -> str:
    return fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")


@pytest.fixture
def clients(kubeconfig: str) -> Iterator[KubeClients]:
    c = KubeClients(KubernetesAccessConfig(contexts={NS: "fake"}), kubeconfig=kubeconfig)
    yield c
    c.close()


@pytest.fixture
def cluster(clients: KubeClients) -> KubernetesCluster:
    return make_cluster(clients)
