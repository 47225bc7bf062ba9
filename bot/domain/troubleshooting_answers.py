"""What `/rollout`, `/pods` and `/events` answer (plain values, built by
bot.services.troubleshooting, rendered by bot.presentation.troubleshooting_views).

`/rollout` answers after the service's executor: the Kubernetes Deployment
(`KubeRollout`), what the simulated executor knows (`SimulatedRollout`), or the latest run
of a GitHub Actions deploy workflow and its jobs (`ActionsRollout`). `/pods` and `/events`
apply to Kubernetes only (the other executors get a plain "does not apply").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.workflow_runs import RunJob, WorkflowRun
from bot.domain.workloads import EventView, PodView, RolloutView


@dataclass(frozen=True)
class KubeRollout:
    """The Deployment as the cluster shows it now; `view` None: there is no Deployment."""

    environment: str
    service: str
    view: RolloutView | None
    at: datetime


@dataclass(frozen=True)
class SimulatedRollout:
    """What the simulated executor knows: the version running and since when (None: nothing
    was rolled out there), and the versions before it, newest first."""

    environment: str
    service: str
    version: str | None
    since: datetime | None
    previous: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class ActionsRollout:
    """The latest run of the deploy (or rollback) workflow that names the environment, and
    its jobs; `run` None: no run of it names the environment."""

    environment: str
    service: str
    repository: str
    workflow: str
    run: WorkflowRun | None
    jobs: tuple[RunJob, ...]
    at: datetime


RolloutAnswer = KubeRollout | SimulatedRollout | ActionsRollout


@dataclass(frozen=True)
class PodsAnswer:
    environment: str
    service: str
    pods: tuple[PodView, ...]  # unhealthy first, as the executor ordered them
    at: datetime


@dataclass(frozen=True)
class EventsAnswer:
    environment: str
    service: str
    events: tuple[EventView, ...]  # warnings first, then newest first
    at: datetime


TroubleshootAnswer = RolloutAnswer | PodsAnswer | EventsAnswer
