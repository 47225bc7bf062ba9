"""The composition root: builds every service, backend and store from the typed config.

Nothing else constructs engines, clients or schedulers. Entry points (CLI, web, shell,
tests) call `build_container` and hand the result to the Bolt listeners.

This module holds the `Container` dataclass and `build_container`, the wiring of every
service (one composition root, no logic beyond choosing what to build from the config). What
it builds only when the config asks is in the modules beside it: the clusters of the
services' executors (bot.container.clusters), the GitHub client and the polling for automatic
deploys (bot.container.github), the alert routing and the daily summary
(bot.container.alerts), each environment's feature flags (bot.container.flags); this
process among the replicas — its instance id, the Slack requests' bookkeeping — is in
bot.container.replicas.

The heavy client libraries are imported only where the config needs them: the Kubernetes
backend (the `kubernetes` client) when a service has `executor: kubernetes`, the GitHub
backends (PyGithub) when GitHub is built (a service with `github:`, or a github-actions
service). Their imports are function-local, in the branches that build them, so a process
whose config uses neither (e.g. a web process of a simulated setup) never loads them
(tests/test_container_imports.py).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.backends.holiday_calendar import HolidayLibrary
from bot.backends.probes import HttpProbes
from bot.backends.slack import SlackDirectory, SlackNotifier, make_client
from bot.backends.slack.files import SlackFiles
from bot.backends.slack.health import SlackDependency
from bot.backends.slack.modals import SlackModals
from bot.background import Background
from bot.clock import Clock, SystemClock
from bot.config import AppConfig
from bot.config.flags import kill_switch_flags
from bot.config.links import link_catalog
from bot.container.alerts import build_alerts
from bot.container.checklists import build_checklists
from bot.container.clusters import build_clusters, manual_sleep
from bot.container.flags import Flags, build_flags
from bot.container.github import build_mirror, build_polling, github_client
from bot.container.replicas import build_acknowledged, build_slack_requests, instance_name
from bot.fibers import Fibers
from bot.metrics import DeploybotMetrics
from bot.ports import Cluster, DeploymentMirror, Health, Probes, RepositoryHeads, SourceControl
from bot.services.abort import AbortService
from bot.services.access import Access
from bot.services.acknowledged import AcknowledgedRequests
from bot.services.alerts import AlertRouter
from bot.services.announcements import AnnouncementService
from bot.services.audit import AuditService
from bot.services.checklist import ChecklistService
from bot.services.checklist_attestations import UncheckedChecklists
from bot.services.checklist_form import NotApplicableForm
from bot.services.ci import CIService
from bot.services.daily_summary import DailySummary
from bot.services.deploy_form import DeployForm
from bot.services.deployments import DeploymentService
from bot.services.failure_evidence import FailureEvidenceReader
from bot.services.flag_changes import FlagChangeService
from bot.services.flag_reads import FlagReader
from bot.services.flag_snapshots import FlagSnapshots
from bot.services.flags_command import FlagsService
from bot.services.freezes import FreezeService
from bot.services.github_mirror import GitHubMirror
from bot.services.github_polling import GitHubPolling
from bot.services.github_webhooks import GitHubWebhooks
from bot.services.history import HistoryService
from bot.services.home import HomeRefresher, HomeService
from bot.services.live import LiveState
from bot.services.locks import LockService
from bot.services.logs import LogService
from bot.services.migrations import MigrationService
from bot.services.policy import PolicyService
from bot.services.previews import PreviewService
from bot.services.readiness import ReadinessCheck
from bot.services.reject_form import RejectForm
from bot.services.rollbacks import RollbackService
from bot.services.runner import DeploymentRunner, VerifyPlan
from bot.services.slack_requests import SlackRequests
from bot.services.troubleshooting import TroubleshootingService
from bot.services.verification import BakeWatch
from bot.services.versions import VersionCheck
from bot.settings import GitHubApp, github_app_from_env
from bot.store.db import Database
from bot.store.health import DatabaseDependency

if TYPE_CHECKING:  # built only when the config needs them (below): imported there
    from bot.backends.github import GitHubClient
    from bot.backends.kubernetes import KubeClients, Timing


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
    live: LiveState  # what runs where (the executor's answer, else the last record)
    policy: PolicyService
    freezes: FreezeService
    notifier: SlackNotifier
    instance: str
    background: Background
    announcements: AnnouncementService
    rollbacks: RollbackService
    abort: AbortService  # Abort / `/deploy abort <id>` while a deploy rolls out or is watched
    migrations: MigrationService
    jobs: Background  # slow one-off work (migration status Jobs), off the listener pool
    history: HistoryService  # `/deploys`: the last deployments, the DORA measures
    audit: AuditService  # the request trail, `/audit`
    locks: LockService
    home: HomeService  # the App Home tab
    home_refresher: HomeRefresher  # republishes it for recent viewers when things change
    ci: CIService  # `/ci`: workflow runs of a version, re-runs (GitHub Actions)
    troubleshooting: TroubleshootingService  # `/rollout`, `/pods`, `/events`, the Pods button
    logs: LogService  # `/logs` and the Logs button: pod logs posted as files, redacted
    metrics: DeploybotMetrics  # this bot's Prometheus registry (GET /metrics)
    readiness: ReadinessCheck  # GET /readyz: the database and Slack answer
    slack_requests: SlackRequests  # each Slack request handled once, in any replica
    flag_changes: FlagChangeService  # `/flag`: a flag changed like a deploy (and kill switches)
    flags_view: FlagsService  # `/flags`: a service's declared feature flags, as they are
    deploy_form: DeployForm  # the `/deploy` modal (`/deploy` with no text)
    reject_form: RejectForm  # Reject asks for the reason in a modal
    na_form: NotApplicableForm  # "Not applicable" on a checklist item asks why in a modal
    acknowledged: AcknowledgedRequests  # requests acked, not answered yet; the lost ones told

    kube_clients: KubeClients | None = None  # Kubernetes API clients, one per environment
    source: SourceControl | None = None  # GitHub, when a service names its repository
    github_mirror: GitHubMirror | None = None  # deployments mirrored on GitHub (Deployments API)
    webhooks: GitHubWebhooks | None = None  # POST /github/webhook, when it has a secret
    github: GitHubClient | None = None  # the one connection every GitHub backend shares
    checklists: ChecklistService | None = None  # the pre-deployment checklist (`checklist:`)
    github_polling: GitHubPolling | None = None  # automatic deploys when webhooks are off
    alerts: AlertRouter | None = None  # alerts routed by severity (alerts.routes)
    summary: DailySummary | None = None  # the daily summary email (alerts.email)
    # feature flags per environment (flags:): their FlagStore and FlagEvaluator
    flags: Flags = field(default_factory=Flags)

    def close(self) -> None:
        self.readiness.shutdown()
        self.home_refresher.shutdown()
        self.background.shutdown(wait=True)
        self.jobs.shutdown(wait=True)
        self.acknowledged.close()  # after the answers: what they forget is forgotten
        self.deploy_form.shutdown()
        self.audit.flush()  # what the request trail still has queued
        self.runner.shutdown(wait=True)
        if self.github_mirror is not None:
            self.github_mirror.shutdown()
        if self.alerts is not None:
            self.alerts.shutdown()
        self.database.dispose()
        if self.kube_clients is not None:
            self.kube_clients.close()
        self.flags.close()
        if self.github is not None:
            self.github.close()


#: Threads for slow one-off work a listener hands off (a migration status Job can take
#: minutes); the listener pool stays free for everything else.
JOB_WORKERS = 2


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
    heads: RepositoryHeads | None = None,
    socket_mode: bool = False,
    github_app: GitHubApp | None = None,
    form_tags_deadline: float | None = None,  # the /deploy form's wait for GitHub's tags
) -> Container:
    """`sleep` is how the watch after a rollout waits between looks at the pods: real time,
    or on a ManualClock, moving that clock on (a bake window must end on it too).

    GitHub (`source`) is built only when a service has `github:`; its token is
    `github_token`, else GITHUB_TOKEN from the environment, and `github_api_url` (the
    GITHUB_API_URL setting) overrides app.yaml's github.api_url. Deployments of those
    services are mirrored on GitHub (`mirror`, else that GitHub backend). As a GitHub App
    instead of with a token: `github_app`, else GITHUB_APP_* from the environment
    (SettingsError when only part of them is given)."""
    github_token = github_token or os.environ.get("GITHUB_TOKEN") or None
    # Checked before anything is built: only part of the App settings fails the start.
    github_app = github_app or (None if github_token else github_app_from_env(os.environ))
    clock = clock or SystemClock()
    sleep = sleep or manual_sleep(clock)
    # Deployments run as fibers on `runner.workers` threads; every wait on their way (the
    # rollout, a Job, the watch) goes through a sleeper of these, so it holds no thread.
    fibers = Fibers(workers=config.runner.workers)
    database = Database.from_url(database_url)
    slack = make_client(slack_token, slack_api_url)
    kube_clients = None
    # Secrets come from the environment, never from app.yaml.
    github_url = (github_api_url or os.environ.get("GITHUB_API_URL")
                  or config.github.api_url or None)  # None: GitHub's (DEFAULT_API_URL)
    github: GitHubClient | None = None
    if cluster is None and any(svc.executor == "github-actions"
                               for svc in config.services.values()):
        github = github_client(config, api_url=github_url, app=github_app, token=github_token)
    if cluster is None:
        # KUBECONFIG comes from the environment, never from app.yaml.
        cluster, kube_clients = build_clusters(
            config, kubeconfig=kubeconfig or os.environ.get("KUBECONFIG") or None,
            database=database, timing=kubernetes_timing, github=github, clock=clock,
            sleep=sleep, fibers=fibers)
    # Feature flags: flagd's definitions through the executors' Kubernetes clients (or their
    # own), OFREP services with tokens from the environment.
    flags = build_flags(config, kube_clients=kube_clients,
                        kubeconfig=kubeconfig or os.environ.get("KUBECONFIG") or None,
                        environ=os.environ, timing=kubernetes_timing)
    flag_reader = FlagReader(config=config, clock=clock, stores=flags.store,
                             evaluators=flags.evaluator)
    # The record's "Feature flags set": read as each deploy's rollout starts, kept.
    flags_set = FlagSnapshots(store=database, reader=flag_reader)
    # Told of every change shown in Slack (cards, announcements); started once the Home
    # service it refreshes exists (below).
    home_refresher = HomeRefresher(every=config.home.refresh_every, clock=clock)
    notifier = SlackNotifier(slack, channel=config.slack.deployments_channel, zone=config.zone,
                             production=config.production_environments(),
                             severity=config.announcements.severity.mapping,
                             mentions=config.announcements.mentions,
                             changes=home_refresher, links=link_catalog(config),
                             kill_switches=kill_switch_flags(config))
    access = Access(config, SlackDirectory(slack))
    policy = PolicyService(config=config, store=database, holidays=HolidayLibrary())
    name = instance_name()
    # This bot's own registry (never prometheus_client's global one): labels bounded by
    # the environments in app.yaml.
    metrics = DeploybotMetrics(environments=config.environments.keys())
    # What runs where: the executor's answer with deploybot's history (one function for
    # status, App Home, cards, announcements, rollback targets and the runner).
    live = LiveState(config=config, store=database, cluster=cluster, clock=clock,
                     poster=notifier)
    if source is None and any(svc.github for svc in config.services.values()):
        from bot.backends.github import GitHubSourceControl

        github = github or github_client(config, api_url=github_url, app=github_app,
                                          token=github_token)
        source = GitHubSourceControl(github)
    versions = (VersionCheck(config=config, source=source, clock=clock)
                if source is not None else None)
    runner = DeploymentRunner(
        store=database, cluster=cluster, notifier=notifier, clock=clock, owner=name,
        metrics=metrics, live=live, versions=versions,
        lease=config.runner.lease, workers=config.runner.workers, gate=policy,
        progress_every=progress_every, fibers=fibers,
        migrations={svc_name: svc.migrations for svc_name, svc in config.services.items()
                    if svc.migrations is not None},
        verifier=BakeWatch(
            checks={name: env.verify for name, env in config.environments.items()},
            health=cluster if isinstance(cluster, Health) else None,
            probes=probes or HttpProbes(), clock=clock, sleep=fibers.sleeper(sleep),
            poll_every=verify_poll,
            # Each report lets the runner notice an abort: every few seconds of the watch.
            report_every=max(verify_poll, timedelta(seconds=5))),
        verify={name: VerifyPlan(bake=env.bake, auto_rollback=env.auto_rollback,
                                 checks=bool(env.verify.smoke or env.verify.prometheus))
                for name, env in config.environments.items()},
        rollback_locks={name: env.rollbacks.lock for name, env in config.environments.items()},
        evidence=FailureEvidenceReader.of(cluster), flags=flags.stores,
        flags_at_start=flags_set.at_start, poster=notifier, zone=config.zone,
    )
    locks = LockService(config=config, store=database, access=access, clock=clock,
                        poster=notifier)
    runs = None
    if github is not None:
        from bot.backends.github.runs import GitHubWorkflowRuns

        runs = GitHubWorkflowRuns(github)
    ci = CIService(config=config, store=database, access=access, clock=clock, runs=runs,
                   versions=versions)
    troubleshooting = TroubleshootingService(config=config, store=database, cluster=cluster,
                                             access=access, clock=clock, runs=runs)
    logs = LogService(config=config, store=database, cluster=cluster, access=access,
                      clock=clock, files=SlackFiles(slack))
    github_mirror = build_mirror(config, store=database, notifier=notifier, mirror=mirror,
                                 github=github)
    background = Background(workers=config.runner.listener_workers,
                            limit=config.runner.listener_queue)
    checklists = build_checklists(config, store=database, github=github, clock=clock,
                                  notifier=notifier, defer=background.submit,
                                  flags=flag_reader)
    notifier.show_checklists(checklists or UncheckedChecklists(config, store=database))
    notifier.show_flags_set(flags_set.of)
    known_tag = versions.known_tag if versions is not None else None
    notifier.show_tags(known_tag)
    alerts, summary = build_alerts(config, store=database, notifier=notifier, clock=clock,
                                   locks=locks)
    deployments = DeploymentService(
        config=config, store=database, notifier=notifier, cluster=cluster, access=access,
        clock=clock, runner=runner, policy=policy, locks=locks, versions=versions,
        checklist=checklists,
        metrics=metrics, live=live,
    )
    flag_changes = FlagChangeService(
        flags=flags.stores, config=config, store=database, notifier=notifier, cluster=cluster,
        access=access, clock=clock, runner=runner, policy=policy, locks=locks, metrics=metrics,
        live=live)
    rollbacks = RollbackService(config=config, store=database, notifier=notifier,
                                cluster=cluster, access=access, clock=clock, runner=runner,
                                policy=policy, live=live, versions=versions)
    freezes = FreezeService(config=config, store=database, policy=policy, access=access,
                            clock=clock, poster=notifier, reopened=deployments.bring_forward,
                            turned=deployments.show_awaiting)
    notifier.show_window(deployments.card_window)  # a freeze started under a waiting request
    announcements = AnnouncementService(config=config, store=database, policy=policy,
                                        poster=notifier, clock=clock,
                                        turned=deployments.show_awaiting)
    # The running version as live state answers it (the executor, else the last record).
    migrations = MigrationService(config=config, store=database, cluster=cluster,
                                  access=access, clock=clock,
                                  running_version=deployments.running_version)
    home = HomeService(config=config, store=database, live=live, freezes=freezes, clock=clock,
                       tab=notifier, changes=home_refresher, tags=known_tag)
    home_refresher.start(home.republish)
    history = HistoryService(config=config, store=database, clock=clock)
    audit = AuditService(config=config, store=database, access=access, clock=clock,
                         defer=background.submit)
    # GitHub webhooks (automatic deploys): on only with a secret, from the environment.
    hook_secret = github_webhook_secret or os.environ.get("GITHUB_WEBHOOK_SECRET") or None
    # A closed pull request's previews (per-PR instances) are removed.
    previews = PreviewService(store=database, cluster=cluster, poster=notifier, clock=clock,
                              actor=config.github.auto_deployer, notifier=notifier)
    webhooks = (GitHubWebhooks(config=config, store=database, deployments=deployments,
                               poster=notifier, clock=clock, secret=hook_secret,
                               defer=background.submit, previews=previews)
                if hook_secret else None)
    if heads is None and github is not None:
        from bot.backends.github import GitHubRepositoryHeads

        heads = GitHubRepositoryHeads(github)
    github_polling = build_polling(config, store=database, webhooks=webhooks, clock=clock,
                              heads=heads,
                              socket_mode=socket_mode, notifier=notifier,
                              deployments=deployments, defer=background.submit,
                              previews=previews)
    # /readyz: Slack's auth.test is asked at most every 30 s (probes come every few seconds).
    readiness = ReadinessCheck([DatabaseDependency(database), SlackDependency(slack)],
                               clock=clock, timeout=timedelta(seconds=2),
                               cache={SlackDependency.name: timedelta(seconds=30)})
    modals = SlackModals(slack)  # the /deploy form, Reject's reason
    return Container(config=config, clock=clock, database=database, slack=slack,
                     metrics=metrics, readiness=readiness,
                     slack_requests=build_slack_requests(database, clock=clock),
                     cluster=cluster, access=access, runner=runner, deployments=deployments,
                     live=live,
                     policy=policy, freezes=freezes, notifier=notifier, instance=name,
                     announcements=announcements, kube_clients=kube_clients,
                     rollbacks=rollbacks, flag_changes=flag_changes,
                     abort=AbortService(store=database, notifier=notifier, access=access,
                                        clock=clock),
                     background=background, history=history, audit=audit,
                     migrations=migrations, jobs=Background(workers=JOB_WORKERS),
                     locks=locks, home=home, home_refresher=home_refresher, ci=ci,
                     troubleshooting=troubleshooting, logs=logs,
                     flags_view=FlagsService(config=config, store=database, access=access,
                                             clock=clock, reader=flag_reader),
                     deploy_form=DeployForm(config=config, store=database, modals=modals,
                                            versions=versions, deadline=form_tags_deadline),
                     reject_form=RejectForm(deployments=deployments, modals=modals),
                     na_form=NotApplicableForm(modals=modals),
                     acknowledged=build_acknowledged(config, database, clock=clock,
                                                     instance=name, slack=slack,
                                                     notifier=notifier),
                     source=source, webhooks=webhooks, github_mirror=github_mirror,
                     github=github, github_polling=github_polling,
                     checklists=checklists, alerts=alerts, summary=summary, flags=flags)

