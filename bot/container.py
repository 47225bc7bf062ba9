"""The composition root: builds every service, backend and store from the typed config.

Nothing else constructs engines, clients or schedulers. Entry points (CLI, web, shell,
tests) call `build_container` and hand the result to the Bolt listeners.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient

from bot.backends.clusters import ServiceClusters
from bot.backends.github import (
    DEFAULT_API_URL,
    GitHubClient,
    GitHubDeploymentMirror,
    GitHubSourceControl,
)
from bot.backends.holiday_calendar import HolidayLibrary
from bot.backends.kubernetes import KubeClients, KubernetesCluster, Timing
from bot.backends.probes import HttpProbes
from bot.backends.simulated import SimulatedCluster
from bot.backends.slack import SlackDirectory, SlackNotifier, make_client
from bot.background import Background
from bot.clock import Clock, ManualClock, OffsetClock, SystemClock
from bot.config import AppConfig
from bot.ports import Cluster, DeploymentMirror, Health, Probes, SourceControl
from bot.services.access import Access
from bot.services.announcements import AnnouncementService
from bot.services.audit import AuditService
from bot.services.deployments import DeploymentService
from bot.services.freezes import FreezeService
from bot.services.github_mirror import GitHubMirror
from bot.services.github_webhooks import GitHubWebhooks
from bot.services.history import HistoryService
from bot.services.home import HomeRefresher, HomeService
from bot.services.locks import LockService
from bot.services.migrations import MigrationService
from bot.services.policy import PolicyService
from bot.services.rollbacks import RollbackService
from bot.services.runner import DeploymentRunner, VerifyPlan
from bot.services.verification import BakeWatch
from bot.services.versions import VersionCheck
from bot.store.db import Database


@dataclass
class Container:
    config: AppConfig
    clock: Clock
    database: Database
    slack: WebClient
    cluster: Cluster
    access: Access
    runner: DeploymentRunner
    deployments: DeploymentService
    policy: PolicyService
    freezes: FreezeService
    notifier: SlackNotifier
    instance: str
    background: Background
    announcements: AnnouncementService
    rollbacks: RollbackService
    migrations: MigrationService
    jobs: Background  # slow one-off work (migration status Jobs), off the listener pool
    history: HistoryService  # `/deploys`: the last deployments, the DORA measures
    audit: AuditService  # the request trail, `/audit`
    locks: LockService
    home: HomeService  # the App Home tab
    home_refresher: HomeRefresher  # republishes it for recent viewers when things change

    kube_clients: KubeClients | None = None  # Kubernetes API clients, one per environment
    source: SourceControl | None = None  # GitHub, when a service names its repository
    github_mirror: GitHubMirror | None = None  # deployments mirrored on GitHub (Deployments API)
    webhooks: GitHubWebhooks | None = None  # POST /github/webhook, when it has a secret
    github: GitHubClient | None = None  # the one connection every GitHub backend shares

    def close(self) -> None:
        self.home_refresher.shutdown()
        self.background.shutdown(wait=True)
        self.jobs.shutdown(wait=True)
        self.audit.flush()  # what the request trail still has queued
        self.runner.shutdown(wait=True)
        if self.github_mirror is not None:
            self.github_mirror.shutdown()
        self.database.dispose()
        if self.kube_clients is not None:
            self.kube_clients.close()
        if self.github is not None:
            self.github.close()


#: Threads for slow one-off work a listener hands off (a migration status Job can take
#: minutes); the listener pool stays free for everything else.
JOB_WORKERS = 2


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def build_container(
    config: AppConfig,
    *,
    database_url: str,
    slack_token: str,
    slack_api_url: str | None = None,
    clock: Clock | None = None,
    cluster: Cluster | None = None,
    progress_every: timedelta = timedelta(seconds=2),
    kubeconfig: str | None = None,
    kubernetes_timing: Timing | None = None,
    sleep: Callable[[float], None] | None = None,
    probes: Probes | None = None,
    verify_poll: timedelta = timedelta(seconds=2),
    github_token: str | None = None,
    github_api_url: str | None = None,
    source: SourceControl | None = None,
    mirror: DeploymentMirror | None = None,
    github_webhook_secret: str | None = None,
) -> Container:
    """`sleep` is how the watch after a rollout waits between looks at the pods: real time,
    or on a ManualClock, moving that clock on (a bake window must end on it too).

    GitHub (`source`) is built only when a service has `github:`; its token is
    `github_token`, else GITHUB_TOKEN from the environment, and `github_api_url` (the
    GITHUB_API_URL setting) overrides app.yaml's github.api_url. Deployments of those
    services are mirrored on GitHub (`mirror`, else that GitHub backend)."""
    clock = clock or SystemClock()
    sleep = sleep or manual_sleep(clock)
    database = Database.from_url(database_url)
    slack = make_client(slack_token, slack_api_url)
    kube_clients = None
    if cluster is None:
        # KUBECONFIG comes from the environment, never from app.yaml.
        cluster, kube_clients = build_clusters(
            config, kubeconfig=kubeconfig or os.environ.get("KUBECONFIG") or None,
            timing=kubernetes_timing)
    # Told of every change shown in Slack (cards, announcements); started once the Home
    # service it refreshes exists (below).
    home_refresher = HomeRefresher(every=config.home.refresh_every, clock=clock)
    notifier = SlackNotifier(slack, channel=config.slack.deployments_channel, zone=config.zone,
                             production=config.production_environments(),
                             severity=config.announcements.severity.mapping,
                             mentions=config.announcements.mentions,
                             changes=home_refresher)
    access = Access(config, SlackDirectory(slack))
    policy = PolicyService(config=config, store=database, holidays=HolidayLibrary())
    name = instance_name()
    runner = DeploymentRunner(
        store=database, cluster=cluster, notifier=notifier, clock=clock, owner=name,
        lease=config.runner.lease, workers=config.runner.workers, gate=policy,
        progress_every=progress_every,
        migrations={svc_name: svc.migrations for svc_name, svc in config.services.items()
                    if svc.migrations is not None},
        verifier=BakeWatch(
            checks={name: env.verify for name, env in config.environments.items()},
            health=cluster if isinstance(cluster, Health) else None,
            probes=probes or HttpProbes(), clock=clock, sleep=sleep, poll_every=verify_poll),
        verify={name: VerifyPlan(bake=env.bake, auto_rollback=env.auto_rollback,
                                 checks=bool(env.verify.smoke or env.verify.prometheus))
                for name, env in config.environments.items()},
        rollback_locks={name: env.rollbacks.lock for name, env in config.environments.items()},
    )
    locks = LockService(config=config, store=database, access=access, clock=clock,
                        poster=notifier)
    github: GitHubClient | None = None
    if source is None and any(svc.github for svc in config.services.values()):
        # Secrets come from the environment, never from app.yaml.
        api_url = (github_api_url or os.environ.get("GITHUB_API_URL")
                   or config.github.api_url or DEFAULT_API_URL)
        github = GitHubClient(
            token=github_token or os.environ.get("GITHUB_TOKEN") or None, api_url=api_url)
        source = GitHubSourceControl(github)
    versions = (VersionCheck(config=config, source=source, clock=clock)
                if source is not None else None)
    if mirror is None and github is not None:
        mirror = GitHubDeploymentMirror(github)
    github_mirror = None
    repositories = {name: svc.github.repository for name, svc in config.services.items()
                    if svc.github is not None}
    if mirror is not None and repositories:
        github_mirror = GitHubMirror(repositories=repositories, store=database, mirror=mirror,
                                     permalink=notifier.permalink)
        notifier.watch(github_mirror)
    deployments = DeploymentService(
        config=config, store=database, notifier=notifier, cluster=cluster, access=access,
        clock=clock, runner=runner, policy=policy, locks=locks, versions=versions,
    )
    rollbacks = RollbackService(config=config, store=database, notifier=notifier,
                                cluster=cluster, access=access, clock=clock, runner=runner,
                                policy=policy)
    freezes = FreezeService(config=config, store=database, policy=policy, access=access,
                            clock=clock, poster=notifier)
    announcements = AnnouncementService(config=config, store=database, policy=policy,
                                        poster=notifier, clock=clock)
    # The running version as the deployments service finds it (the last version deploybot
    # deployed there, else what the cluster runs): one rule for both.
    migrations = MigrationService(config=config, store=database, cluster=cluster,
                                  access=access, clock=clock,
                                  running_version=deployments.running_version)
    home = HomeService(config=config, store=database, cluster=cluster, freezes=freezes,
                       clock=clock, tab=notifier, changes=home_refresher)
    home_refresher.start(home.republish)
    background = Background(workers=config.runner.listener_workers)
    history = HistoryService(config=config, store=database, clock=clock)
    audit = AuditService(config=config, store=database, access=access, clock=clock,
                         defer=background.submit)
    # GitHub webhooks (automatic deploys): on only with a secret, from the environment.
    hook_secret = github_webhook_secret or os.environ.get("GITHUB_WEBHOOK_SECRET") or None
    webhooks = (GitHubWebhooks(config=config, store=database, deployments=deployments,
                               poster=notifier, clock=clock, secret=hook_secret,
                               defer=background.submit)
                if hook_secret else None)
    return Container(config=config, clock=clock, database=database, slack=slack,
                     cluster=cluster, access=access, runner=runner, deployments=deployments,
                     policy=policy, freezes=freezes, notifier=notifier, instance=name,
                     announcements=announcements, kube_clients=kube_clients,
                     rollbacks=rollbacks,
                     background=background, history=history, audit=audit,
                     migrations=migrations, jobs=Background(workers=JOB_WORKERS),
                     locks=locks, home=home, home_refresher=home_refresher,
                     source=source, webhooks=webhooks, github_mirror=github_mirror,
                     github=github)


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


def build_clusters(config: AppConfig, *, kubeconfig: str | None,
                   timing: Timing | None = None) -> tuple[Cluster, KubeClients | None]:
    """The cluster of each service by its executor, behind one router; the Kubernetes
    clients (built lazily, per environment) if a service uses them."""
    simulated = SimulatedCluster(config.simulated, sleep=time.sleep)
    kube: KubeClients | None = None
    routes: dict[str, Cluster] = {}
    for name, svc in config.services.items():
        if svc.executor == "kubernetes" and svc.kubernetes is not None:
            kube = kube or KubeClients(config.kubernetes, kubeconfig=kubeconfig)
            routes[name] = KubernetesCluster(name, svc.kubernetes, kube, timing=timing)
        else:
            routes[name] = simulated
    return ServiceClusters(routes), kube
