"""What the troubleshooting commands ask of an executor (the guide's `kubectl get
deployments`, `get pods`, `logs`, `get events`): the `Troubleshooting` capability of a
Cluster. The plain values it answers with are the domain's (bot.domain.workloads, so the
presentation can render them), re-exported here. The Kubernetes executor has it; the simulated
and GitHub Actions executors do not, and the services say plainly what does not apply.

Every read is one look at live state (the executor is the source of truth). Errors:
RetryableError when the executor could not be asked this time (unreachable, 5xx),
PermanentError when deploybot may not read it (RBAC: the message names the verb and the
resource), UserError when what the user named does not exist (a pod that is not one of the
service's: the message lists the ones that are).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.domain.workloads import (
    Condition,
    EventView,
    LogQuery,
    LogTail,
    PodView,
    ReplicaSetView,
    RolloutView,
    Termination,
)

__all__ = ["Condition", "EventView", "LogQuery", "LogTail", "PodView", "ReplicaSetView",
           "RolloutView", "Termination", "Troubleshooting"]


@runtime_checkable
class Troubleshooting(Protocol):
    """An optional capability of a Cluster: live reads for the troubleshooting commands and
    the failure message after a failed rollout."""

    def rollout_view(self, environment: str, service: str) -> RolloutView | None:
        """The Deployment and its current and previous ReplicaSet; None: no Deployment."""
        ...

    def pods(self, environment: str, service: str) -> list[PodView]:
        """The service's pods (every ReplicaSet's), unhealthy ones first."""
        ...

    def logs(self, environment: str, service: str, query: LogQuery) -> LogTail:
        """The tail of one container's log, at most `query.limit_bytes` read."""
        ...

    def events(self, environment: str, service: str, *, limit: int = 50) -> list[EventView]:
        """Recent events of the Deployment, its ReplicaSets and pods: warnings first, then
        newest first; at most `limit`."""
        ...
