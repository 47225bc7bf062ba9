"""The clusters, built for the composition root (bot.container): each service's executor
(the simulated cluster, Kubernetes, GitHub Actions) behind one router, and how their waits
sleep (real time, or moving a test clock on). The `kubernetes` client and PyGithub's Actions
backend are imported only in the branches that build them (tests/test_container_imports.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.backends.clusters import ServiceClusters
from bot.backends.simulated import SimulatedCluster
from bot.clock import Clock, ManualClock, OffsetClock, SystemClock
from bot.config import AppConfig
from bot.fibers import Fibers
from bot.ports import Cluster
from bot.store.db import Database
from bot.store.simulated import SqlSimulatedWorkloads

if TYPE_CHECKING:  # built only when a service needs them (below): imported there
    from bot.backends.github import GitHubClient
    from bot.backends.kubernetes import KubeClients, Timing


def manual_sleep(clock: Clock) -> Callable[[float], None]:
    """time.sleep, or on a ManualClock or OffsetClock (tests, the shell's time-lapse): move it
    on by the wait, after a short real pause (so a cluster has a moment to move too)."""
    if not isinstance(clock, ManualClock | OffsetClock):
        return time.sleep
    manual = clock

    def sleep(seconds: float) -> None:
        time.sleep(min(seconds, 0.001))
        manual.advance(timedelta(seconds=seconds))

    return sleep


def build_clusters(config: AppConfig, *, kubeconfig: str | None, database: Database,
                   timing: Timing | None = None, github: GitHubClient | None = None,
                   clock: Clock | None = None, sleep: Callable[[float], None] | None = None,
                   fibers: Fibers | None = None,
                   ) -> tuple[Cluster, KubeClients | None]:
    """The cluster of each service by its executor, behind one router; the Kubernetes
    clients (built lazily, per environment) if a service uses them. A github-actions
    service runs its workflow through `github`, waiting with `sleep` on `clock`; the
    simulated cluster keeps what it runs in `database`. `fibers`: the runner's, whose
    sleepers the clusters wait with (inside a deployment's fiber they hold no thread)."""
    fibers = fibers or Fibers(workers=1)
    real = fibers.sleeper(time.sleep)
    simulated = SimulatedCluster(config.simulated, workloads=SqlSimulatedWorkloads(database),
                                 clock=clock or SystemClock(), sleep=real)
    kube: KubeClients | None = None
    routes: dict[str, Cluster] = {}
    for name, svc in config.services.items():
        if svc.executor == "kubernetes" and svc.kubernetes is not None:
            from bot.backends.kubernetes import KubeClients, KubernetesCluster

            kube = kube or KubeClients(config.kubernetes, kubeconfig=kubeconfig)
            routes[name] = KubernetesCluster(name, svc.kubernetes, kube, timing=timing,
                                             sleep=real)
        elif svc.executor == "github-actions" and svc.github is not None \
                and svc.github.actions is not None and github is not None:
            from bot.backends.github.actions import GitHubActions
            from bot.backends.github.executor import GitHubActionsExecutor

            routes[name] = GitHubActionsExecutor(
                name, svc.github.repository, svc.github.actions, GitHubActions(github),
                clock=clock or SystemClock(), sleep=fibers.sleeper(sleep or time.sleep),
                environments=tuple(config.environments))
        else:
            routes[name] = simulated
    return ServiceClusters(routes), kube
