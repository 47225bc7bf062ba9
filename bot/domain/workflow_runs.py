"""GitHub Actions workflow runs as `/ci` shows them (pure values): a run, its jobs and their
steps, the rules for which of them count as failed, still going, or finished, and what
`/ci` answers (CIReport, CIRerun).

GitHub's `status` says where a run (job, step) is (queued, in_progress, completed, …); its
`conclusion` says how a completed one ended (success, failure, cancelled, …), None before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Conclusions that mean "it failed" (a cancelled or skipped run did not fail).
FAILED = frozenset({"failure", "timed_out", "startup_failure"})
#: Conclusions that mean "it passed".
PASSED = frozenset({"success"})


def icon(status: str, conclusion: str | None) -> str:
    """✅ passed, ❌ failed, ⏳ not finished, 🚫 cancelled, ⏭️ skipped, ⚪ anything else."""
    if status != "completed":
        return "⏳"
    if conclusion in PASSED:
        return "✅"
    if conclusion in FAILED:
        return "❌"
    if conclusion == "cancelled":
        return "🚫"
    if conclusion == "skipped":
        return "⏭️"
    return "⚪"


def outcome(status: str, conclusion: str | None) -> str:
    """'success', 'failure', … once completed; the status ('in progress', 'queued') before."""
    if status == "completed":
        return (conclusion or "completed").replace("_", " ")
    return status.replace("_", " ")


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    status: str
    conclusion: str | None

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED


@dataclass(frozen=True)
class RunJob:
    """One job of a run; `url` is its page on GitHub (the log); `run_id` the run it belongs
    to (None: not said)."""

    id: int
    name: str
    status: str
    conclusion: str | None
    url: str
    steps: tuple[Step, ...] = ()
    run_id: int | None = None

    @property
    def outcome(self) -> str:
        return outcome(self.status, self.conclusion)

    @property
    def failed(self) -> bool:
        return self.conclusion in FAILED

    @property
    def failed_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.failed)

    def step_url(self, step: Step) -> str:
        """The job's log opened at `step` (GitHub's own anchor for it)."""
        return f"{self.url}#step:{step.number}:1"


@dataclass(frozen=True)
class WorkflowRun:
    """One run of a workflow: `name` is the workflow's, `title` the run's (the commit message
    or pull request title), `url` its page on GitHub."""

    id: int
    name: str
    title: str
    number: int
    attempt: int
    status: str
    conclusion: str | None
    url: str
    head_sha: str
    branch: str | None
    event: str
    created_at: datetime | None
    #: When it last changed (a completed run's end, unless re-run since); None: not said.
    updated_at: datetime | None = None
    #: Who started its latest attempt (GitHub's triggering_actor, else actor), when said.
    actor: str | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def failed(self) -> bool:
        return self.completed and self.conclusion in FAILED

    @property
    def icon(self) -> str:
        return icon(self.status, self.conclusion)

    @property
    def outcome(self) -> str:
        return outcome(self.status, self.conclusion)


@dataclass(frozen=True)
class RunDetail:
    """A run, and its failed jobs (with their steps) when it failed and they were looked up
    (`jobs_looked_up` False: too many failed runs to ask about each)."""

    run: WorkflowRun
    failed_jobs: tuple[RunJob, ...] = ()
    jobs_looked_up: bool = False


@dataclass(frozen=True)
class CIReport:
    """What `/ci` answers: the runs of `version`'s commit `sha` (`total` of them exist), or
    the one run asked for by id (`version` and `sha` None)."""

    service: str
    repository: str
    version: str | None
    sha: str | None
    run_id: int | None
    runs: tuple[RunDetail, ...]
    total: int
    at: datetime


@dataclass(frozen=True)
class CIRerun:
    """A re-run asked of GitHub: all of `run`, its failed jobs (`failed_only`) or its one
    `job` (and the jobs that depend on it)."""

    service: str
    repository: str
    run: WorkflowRun
    failed_only: bool
    user_id: str
    at: datetime
    job: RunJob | None = None
