"""The Cluster port for a service whose executor is `kubernetes`: `KubernetesCluster` ties
the concerns of the package together for one service (its `Workload`): deploy and roll back
(`rollout`), what runs (`live`), the pods' health after a rollout (`pods`), one-off Jobs
(`jobs`), per-PR instances (`rollout` creates one, `remove_instance` deletes it) and the
troubleshooting reads (`troubleshoot`, `logs`, `events`: the Troubleshooting capability)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.backends.kubernetes import events as event_reads
from bot.backends.kubernetes import jobs, live, troubleshoot
from bot.backends.kubernetes import logs as log_reads
from bot.backends.kubernetes import pods as pod_checks
from bot.backends.kubernetes import rollout as rollouts
from bot.backends.kubernetes.api import KubeClients, KubernetesProblem, Timing, port_error
from bot.backends.kubernetes.objects import change_cause
from bot.backends.kubernetes.workload import Workload
from bot.config import KubernetesServiceConfig
from bot.domain.live import Observed
from bot.ports import (
    AlreadyRunning,
    EventView,
    JobKind,
    JobResult,
    LogQuery,
    LogTail,
    PodView,
    RolloutFailed,
    RolloutView,
)

log = logging.getLogger(__name__)


class KubernetesCluster:
    """The Cluster port for one service whose executor is `kubernetes`."""

    def __init__(self, service: str, config: KubernetesServiceConfig, clients: KubeClients, *,
                 timing: Timing | None = None, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if config.image is None:
            raise ValueError(f"services.{service}.kubernetes.image is required")
        self.service = service
        self.config = config
        self._clients = clients
        self._w = Workload(service, config, clients, timing=timing or Timing(), sleep=sleep,
                           monotonic=monotonic)
        self.deployment = self._w.deployment
        self.containers = self._w.containers

    # -- the port ----------------------------------------------------------------------
    def observe(self, environment: str, service: str) -> Observed | None:
        """What the service's Deployment runs there (bot.backends.kubernetes.live)."""
        return live.observe(self._w, environment, service)

    def observed(self, dep: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]], *,
                 service: str) -> Observed:
        """What a Deployment (with its ReplicaSets) says runs (`live.observed`)."""
        return live.observed(self._w, dep, replica_sets, service=service)

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> None:
        cause = change_cause(service, version, deployment_id=deployment_id,
                             requested_by=requested_by)
        try:
            changed = self.rollout(environment, self.config.image_for(version),
                                   progress=progress, change_cause=cause,
                                   deployment_id=deployment_id, instance=instance)
        except KubernetesProblem as e:
            raise RolloutFailed(str(e)) from e
        if not changed:
            raise AlreadyRunning(version, environment)

    def rollout(self, environment: str, image: str, *, progress: Callable[[str], None],
                change_cause: str, deployment_id: int | None = None,
                instance: str | None = None) -> bool:
        """Roll any image out and follow it to its end; False when it runs already
        (bot.backends.kubernetes.rollout)."""
        return rollouts.rollout(self._w, environment, image, progress=progress,
                                change_cause=change_cause, deployment_id=deployment_id,
                                instance=instance)

    # -- per-PR instances (the Previews capability) -----------------------------------------
    def remove_instance(self, environment: str, service: str, instance: str) -> bool:
        """Delete the per-PR instance's Deployment (its ReplicaSets and pods go with it);
        False when there is none."""
        t = self._w.target(environment, instance)
        try:
            t.api.call(t.op("delete"), t.api.apps.delete_namespaced_deployment, t.name,
                       t.namespace, body={"propagationPolicy": "Background"})
        except KubernetesProblem as e:
            if e.kind == "not_found":
                return False
            raise port_error(e) from e
        log.info("deleted %s/%s (%s)", t.namespace, t.name, instance)
        return True

    # -- the watch after the rollout (the Health capability) ------------------------------
    def check_health(self, environment: str, service: str, version: str) -> str | None:
        """One look at the new ReplicaSet's pods of `version` (`pods.check_health`)."""
        return pod_checks.check_health(self._w, environment, version)

    # -- what ran before (the Revisions capability) ----------------------------------------
    def earlier_versions(self, environment: str, service: str) -> list[str]:
        """The versions of the Deployment's old ReplicaSets, newest first
        (`live.earlier_versions`)."""
        return live.earlier_versions(self._w, environment)

    # -- one-off Jobs (migrations, the backup before them, migration status) --------------
    def job_name(self, kind: JobKind, deployment_id: int | None) -> str:
        return jobs.job_name(self.deployment, kind, deployment_id)

    def run_job(
        self, environment: str, service: str, *, kind: JobKind, command: Sequence[str],
        version: str, deployment_id: int | None, timeout: float,
    ) -> JobResult:
        return jobs.run_job(self._w, environment, kind=kind, command=command,
                            version=version, deployment_id=deployment_id, timeout=timeout)

    # -- live reads for the troubleshooting commands (the Troubleshooting capability) -----
    def rollout_view(self, environment: str, service: str) -> RolloutView | None:
        """The Deployment, its current and previous ReplicaSet (`troubleshoot.rollout_view`)."""
        return troubleshoot.rollout_view(self._w, environment)

    def pods(self, environment: str, service: str) -> list[PodView]:
        """The service's pods, unhealthy ones first (`troubleshoot.pod_views`)."""
        return troubleshoot.pod_views(self._w, environment)

    def logs(self, environment: str, service: str, query: LogQuery) -> LogTail:
        """The tail of one container's log (`logs.logs`)."""
        return log_reads.logs(self._w, environment, query)

    def events(self, environment: str, service: str, *, limit: int = 50) -> list[EventView]:
        """Recent events of the Deployment, its ReplicaSets and pods (`events.events`)."""
        return event_reads.events(self._w, environment, limit=limit)
