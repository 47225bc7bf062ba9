"""The github-actions executor: a Cluster whose rollout is a GitHub Actions workflow run.

`deploy` dispatches the service's workflow (github.actions) with the version and
environment, finds the run by the deployment's run key in its title, and follows it to the
end: one progress line per job state change (with the run's link), success → live, any
other conclusion → RolloutFailed naming the failed jobs and steps, no end within `timeout`
→ RolloutFailed. A resumed deployment (its runner died, the lease ran out) looks for its run
first and follows that one instead of dispatching another. GitHub being down, answering 5xx
or rate limiting is waited out (until the limit resets, else backing off); GitHub refusing
(bad token, missing workflow) fails the deploy with the reason.

`roll_back` runs `rollback_workflow` (default: the same workflow) with the version rolled
back to. `latest_deploy_run` (the DeployRuns capability, for `/rollout`) is the newest run of
either, in any state, that names the environment.

What runs where (`observe`) is the last successful run of
the deploy (or rollback) workflow for that environment: GitHub lists each workflow's
successful runs newest first (at most OBSERVE_PAGES pages of 100); the first whose title
names the environment as a whole word (the documented run-name `Deploy ${{ inputs.version
}} to ${{ inputs.environment }} (${{ inputs.deploybot_run }})` does) is the one, the newer
of the two workflows' when they differ. Its run key gives the version and the deployment
that put it there, its `updated_at` (its end) since when, its link the `image`, its
(triggering) actor who. A run that names the environment but carries no run key (dispatched
by hand, or on push) did deploy there, but deploybot cannot tell which version: it answers
version None with the run's link, rather than an older run's version that no longer runs.

When no answer is found, which is honest? None says "nothing runs there", so it is only
given when that is what GitHub shows: the workflow has no successful run at all, or its
runs name other environments of app.yaml and, read to the end, never this one. Successful
runs whose titles name no environment at all mean the run-name does not show it: deploybot
cannot tell where they deployed, and saying "nothing runs" would be a guess, so that is a
PermanentError asking for the environment in the run-name (callers then show deploybot's
last record as last known, with that reason). So is a history too long to read (no run
naming the environment among the newest pages). GitHub unreachable, 5xx or rate limited is
a RetryableError; a refused token, no access or a missing workflow a PermanentError.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.backends.github.actions import PAGE, GitHubActions
from bot.clock import Clock
from bot.config import GitHubActionsConfig
from bot.domain.live import Observed
from bot.domain.workflow_dispatch import (
    Dispatch,
    JobChanges,
    failure,
    key_in_title,
    render,
    run_key,
    title_names,
)
from bot.domain.workflow_runs import WorkflowRun
from bot.errors import NotFound, PermanentError, RateLimited, RetryableError
from bot.ports import RolloutFailed

log = logging.getLogger(__name__)

#: A run that has not appeared this long after a dispatch GitHub answered with an error
#: (a 5xx may or may not have started it) is dispatched again.
REDISPATCH_AFTER = timedelta(seconds=60)
#: While GitHub cannot be asked, wait at most this long between tries (unless its rate limit
#: says when it resets).
MAX_BACKOFF = timedelta(minutes=5)
#: `observe` reads at most this many pages (of PAGE) of a workflow's successful runs.
OBSERVE_PAGES = 3
#: The run-name that shows both the environment and the run key (examples/workflows/deploy.yml).
RUN_NAME = ("Deploy ${{ inputs.version }} to ${{ inputs.environment }} "
            "(${{ inputs.deploybot_run }})")


class GitHubActionsExecutor:
    def __init__(self, service: str, repository: str, config: GitHubActionsConfig,
                 actions: GitHubActions, *, clock: Clock, sleep: Callable[[float], None],
                 keepalive_every: timedelta = timedelta(seconds=20),
                 environments: Sequence[str] = ()) -> None:
        """`keepalive_every`: unchanged progress is reported again this often, so the
        runner's lease is renewed while a job runs for long. `environments`: app.yaml's,
        so that runs naming another one tell that the run-name does name environments."""
        self._service = service
        self._repository = repository
        self._config = config
        self._actions = actions
        self._clock = clock
        self._sleep = sleep
        self._keepalive_every = keepalive_every
        self._environments = tuple(environments)

    def observe(self, environment: str, service: str) -> Observed | None:
        """The last successful run of the deploy (or rollback) workflow that names
        `environment` in its title (see the module's docstring)."""
        workflows = dict.fromkeys([self._config.workflow,
                                   self._config.rollback_workflow or self._config.workflow])
        looks = [self._last_success(workflow, environment) for workflow in workflows]
        found = [look.run for look in looks if look.run is not None]
        if found:
            run = max(found, key=_ended)
            key = key_in_title(run.title)
            return Observed(version=key.version if key else None, since=run.updated_at,
                            image=run.url, settled=True,
                            deployment_id=key.deployment_id if key else None,
                            changed_by=run.actor)
        if all(look.total == 0 for look in looks):
            return None  # never deployed successfully by these workflows
        names = " or ".join(workflows)
        if any(look.names_others for look in looks):
            if all(look.complete for look in looks):
                return None  # deployed elsewhere, never here
            raise PermanentError(
                f"none of the newest {OBSERVE_PAGES * PAGE} successful runs of {names} in "
                f"{self._repository} names {environment} in its title, so which version "
                "runs there cannot be told from GitHub")
        raise PermanentError(
            f"the successful runs of {names} in {self._repository} do not name the "
            f"environment in their title, so which version runs in {environment} cannot be "
            f"told: the workflow's run-name must show it, e.g. `run-name: {RUN_NAME}`")

    def latest_deploy_run(self, environment: str, service: str) -> WorkflowRun | None:
        """The newest run, in any state, of the deploy (or rollback) workflow whose title
        names `environment` (`/rollout`), among each workflow's newest PAGE runs; the newer
        of the two workflows' when they differ. NotFound (the repository) is a
        PermanentError here, as for `observe`."""
        workflows = dict.fromkeys([self._config.workflow,
                                   self._config.rollback_workflow or self._config.workflow])
        found: list[WorkflowRun] = []
        for workflow in workflows:
            try:
                runs = self._actions.newest_runs(self._repository, workflow)
            except NotFound as e:
                raise PermanentError(str(e)) from e
            named = next((run for run in runs if title_names(run.title, environment)), None)
            if named is not None:
                found.append(named)
        return max(found, key=_started) if found else None

    def _last_success(self, workflow: str, environment: str) -> _Look:
        """The newest successful run of `workflow` naming `environment`, reading at most
        OBSERVE_PAGES pages; NotFound (the repository) is a PermanentError here."""
        others = [e for e in self._environments if e != environment]
        look = _Look()
        for page in range(1, OBSERVE_PAGES + 1):
            try:
                runs, look.total = self._actions.successful_runs(
                    self._repository, workflow, page=page)
            except NotFound as e:
                raise PermanentError(str(e)) from e
            for run in runs:
                if title_names(run.title, environment):
                    look.run = run
                    return look
                look.names_others = look.names_others or any(
                    title_names(run.title, e) for e in others)
            if len(runs) < PAGE or page * PAGE >= look.total:
                look.complete = True
                return look
        return look

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> str | None:
        return self._run(self._config.workflow, environment, version, progress,
                         deployment_id, instance=instance)

    def roll_back(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
    ) -> str | None:
        workflow = self._config.rollback_workflow or self._config.workflow
        return self._run(workflow, environment, version, progress, deployment_id)

    # -- one run ---------------------------------------------------------------------------
    def _run(self, workflow: str, environment: str, version: str,
             progress: Callable[[str], None], deployment_id: int | None, *,
             instance: str | None = None) -> str:
        """Run `workflow` for `version` to its end; the line the result keeps: which run
        deployed it, with its link."""
        at = self._clock.now()
        key = run_key(deployment_id, version, at=at)
        values = {"environment": environment, "version": version, "service": self._service,
                  "deployment_id": "" if deployment_id is None else str(deployment_id),
                  "run_key": key, "instance": instance or ""}
        d = Dispatch(workflow=workflow, ref=render(self._config.ref, values),
                     inputs={k: render(v, values) for k, v in self._config.inputs.items()},
                     key=key)
        say = _Reporter(progress, self._clock, self._keepalive_every)
        run, deadline = self._start(d, say, deadline=at + self._config.timeout)
        self._follow(d, run, say, deadline)
        return f"{d.workflow} run #{run.number}: {run.url}"

    def _start(self, d: Dispatch, say: _Reporter, *,
               deadline: datetime) -> tuple[WorkflowRun, datetime]:
        """The run of `d`: found (a resumed deployment's), else dispatched and found once it
        appears. Also the time by which it must end."""
        dispatched: datetime | None = None  # when GitHub accepted the dispatch
        tried: datetime | None = None  # when a dispatch last failed with a RetryableError
        failures = 0
        while True:
            now = self._clock.now()
            try:
                run = self._actions.find_run(self._repository, d.workflow, d.key)
            except RetryableError as e:
                failures += 1
                self._back_off(e, failures, say, f"looking for the run of {d.workflow}",
                               deadline=deadline)
                self._check_deadline(d, None, deadline, dispatched=dispatched is not None)
                continue
            except (PermanentError, NotFound) as e:
                raise RolloutFailed(f"could not look for the run of {d.workflow} in "
                                    f"{self._repository}: {_text(e)}") from e
            failures = 0
            if run is not None:
                if dispatched is None:  # found again by a resumed runner
                    if run.created_at is not None:  # its time runs from its start
                        deadline = run.created_at + self._config.timeout
                    say.line(f"found run #{run.number} of {d.workflow} again: {run.url}")
                return run, deadline
            self._check_deadline(d, None, deadline, dispatched=dispatched is not None)
            if dispatched is None and (tried is None or now - tried >= REDISPATCH_AFTER):
                try:
                    self._actions.dispatch(self._repository, d)
                except RetryableError as e:
                    tried = now
                    say.line(f"could not start {d.workflow} yet ({_text(e)}); trying again")
                except (PermanentError, NotFound) as e:
                    raise RolloutFailed(f"could not start workflow {d.workflow} of "
                                        f"{self._repository}: {_text(e)}") from e
                else:
                    dispatched = now
                    say.line(f"started {d.workflow} on {d.ref} in {self._repository}; "
                             "waiting for its run")
            say.keep()
            self._sleep(self._config.poll_every.total_seconds())

    def _follow(self, d: Dispatch, run: WorkflowRun, say: _Reporter,
                deadline: datetime) -> None:
        jobs_seen = JobChanges()
        tag = f"run #{run.number} {run.url}"
        say.line(f"{d.workflow} {run.outcome} · {tag}")
        failures = 0
        while True:
            try:
                run = self._actions.run(self._repository, run.id)
                jobs = self._actions.jobs(self._repository, run.id)
            except RetryableError as e:
                failures += 1
                self._back_off(e, failures, say, f"following {tag}", deadline=deadline)
                self._check_deadline(d, run, deadline, dispatched=True)
                continue
            except (PermanentError, NotFound) as e:
                raise RolloutFailed(f"could not follow workflow run #{run.number} of "
                                    f"{d.workflow} ({run.url}): {_text(e)}") from e
            failures = 0
            for line in jobs_seen.changes(jobs):
                say.line(f"{line} · {tag}")
            if run.completed:
                if run.conclusion == "success":
                    say.line(f"{d.workflow} succeeded · {tag}")
                    return
                raise RolloutFailed(failure(run, jobs, workflow=d.workflow))
            self._check_deadline(d, run, deadline, dispatched=True)
            say.keep()
            self._sleep(self._config.poll_every.total_seconds())

    def _check_deadline(self, d: Dispatch, run: WorkflowRun | None, deadline: datetime, *,
                        dispatched: bool) -> None:
        if self._clock.now() < deadline:
            return
        took = _took(self._config.timeout)
        key = f"services.{self._service}.github.actions.timeout"
        if run is None:
            what = ("its run did not appear" if dispatched
                    else "it could not be started")
            raise RolloutFailed(f"workflow {d.workflow} of {self._repository}: {what} within "
                                f"{took} ({key})")
        raise RolloutFailed(f"workflow run #{run.number} of {d.workflow} did not finish within "
                            f"{took} ({key}); it is {run.outcome} and was left alone: "
                            f"{run.url}")

    def _back_off(self, e: RetryableError, failures: int, say: _Reporter, doing: str, *,
                  deadline: datetime) -> None:
        """Wait before asking GitHub again: until its rate limit resets (when it said),
        else doubling from poll_every up to MAX_BACKOFF, but not past `deadline` (then the
        caller gives up); the lease is kept meanwhile."""
        now = self._clock.now()
        wait = min(self._config.poll_every * 2 ** min(failures - 1, 10), MAX_BACKOFF)
        if isinstance(e, RateLimited):
            if e.reset_at is not None and e.reset_at > now:
                wait = e.reset_at - now
            elif e.retry_after is not None:
                wait = e.retry_after
        log.warning("%s: GitHub cannot be asked (%s); again in %s", doing, e, wait)
        say.line(f"GitHub cannot be asked now ({_text(e)}); {doing} again in {_took(wait)}")
        until = min(now + wait, deadline)
        step = self._config.poll_every.total_seconds()
        while (left := (until - self._clock.now()).total_seconds()) > 0:
            self._sleep(min(left, step))
            say.keep()


@dataclass
class _Look:
    """What one workflow's successful runs say about an environment."""

    run: WorkflowRun | None = None  # the newest naming it
    total: int = 0  # how many successful runs the workflow has
    names_others: bool = False  # some name another environment of app.yaml
    complete: bool = False  # every one of them was read


def _started(run: WorkflowRun) -> datetime:
    """When a run was created, for the newer of two workflows' latest runs."""
    return run.created_at or datetime.min.replace(tzinfo=UTC)


def _ended(run: WorkflowRun) -> datetime:
    """When a run ended (its last update), for the newer of two workflows' runs."""
    return run.updated_at or run.created_at or datetime.min.replace(tzinfo=UTC)


class _Reporter:
    """Progress lines: each new one at once; the last one again after `keepalive_every`
    (that renews the runner's lease)."""

    def __init__(self, progress: Callable[[str], None], clock: Clock,
                 keepalive_every: timedelta) -> None:
        self._progress = progress
        self._clock = clock
        self._every = keepalive_every
        self._last = ""
        self._at = clock.now()

    def line(self, text: str) -> None:
        self._last, self._at = text, self._clock.now()
        self._progress(text)

    def keep(self) -> None:
        if self._last and self._clock.now() - self._at >= self._every:
            self.line(self._last)


def _text(e: Exception) -> str:
    return str(e).rstrip(".")


def _took(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"
