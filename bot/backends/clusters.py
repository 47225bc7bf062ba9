"""Routing the Cluster port to each service's executor (simulated, kubernetes, …)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.errors import PermanentError
from bot.ports import Cluster


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

    def current_version(self, environment: str, service: str) -> str | None:
        return self.for_service(service).current_version(environment, service)

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
    ) -> None:
        self.for_service(service).deploy(environment, service, version, progress=progress,
                                         deployment_id=deployment_id,
                                         requested_by=requested_by)
