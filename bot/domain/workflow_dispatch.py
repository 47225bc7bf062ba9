"""Deploying by running a GitHub Actions workflow (executor: github-actions), the pure part:
the run key that finds a dispatched run again, the dispatch inputs made from their
templates, one progress line per job state change, and why a run failed in plain words.

`workflow_dispatch` answers without the id of the run it starts, so deploybot sends a key
unique to the deployment and version (`{run_key}` in an input) and the workflow shows it in
its `run-name`; the run whose title carries the key is the one — found again the same way by
a runner that resumes the deployment after a restart, instead of dispatching a second run.
Read back from a successful run's title (`key_in_title`, `title_names`), the key says which
version and deployment that run put live, in the environment its title names.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.workflow_runs import RunJob, WorkflowRun, icon, outcome

#: The placeholders an input (or the ref) may use; {instance} is a pull request's preview
#: instance ("pr-7"), empty for the environment's main instance.
PLACEHOLDERS = ("environment", "version", "service", "deployment_id", "run_key", "instance")


def run_key(deployment_id: int | None, version: str, *, at: datetime) -> str:
    """'deploybot-42-v1.2.3': unique per deployment and version (an automatic rollback runs
    under the deployment's id with the previous version). Without a deployment id (a one-off
    from the shell), the time stands in for it."""
    ident = str(deployment_id) if deployment_id is not None else f"{at:%Y%m%d%H%M%S}"
    return f"deploybot-{ident}-{version}"


def title_has_key(title: str, key: str) -> bool:
    """Whether a run's title carries `key` as a whole word ('deploybot-4-v1' is not in
    'Deploy (deploybot-42-v1)')."""
    return re.search(rf"(?<![\w.+-]){re.escape(key)}(?![\w.+-])", title) is not None


#: A run key in a title: the deployment id (or a one-off's time) and the version, up to
#: the first character that cannot be part of a version (as `title_has_key` sees it).
_KEY = re.compile(r"(?<![\w.+-])deploybot-(\d+)-([\w.+-]+)")
#: A one-off's stand-in for the deployment id: its time, %Y%m%d%H%M%S.
_ONE_OFF = re.compile(r"^\d{14}$")


@dataclass(frozen=True)
class RunKey:
    """What a run key says: the deployment (None: a one-off from the shell) and version."""

    deployment_id: int | None
    version: str


def key_in_title(title: str) -> RunKey | None:
    """The run key a run's title carries ('Deploy v1.2.3 to production
    (deploybot-42-v1.2.3)' → #42, v1.2.3); None when it carries none (a run deploybot did
    not start)."""
    m = _KEY.search(title)
    if m is None:
        return None
    ident, version = m.group(1), m.group(2)
    if _ONE_OFF.match(ident):
        try:
            datetime.strptime(ident, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            return RunKey(None, version)
    return RunKey(int(ident), version)


def title_names(title: str, environment: str) -> bool:
    """Whether a run's title names `environment` as a whole word ('production' is not in
    'pre-production'), apart from its run key (whose version might contain it)."""
    rest = _KEY.sub(" ", title)
    return re.search(rf"(?<![\w-]){re.escape(environment)}(?![\w-])", rest,
                     re.IGNORECASE) is not None


def template_problem(template: str) -> str | None:
    """Why `template` is no good ('unknown placeholder {foo}'); None when it is."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        return f"{template!r} is not a valid template ({e}); write {{{{ and }}}} for braces"
    for f in fields:
        if f not in PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            return f"unknown placeholder {{{f}}} in {template!r} (known: {known})"
    return None


def render(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(dict(values))


@dataclass(frozen=True)
class Dispatch:
    """What to dispatch: the workflow (file name or id), the ref it runs from, its inputs,
    and the key its run carries in its title."""

    workflow: str
    ref: str
    inputs: dict[str, str]
    key: str


def job_line(job: RunJob) -> str:
    """'build ✅', 'deploy ⏳ in progress', 'test ❌ failure'."""
    if job.status == "completed" and job.conclusion == "success":
        return f"{job.name} {icon(job.status, job.conclusion)}"
    return f"{job.name} {icon(job.status, job.conclusion)} {outcome(job.status, job.conclusion)}"


class JobChanges:
    """Which jobs changed state since the last look: one line per change."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[str, str | None]] = {}

    def changes(self, jobs: Sequence[RunJob]) -> list[str]:
        lines: list[str] = []
        for job in jobs:
            state = (job.status, job.conclusion)
            if self._seen.get(job.id) != state:
                self._seen[job.id] = state
                lines.append(job_line(job))
        return lines


def failure(run: WorkflowRun, jobs: Sequence[RunJob], *, workflow: str) -> str:
    """Why a completed run is no success: its conclusion, the failed jobs and their failed
    steps, and the run's link."""
    bad = [j for j in jobs if j.status == "completed"
           and j.conclusion not in ("success", "skipped", "neutral", None)]
    parts = []
    for job in bad:
        steps = ", ".join(f"'{s.name}'" for s in job.failed_steps)
        what = job.conclusion.replace("_", " ") if job.conclusion else "failed"
        parts.append(f"{job.name} ({what}" + (f" at step {steps})" if steps else ")"))
    jobs_text = f": failed jobs: {'; '.join(parts)}" if parts else ""
    return (f"workflow run #{run.number} of {workflow} ended {run.outcome}{jobs_text} — "
            f"{run.url}")
