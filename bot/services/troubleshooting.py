"""Use cases of `/rollout`, `/pods` and `/events` (the guide's `kubectl get deployments`,
`get pods`, `get events`), and of the Pods button under a failed rollout: one live look at
the service's executor, for the environment's deployers, every use recorded in the audit
log (`troubleshoot.rollout`, `troubleshoot.pods`, `troubleshoot.events`).

What answers depends on the service's executor (bot.services.troubleshooters):
- Kubernetes (the Troubleshooting capability): the Deployment, its pods, its events;
- simulated: `/rollout` says what it knows (the running version and since when, from
  `observe`; the versions before, from `earlier_versions`); `/pods` and `/events` say
  plainly that they do not apply;
- GitHub Actions: `/rollout` shows the latest run of the deploy (or rollback) workflow that
  names the environment, with its jobs (the WorkflowRuns port); `/pods` and `/events` say
  what does not apply.

An executor that cannot be asked this time is a RetryableError (told as "try again");
one deploybot may not read (RBAC) a PermanentError, told to the user with what the executor
said (`Unreadable`); either is recorded. Callers run these off Slack's ack path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.config import AppConfig
from bot.domain.troubleshooting_answers import (
    ActionsRollout,
    EventsAnswer,
    KubeRollout,
    PodsAnswer,
    RolloutAnswer,
    SimulatedRollout,
    TroubleshootAnswer,
)
from bot.domain.troubleshooting_commands import (
    Kind,
    TroubleshootArgs,
    TroubleshootParsed,
    parse_troubleshoot,
)
from bot.domain.workflow_runs import RunJob
from bot.errors import Forbidden, NotFound, PermanentError, UserError
from bot.ports import (
    Clock,
    Cluster,
    DeployRuns,
    Revisions,
    Store,
    Troubleshooting,
    WorkflowRuns,
)
from bot.services.access import Access
from bot.services.troubleshooters import DoesNotApply, executor_of, troubleshooter

#: At most this many events are asked for (warnings first, then newest).
MAX_EVENTS = 50


class Unreadable(UserError):
    """deploybot may not read the executor (RBAC, access): the message says what it was
    told and who can fix it."""

    icon = "🔒"


class TroubleshootingService:
    def __init__(self, *, config: AppConfig, store: Store, cluster: Cluster, access: Access,
                 clock: Clock, runs: WorkflowRuns | None) -> None:
        self._config = config
        self._store = store
        self._cluster = cluster
        self._access = access
        self._clock = clock
        self._runs = runs

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def parse(self, kind: Kind, text: str) -> TroubleshootParsed:
        cfg = self._config
        return parse_troubleshoot(
            kind, text, environments=cfg.environments.keys(),
            services_in={env: cfg.services_in(env) for env in cfg.environments},
            services=cfg.services.keys())

    # -- the reads ------------------------------------------------------------------------
    def look(self, args: TroubleshootArgs, *, user_id: str,
             slack_channel: str | None = None) -> TroubleshootAnswer:
        """`/rollout`, `/pods` or `/events`, as `args.kind` says."""
        read = {"rollout": self.rollout, "pods": self.pods, "events": self.events}[args.kind]
        return read(args, user_id=user_id, slack_channel=slack_channel)

    def rollout(self, args: TroubleshootArgs, *, user_id: str,
                slack_channel: str | None = None) -> RolloutAnswer:
        """The Deployment (Kubernetes), the latest deploy run and its jobs (GitHub Actions),
        or what runs (simulated: any executor without either capability)."""
        t = self._allowed(args, user_id)
        with self._recorded(t, user_id, slack_channel) as note:
            executor = executor_of(self._cluster, t.service)
            if isinstance(executor, Troubleshooting):
                view = executor.rollout_view(t.environment, t.service)
                note["found"] = view is not None
                return KubeRollout(t.environment, t.service, view, self._clock.now())
            if isinstance(executor, DeployRuns):
                actions = self._actions_rollout(t, executor)
                note["run_id"] = actions.run.id if actions.run is not None else None
                return actions
            simulated = self._simulated_rollout(t, executor)
            note["version"] = simulated.version
            return simulated

    def pods(self, args: TroubleshootArgs, *, user_id: str,
             slack_channel: str | None = None) -> PodsAnswer:
        """The service's pods, unhealthy first."""
        t = self._allowed(args, user_id)
        with self._recorded(t, user_id, slack_channel) as note:
            reads = troubleshooter(self._config, self._cluster, t.service, "/pods")
            pods = tuple(reads.pods(t.environment, t.service))
            note["pods"] = len(pods)
            note["unhealthy"] = sum(1 for p in pods if not p.healthy)
            return PodsAnswer(t.environment, t.service, pods, self._clock.now())

    def events(self, args: TroubleshootArgs, *, user_id: str,
               slack_channel: str | None = None) -> EventsAnswer:
        """Recent events of the Deployment, its ReplicaSets and pods, warnings first."""
        t = self._allowed(args, user_id)
        with self._recorded(t, user_id, slack_channel) as note:
            reads = troubleshooter(self._config, self._cluster, t.service, "/events")
            events = tuple(reads.events(t.environment, t.service, limit=MAX_EVENTS))
            note["events"] = len(events)
            note["warnings"] = sum(1 for e in events if e.type == "Warning")
            return EventsAnswer(t.environment, t.service, events, self._clock.now())

    def pods_of_deployment(self, deployment_id: int, *, user_id: str,
                           slack_channel: str | None = None) -> PodsAnswer:
        """`/pods` for the environment and service of a deployment (the Pods button)."""
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"There is no deployment #{deployment_id}.")
        return self.pods(TroubleshootArgs("pods", d.environment, d.service),
                         user_id=user_id, slack_channel=slack_channel)

    # -- pieces ---------------------------------------------------------------------------
    def _allowed(self, args: TroubleshootArgs, user_id: str) -> TroubleshootArgs:
        env = args.environment
        if not self._access.may_deploy(user_id, env):
            roles = ", ".join(f"`{r}`" for r in self._config.environments[env].deployers)
            raise Forbidden(f"You may not see the {args.kind} of `{args.service}` in "
                            f"{env}: that needs the {roles or 'deployers'} role (the "
                            "environment's deployers). Ask a platform admin to add you in "
                            "app.yaml.")
        return args

    def _simulated_rollout(self, t: TroubleshootArgs, executor: Cluster) -> SimulatedRollout:
        observed = executor.observe(t.environment, t.service)
        earlier = (executor.earlier_versions(t.environment, t.service)
                   if isinstance(executor, Revisions) else [])
        return SimulatedRollout(
            t.environment, t.service,
            version=observed.version if observed is not None else None,
            since=observed.since if observed is not None else None,
            previous=tuple(earlier[:5]), at=self._clock.now())

    def _actions_rollout(self, t: TroubleshootArgs, executor: DeployRuns) -> ActionsRollout:
        gh = self._config.services[t.service].github
        if gh is None or gh.actions is None or self._runs is None:
            raise PermanentError(f"{t.service} has executor github-actions without "
                                 "github.actions, or no GitHub backend was built")
        run = executor.latest_deploy_run(t.environment, t.service)
        jobs: tuple[RunJob, ...] = ()
        if run is not None:
            jobs = tuple(self._runs.jobs(gh.repository, run.id))
        return ActionsRollout(t.environment, t.service, gh.repository, gh.actions.workflow,
                              run, jobs, self._clock.now())

    @contextmanager
    def _recorded(self, t: TroubleshootArgs, user_id: str,
                  slack_channel: str | None) -> Iterator[dict[str, object]]:
        """The read in the `with` block, recorded in the audit log with the details it noted
        (or the error it ended in). A PermanentError (RBAC, access) is told to the user as
        `Unreadable`; a RetryableError goes on as it is (try again)."""
        note: dict[str, object] = {}
        try:
            yield note
        except DoesNotApply:
            self._record(t, user_id, slack_channel, note | {"ok": True, "applies": False})
            raise
        except Exception as err:
            self._record(t, user_id, slack_channel, note | {"ok": False,
                                                            "error": str(err)[:500]})
            if isinstance(err, PermanentError):
                raise Unreadable(f"deploybot cannot read this about `{t.service}` in "
                                 f"{t.environment}: {err}. Nothing was changed. deploybot's "
                                 "own access is set up by the platform team (deploy/, "
                                 "docs/kubernetes.md).") from err
            raise
        self._record(t, user_id, slack_channel, note | {"ok": True})

    def _record(self, t: TroubleshootArgs, user_id: str, slack_channel: str | None,
                details: dict[str, object]) -> None:
        with self._store.transaction() as r:
            r.audit.record(f"troubleshoot.{t.kind}", actor=user_id, at=self._clock.now(),
                           slack_channel=slack_channel, environment=t.environment,
                           details={"service": t.service, "environment": t.environment,
                                    "executor": self._config.services[t.service].executor}
                           | details)

