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
back to. `current_version` is None: there is no cluster to ask, and every caller then uses
the version deploybot itself last deployed there (its own record, which it keeps anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.backends.github.actions import GitHubActions
from bot.clock import Clock
from bot.config import GitHubActionsConfig
from bot.domain.workflow_dispatch import Dispatch, JobChanges, failure, render, run_key
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


class GitHubActionsExecutor:
    def __init__(self, service: str, repository: str, config: GitHubActionsConfig,
                 actions: GitHubActions, *, clock: Clock, sleep: Callable[[float], None],
                 keepalive_every: timedelta = timedelta(seconds=20)) -> None:
        """`keepalive_every`: unchanged progress is reported again this often, so the
        runner's lease is renewed while a job runs for long."""
        self._service = service
        self._repository = repository
        self._config = config
        self._actions = actions
        self._clock = clock
        self._sleep = sleep
        self._keepalive_every = keepalive_every

    def current_version(self, environment: str, service: str) -> str | None:
        return None

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
