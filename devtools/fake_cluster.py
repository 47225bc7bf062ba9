"""`deploybot shell --cluster fake`: every service on the Kubernetes executor, against a local
FakeKubernetes API server seeded from app.yaml.

This module owns the shell's fake cluster: the config it runs on (`on_fake_kubernetes`: each
service switched to `executor: kubernetes`, every environment pointed at the fake's kubeconfig
context), the Deployments the fake starts with (`seed`: one per environment and service the
config deploys, in the namespace the service config names, running
`simulated.initial_version` with a few replicas), which of the simulated cluster's failure
knobs carry over, and the lifetime of the server and its kubeconfig file
(`fake_kubernetes(config)`, a context manager).

Mapped: `simulated.fail_versions` — a rollout to a matching version fails the way a bad build
does on Kubernetes: its new pods cannot pull the image (`ImagePullBackOff`), and the old pods
keep serving; `simulated.crash_versions` — its new pods start and crash (`CrashLoopBackOff`,
exit code 1), their container logging a startup error (`CRASH_LOG`, a connection string
with a password among it, for `/logs` to mask). Not mapped: `simulated.fail_verify` (the
fake's crash after a finished rollout comes on its real-time controller, while the shell
time-lapses the post-deploy watch, so it could be missed), `simulated.fail_jobs` (the fake
chooses a Job's outcome by its name, which does not carry the version) and
`simulated.rollout_seconds` (the fake's controller paces rollouts: one pod per tick).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import AppConfig, KubernetesServiceConfig, parse_config
from devtools.fake_k8s import FakeKubernetes

__all__ = [
    "CONTEXT", "CRASH_LOG", "DEFAULT_VERSION", "REPLICAS", "TICK", "FakeCluster",
    "SeededDeployment", "fake_kubernetes", "on_fake_kubernetes", "seed",
]

#: What the container of a `simulated.crash_versions` version logs as it crashes (its current
#: and its previous run): a service that cannot reach its database, with the password in
#: its connection string, as real services do print it.
CRASH_LOG = (
    "INFO  starting api (gunicorn 23.0.0, 4 workers)",
    "INFO  connecting to postgres://api:Pr0d-db-Passw0rd@db.internal:5432/api",
    "ERROR sqlalchemy.exc.OperationalError: connection to server at \"db.internal\" "
    "(10.0.3.7), port 5432 failed: FATAL: database \"api\" does not exist",
    "ERROR Worker failed to boot.",
    "INFO  Shutting down: Master",
)

#: The kubeconfig context (and cluster and user) the fake is reached through.
CONTEXT = "deploybot-shell-fake"
#: What runs before the first deploy when app.yaml has no `simulated.initial_version`.
DEFAULT_VERSION = "v1.0.0"
REPLICAS = 3
#: Seconds between the fake controller's steps: a rollout of three pods takes a few of them,
#: slow enough to watch it progress in the shell.
TICK = 0.4


def default_image(service: str) -> str:
    return f"registry.example/{service}:{{version}}"


def on_fake_kubernetes(config: AppConfig, *, source: str = "app.yaml") -> AppConfig:
    """`config` with every service on `executor: kubernetes` (its `kubernetes:` settings
    kept; the image template, if it has none, `registry.example/<service>:{version}`) and
    every environment reached through the kubeconfig context `CONTEXT`. Validated again as
    app.yaml is: a ConfigError (naming `source`) when a name is no Kubernetes name."""
    data: dict[str, Any] = config.model_dump(exclude_unset=True)
    for name, svc in config.services.items():
        k8s = svc.kubernetes.model_dump(exclude_unset=True) if svc.kubernetes else {}
        k8s.setdefault("image", default_image(name))
        data["services"][name] = {**data["services"][name], "executor": "kubernetes",
                                  "kubernetes": k8s}
    data["kubernetes"] = {"in_cluster": False,
                          "contexts": {env: CONTEXT for env in config.environments}}
    return parse_config(data, source=f"{source} (--cluster fake)")


@dataclass(frozen=True)
class SeededDeployment:
    environment: str
    service: str
    namespace: str
    name: str
    version: str


def _version_matches(k8s: KubernetesServiceConfig, pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)

    def matches(image: str) -> bool:
        version = k8s.version_of(image)
        return version is not None and compiled.search(version) is not None

    return matches


def seed(fake: FakeKubernetes, config: AppConfig) -> list[SeededDeployment]:
    """Create the Deployment of every (environment, service) that `config` (on the
    Kubernetes executor, see `on_fake_kubernetes`) deploys, running the initial version, and
    make rollouts to versions matching `simulated.fail_versions` fail to pull their image."""
    version = config.simulated.initial_version or DEFAULT_VERSION
    fail_versions = config.simulated.fail_versions
    crash_versions = config.simulated.crash_versions
    seeded: list[SeededDeployment] = []
    created: set[tuple[str, str]] = set()
    for env in config.environments:
        for service in config.services_in(env):
            k8s = config.services[service].kubernetes
            assert k8s is not None, "on_fake_kubernetes gives every service its settings"
            namespace, name = k8s.namespace(env), k8s.deployment_name(service)
            seeded.append(SeededDeployment(env, service, namespace, name, version))
            if (namespace, name) in created:  # two environments share one namespace
                continue
            created.add((namespace, name))
            fake.add_deployment(
                namespace, name, replicas=REPLICAS, service_account=service,
                containers=[{"name": c, "image": k8s.image_for(version)}
                            for c in k8s.container_names(service)])
            if fail_versions:
                fake.fail_rollouts_to(namespace, name, _version_matches(k8s, fail_versions),
                                      "image_pull")
            if crash_versions:
                fake.fail_rollouts_to(namespace, name, _version_matches(k8s, crash_versions),
                                      "crash_loop")
                fake.set_logs(namespace, name, lines=CRASH_LOG, previous=CRASH_LOG,
                              container=k8s.container_names(service)[0],
                              images=_version_matches(k8s, crash_versions))
    return seeded


@dataclass(frozen=True)
class FakeCluster:
    """A running fake cluster: the server, the config pointed at it and its kubeconfig."""

    fake: FakeKubernetes
    config: AppConfig
    kubeconfig: str
    deployments: list[SeededDeployment]

    def describe(self) -> list[str]:
        """Lines for the shell's banner: where it is, what runs there, what fails."""
        lines = [f"  cluster: a fake Kubernetes API server at {self.fake.base_url}, "
                 "through the Kubernetes executor"]
        lines += [f"    {d.environment}: Deployment {d.namespace}/{d.name} runs {d.service} "
                  f"{d.version} ({REPLICAS} pods)" for d in self.deployments]
        fails = self.config.simulated.fail_versions
        if fails:
            lines.append(f"    versions matching {fails} fail: their image cannot be pulled")
        crashes = self.config.simulated.crash_versions
        if crashes:
            lines.append(f"    versions matching {crashes} crash as they start (a crash loop)")
        return lines


@contextmanager
def fake_kubernetes(config: AppConfig, *, tick: float = TICK, source: str = "app.yaml",
                    clock: Callable[[], datetime] | None = None) -> Iterator[FakeCluster]:
    """Start a FakeKubernetes seeded from `config`, with a kubeconfig for it in a temporary
    directory; stop it and remove the file when the block ends, however it ends. `clock`:
    the wall clock the fake stamps its objects with (the shell's, so that "since" times read
    from the cluster agree with it); the real time when None."""
    k8s_config = on_fake_kubernetes(config, source=source)
    fake_k8s = FakeKubernetes(tick=tick) if clock is None else FakeKubernetes(tick=tick,
                                                                               clock=clock)
    with tempfile.TemporaryDirectory(prefix="deploybot-fake-k8s-") as tmp, fake_k8s as fake:
        deployments = seed(fake, k8s_config)
        kubeconfig = fake.write_kubeconfig(Path(tmp) / "kubeconfig", context=CONTEXT)
        yield FakeCluster(fake=fake, config=k8s_config, kubeconfig=kubeconfig,
                          deployments=deployments)
