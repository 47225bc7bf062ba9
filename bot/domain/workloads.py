"""What a workload looks like to the troubleshooting commands (the guide's `kubectl get
deployments`, `get pods`, `logs`, `get events`), as plain values: read from the executor by
the `Troubleshooting` port (bot.ports.troubleshooting), rendered by the presentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class Condition:
    """One condition of a Deployment (Available, Progressing, ReplicaFailure)."""

    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_update: datetime | None = None


@dataclass(frozen=True)
class ReplicaSetView:
    """One ReplicaSet of the Deployment: a version that runs or ran."""

    name: str
    version: str | None  # the version its image carries (None when not one of ours)
    revision: int | None  # deployment.kubernetes.io/revision
    change_cause: str | None  # kubernetes.io/change-cause (deploybot writes who and why)
    replicas: int
    ready: int
    created: datetime | None


@dataclass(frozen=True)
class RolloutView:
    """The guide's `kubectl get deployment` and `rollout history`, for one service."""

    deployment: str
    namespace: str
    desired: int
    updated: int
    ready: int
    available: int
    conditions: tuple[Condition, ...]
    current: ReplicaSetView | None  # the newest ReplicaSet (what is being rolled out)
    previous: ReplicaSetView | None  # the one before it (what a rollback goes back to)
    rollout_started: datetime | None  # when the current ReplicaSet was created
    settled: bool  # the rollout is complete (`kubectl rollout status` would say so)
    paused: bool = False


@dataclass(frozen=True)
class Termination:
    """How a container's previous run ended (lastState.terminated)."""

    reason: str  # "Error", "OOMKilled", "Completed"
    exit_code: int | None
    finished: datetime | None
    message: str = ""


@dataclass(frozen=True)
class PodView:
    """One pod of the service, as the guide's `kubectl get pods` shows it, and more."""

    name: str
    version: str | None  # the version of its (first configured) container's image
    ready: int  # ready containers
    containers: int  # all containers
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    waiting_reason: str | None  # CrashLoopBackOff, ImagePullBackOff, ... (first found)
    waiting_message: str | None
    restarts: int  # over its containers
    last_termination: Termination | None  # of the container that restarted most
    container: str  # that container (the one `/logs` reads by default)
    created: datetime | None
    node: str | None
    unschedulable: str | None = None  # PodScheduled=False's message, when so

    @property
    def healthy(self) -> bool:
        return (self.phase == "Running" and self.ready == self.containers
                and self.waiting_reason is None and self.unschedulable is None)


@dataclass(frozen=True)
class EventView:
    """One Kubernetes event about the Deployment, one of its ReplicaSets or its pods."""

    type: Literal["Normal", "Warning"] | str
    reason: str  # BackOff, Failed, FailedScheduling, ScalingReplicaSet, ...
    message: str
    object: str  # "Pod/api-7d9c-x2x", "ReplicaSet/api-7d9c", "Deployment/api"
    count: int
    last_seen: datetime | None


@dataclass(frozen=True)
class LogQuery:
    """What `/logs` asks for. `pod` None: the least healthy pod of the current version."""

    pod: str | None = None
    container: str | None = None  # None: the pod's main container
    previous: bool = False  # the container's previous (crashed) run
    since: timedelta | None = None
    tail: int = 200
    limit_bytes: int = 1_000_000  # never more than this is read from the cluster


@dataclass(frozen=True)
class LogTail:
    """The lines read; `truncated` when the cluster had more than `limit_bytes`."""

    pod: str
    container: str
    text: str  # NOT redacted: the service redacts before anything leaves deploybot
    truncated: bool
    previous: bool
