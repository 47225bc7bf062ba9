"""The first request of a process that reads the cluster pays for no import: the `kubernetes`
client imports its API classes lazily, on first use (`__getattr__` in
kubernetes/client/__init__.py), and CoreV1Api's module with the models it pulls in is 1-3 s
of CPU. bot/backends/kubernetes/api.py names them, so they load when the process builds its
Kubernetes backend (bot/container/ imports the package then), not inside the first
`/rollback`, `/deploy status` or App Home that looks at what runs (issue 12: the first
`/rollback` of a test process answered after more than 5 s on a loaded machine).

The check runs in a fresh interpreter (a subprocess: this test process has everything loaded
already), which builds the backend as `build_clusters` does, then makes the first calls over
HTTP to the fake API server and prints which `kubernetes` modules those calls imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import IMAGE, NS

ROOT = Path(__file__).resolve().parents[3]

FIRST_CALLS = """
import json
import sys

from bot.backends.kubernetes import KubeClients, KubernetesCluster
from bot.config import KubernetesAccessConfig, KubernetesServiceConfig

kubeconfig, namespace, image = sys.argv[1:4]
clients = KubeClients(KubernetesAccessConfig(contexts={namespace: "fake"}), kubeconfig=kubeconfig)
cluster = KubernetesCluster("api", KubernetesServiceConfig(image=image), clients)
before = set(sys.modules)
seen = cluster.observe(namespace, "api")  # what the first /rollback, status, App Home read
earlier = cluster.earlier_versions(namespace, "api")
health = cluster.check_health(namespace, "api", "v1.2.2")
clients.close()
print(json.dumps({
    "version": seen.version if seen else None, "earlier": earlier, "health": health,
    "imported": sorted(m for m in set(sys.modules) - before if m.split(".")[0] == "kubernetes"),
}))
"""


def test_the_first_look_at_the_cluster_imports_nothing(fake: FakeKubernetes,
                                                       tmp_path: Path) -> None:
    kubeconfig = fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", FIRST_CALLS, kubeconfig, NS, IMAGE],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout.strip().splitlines()[-1])
    assert (first["version"], first["earlier"], first["health"]) == ("v1.2.2", [], None), first
    assert first["imported"] == [], f"imported by the first calls: {first['imported'][:10]}"
