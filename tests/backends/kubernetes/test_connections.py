"""The Kubernetes backend reuses its HTTP connections (the kubernetes client's urllib3 pool,
one ApiClient per environment in `KubeClients`): several API calls through
`KubernetesCluster` reach the fake API server (devtools/fake_k8s/) over one or two
TCP connections, not one per call."""

from __future__ import annotations

from pathlib import Path

from bot.backends.kubernetes import KubeClients
from bot.config import KubernetesAccessConfig
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import IMAGE, NS, make_cluster
from tests.conftest import running_version


def test_several_api_calls_share_one_or_two_connections(tmp_path: Path) -> None:
    with FakeKubernetes(tick=0.02) as fake:
        fake.add_deployment(NS, "api", replicas=2,
                            containers=[{"name": "api", "image": IMAGE.format(version="v2.0.0")}])
        kubeconfig = fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
        clients = KubeClients(KubernetesAccessConfig(contexts={NS: "fake"}),
                              kubeconfig=kubeconfig)
        try:
            cluster = make_cluster(clients)
            for _ in range(4):  # a GET of the Deployment and a LIST of its ReplicaSets each
                assert running_version(cluster, NS, "api") == "v2.0.0"
                assert cluster.earlier_versions(NS, "api") == []
        finally:
            clients.close()
        calls = len(fake.requests)
        server = fake._server  # devtools/httpbits.py TrackingServer: counts connections
        assert server is not None
        assert calls >= 16, calls
        assert 1 <= server.accepted <= 2, (server.accepted, calls)
