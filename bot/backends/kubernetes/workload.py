"""One service's Deployment, as every concern of the backend reaches it: `Workload` knows
the service's configuration, the clients and the backend's timing, sleep and clock, and
makes the reads they all share (the Deployment, its configured containers' images, its
ReplicaSets, the pods of the new one); `Target` is the Deployment in one environment (or a
per-PR instance's), with the Api to call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.backends.kubernetes.api import Api, KubeClients, KubernetesProblem, Op, Timing
from bot.backends.kubernetes.objects import (
    REVISION,
    containers_of,
    label_selector,
    meta_of,
)
from bot.backends.kubernetes.previews import preview_name
from bot.config import KubernetesServiceConfig


@dataclass(frozen=True)
class Target:
    api: Api
    environment: str
    namespace: str
    name: str

    def op(self, verb: str, resource: str = "deployments.apps", *, named: bool = True) -> Op:
        """The call `verb` on `resource`; `named`: on this Deployment, not a collection."""
        return Op(verb, resource, self.namespace, self.name if named else None)


class Workload:
    """The Deployment of `service` (`config`: services.<name>.kubernetes), reached through
    `clients`; `timing`, `sleep` and `monotonic` are the backend's."""

    def __init__(self, service: str, config: KubernetesServiceConfig, clients: KubeClients, *,
                 timing: Timing, sleep: Callable[[float], None],
                 monotonic: Callable[[], float]) -> None:
        self.service = service
        self.config = config
        self.clients = clients
        self.timing = timing
        self.sleep = sleep
        self.monotonic = monotonic
        self.deployment = config.deployment_name(service)
        self.containers = config.container_names(service)

    def target(self, environment: str, instance: str | None = None, *,
               timing: Timing | None = None) -> Target:
        """The service's Deployment there, or that of its per-PR `instance`; `timing`: other
        than the backend's (a glance)."""
        api = Api(self.clients.get(environment), environment=environment,
                  timing=timing or self.timing, sleep=self.sleep)
        name = self.deployment if instance is None else preview_name(self.deployment, instance)
        return Target(api, environment, self.config.namespace(environment), name)

    def read(self, t: Target) -> dict[str, Any]:
        try:
            dep: dict[str, Any] = t.api.call(t.op("get"), t.api.apps.read_namespaced_deployment,
                                             t.name, t.namespace)
        except KubernetesProblem as e:
            if e.kind == "not_found":
                raise KubernetesProblem(
                    f'Deployment "{t.name}" not found in namespace "{t.namespace}" of '
                    f"{t.environment} ({self.clients.describe(t.environment)}); check "
                    f"services.{self.service}.kubernetes (deployment, namespaces)",
                    kind="not_found") from e
            raise
        return dep

    def images(self, t: Target, dep: Mapping[str, Any]) -> dict[str, str]:
        """The configured containers' images; every one must exist."""
        have = {str(c.get("name")): str(c.get("image") or "") for c in containers_of(dep)}
        missing = [c for c in self.containers if c not in have]
        if missing:
            raise KubernetesProblem(
                f'Deployment "{t.name}" in namespace "{t.namespace}" has no container named '
                + ", ".join(f'"{c}"' for c in missing)
                + f" (it has {', '.join(sorted(have)) or 'none'}); check "
                f"services.{self.service}.kubernetes.containers", kind="config")
        return {c: have[c] for c in self.containers}

    def replica_sets(self, t: Target, dep: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Deployment's ReplicaSets: those its selector matches that it owns (or that
        nothing owns), the new one and the old ones Kubernetes keeps."""
        match = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels")
        found = t.api.call(t.op("list", "replicasets.apps", named=False),
                           t.api.apps.list_namespaced_replica_set, t.namespace,
                           label_selector=label_selector(match))
        return _owned_by(dep, found.get("items") or [])

    def new_replica_set(self, t: Target, dep: Mapping[str, Any],
                        image: str) -> dict[str, Any] | None:
        """The Deployment's newest ReplicaSet whose pods run `image` (None before the
        controller made it)."""
        revision = (meta_of(dep).get("annotations") or {}).get(REVISION)
        best: tuple[int, dict[str, Any]] | None = None
        for rs in self.replica_sets(t, dep):
            meta = meta_of(rs)
            images = {str(c.get("name")): c.get("image") for c in containers_of(rs)}
            if any(images.get(c) != image for c in self.containers):
                continue
            rs_revision = (meta.get("annotations") or {}).get(REVISION)
            rank = int(rs_revision) if rs_revision and rs_revision.isdigit() else 0
            if revision and rs_revision == revision:
                return dict(rs)
            if best is None or rank > best[0]:
                best = (rank, rs)
        return best[1] if best else None

    def new_pods(self, t: Target, dep: Mapping[str, Any],
                 image: str) -> list[dict[str, Any]]:
        """The pods of the new ReplicaSet (`new_replica_set`); none before it exists."""
        rs = self.new_replica_set(t, dep, image)
        if rs is None:
            return []
        match = ((rs.get("spec") or {}).get("selector") or {}).get("matchLabels")
        found = t.api.call(t.op("list", "pods", named=False), t.api.core.list_namespaced_pod,
                           t.namespace,
                           label_selector=label_selector(match))
        return _owned_by(rs, found.get("items") or [])


def _owned_by(owner: Mapping[str, Any], found: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Those of `found` (a list's items) that `owner` owns, or that nothing owns."""
    uid = meta_of(owner).get("uid")
    owned: list[dict[str, Any]] = []
    for obj in found:
        owners = meta_of(obj).get("ownerReferences") or []
        if uid and owners and not any(o.get("uid") == uid for o in owners):
            continue
        owned.append(obj)
    return owned
