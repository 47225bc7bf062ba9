"""Routing the Cluster port to each service's executor (simulated, kubernetes, …)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.domain.live import Observed
from bot.errors import PermanentError
from bot.ports import (
    Cluster,
    Health,
    JobKind,
    JobResult,
    Migrations,
    Previews,
    Revisions,
    RollsBack,
    Troubleshooting,
)


class ServiceClusters:
    """A Cluster that hands every call to the cluster of the service it is about, so
    services with different executors live side by side."""

    def __init__(self, clusters: Mapping[str, Cluster]) -> None:
        self._clusters = dict(clusters)

    def for_service(self, service: str) -> Cluster:
        try:
            return self._clusters[service]
        except KeyError:
            raise PermanentError(f"no cluster is configured for service {service!r}") from None

    def observe(self, environment: str, service: str) -> Observed | None:
        return self.for_service(service).observe(environment, service)

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> str | None:
        return self.for_service(service).deploy(
            environment, service, version, progress=progress, deployment_id=deployment_id,
            requested_by=requested_by, instance=instance)

    def removes_instances(self, service: str) -> bool:
        """Whether the service's cluster can remove a per-PR instance (previews)."""
        return isinstance(self.for_service(service), Previews)

    def remove_instance(self, environment: str, service: str, instance: str) -> bool:
        cluster = self.for_service(service)
        if not isinstance(cluster, Previews):
            raise PermanentError(f"the cluster of service {service!r} cannot remove per-PR "
                                 "instances")
        return cluster.remove_instance(environment, service, instance)

    def roll_back(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
    ) -> str | None:
        """A rollback the way the service's cluster does them (else a deploy of `version`)."""
        cluster = self.for_service(service)
        roll = cluster.roll_back if isinstance(cluster, RollsBack) else cluster.deploy
        return roll(environment, service, version, progress=progress,
                    deployment_id=deployment_id, requested_by=requested_by)

    def check_health(self, environment: str, service: str, version: str) -> str | None:
        """The pods' health where the service's cluster can tell (else nothing to say)."""
        cluster = self.for_service(service)
        if not isinstance(cluster, Health):
            return None
        return cluster.check_health(environment, service, version)

    def earlier_versions(self, environment: str, service: str) -> list[str]:
        """The versions that ran before, where the service's cluster remembers them (else
        none known)."""
        cluster = self.for_service(service)
        if not isinstance(cluster, Revisions):
            return []
        return cluster.earlier_versions(environment, service)

    def troubleshooting(self, service: str) -> Troubleshooting | None:
        """The service's cluster's live reads for the troubleshooting commands (`/rollout`,
        `/pods`, `/logs`, `/events`); None when its executor has none (simulated, GitHub
        Actions): the caller says plainly that they do not apply."""
        cluster = self.for_service(service)
        return cluster if isinstance(cluster, Troubleshooting) else None

    def runs_jobs(self, service: str) -> bool:
        return isinstance(self.for_service(service), Migrations)

    def run_job(
        self, environment: str, service: str, *, kind: JobKind, command: Sequence[str],
        version: str, deployment_id: int | None, timeout: float,
    ) -> JobResult:
        cluster = self.for_service(service)
        if not isinstance(cluster, Migrations):
            raise PermanentError(f"the cluster of service {service!r} cannot run Jobs")
        return cluster.run_job(environment, service, kind=kind, command=command,
                               version=version, deployment_id=deployment_id, timeout=timeout)
