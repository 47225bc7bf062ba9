"""Parsing the text of `/ci` (pure: the service names are passed in, no I/O).

Accepted forms (the service may be left out when exactly one service has a GitHub
repository; it may also come first):
    /ci <version> [service]                 the workflow runs of the version's commit
    /ci <run-id> [service]                  one workflow run (a number is a run id)
    /ci rerun <run-id> [--failed] [service]  re-run it (`--failed`: only its failed jobs)
    /ci rerun <run-id> --job=<job-id> [service]  re-run one job of it (`--job <job-id>` too),
                                            as `gh run rerun <run-id> --job=<job-id>`
    /ci help
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 300
MAX_VERSION = 100
MAX_RUN_ID_DIGITS = 20
RERUN = "rerun"
FAILED_FLAG = "--failed"
JOB_FLAG = "--job"

USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/ci &lt;version&gt; [service]` — the CI (GitHub Actions) runs of a version's commit, "
    "e.g. `/ci v1.2.3` or `/ci v1.2.3 api`\n"
    "• `/ci &lt;run-id&gt; [service]` — one workflow run, e.g. `/ci 1234567890`\n"
    "• `/ci rerun &lt;run-id&gt; [--failed] [service]` — re-run a finished run "
    "(`--failed`: only its failed jobs), like `gh run rerun`\n"
    "• `/ci rerun &lt;run-id&gt; --job=&lt;job-id&gt; [service]` — re-run one job of it (and "
    "the jobs that depend on it), like `gh run rerun --job`; `/ci &lt;run-id&gt;` shows the "
    "ids of a failed run's jobs\n"
    "• `/ci help` — this message\n"
    "The service may be left out when only one service has a GitHub repository. Re-running "
    "needs the deployers role of an environment the service deploys to."
)
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]*$")
_RUN_ID = re.compile(r"^[0-9]+$")


class CIUsageError(CommandUsageError):
    """Bad `/ci` text."""

    usage = USAGE


@dataclass(frozen=True)
class CIRunsArgs:
    """The runs of `version`'s commit, or the one run `run_id` (exactly one of them set)."""

    service: str
    version: str | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class CIRerunArgs:
    """Re-run run `run_id`: all of it, its failed jobs (`failed_only`) or the one job
    `job_id` (never both)."""

    service: str
    run_id: int
    failed_only: bool = False
    job_id: int | None = None


@dataclass(frozen=True)
class CIHelpArgs:
    pass


CIParsed = CIRunsArgs | CIRerunArgs | CIHelpArgs


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "none"


def _run_id(word: str) -> int:
    if len(word) > MAX_RUN_ID_DIGITS or int(word) == 0:
        raise CIUsageError(f"{shown(word)} is not a workflow run id.")
    return int(word)


@dataclass(frozen=True)
class _Services:
    with_repository: Collection[str]
    all: Collection[str]

    def named(self, word: str) -> str:
        if word not in self.all and word not in self.with_repository:
            raise CIUsageError(f"Unknown service {shown(word)}. Services with a GitHub "
                               f"repository: {_names(self.with_repository)}.")
        if word not in self.with_repository:
            raise CIUsageError(f"`{word}` has no GitHub repository configured (set "
                               f"`services.{word}.github.repository` in app.yaml).")
        return word

    def only(self, example: str) -> str:
        candidates = sorted(self.with_repository)
        if not candidates:
            raise CIUsageError("No service has a GitHub repository configured, so there is no "
                               "CI to show (set `services.&lt;name&gt;.github.repository` in "
                               "app.yaml).")
        if len(candidates) > 1:
            raise CIUsageError(f"Which service? Name one of {_names(candidates)}, e.g. "
                               f"`{example} {candidates[0]}`.")
        return candidates[0]

    def pick(self, words: list[str], example: str) -> str:
        if not words:
            return self.only(example)
        if len(words) > 1:
            raise CIUsageError(f"Too many words: {shown(' '.join(words[1:]))} was not "
                               "expected.")
        return self.named(words[0])


def _words(text: str) -> list[str]:
    if len(text) > MAX_TEXT:
        raise CIUsageError(f"That command is {len(text)} characters long; the limit is "
                           f"{MAX_TEXT}.")
    words = text.split()
    if not words:
        raise CIUsageError("Which version or workflow run? e.g. `/ci v1.2.3` or "
                           "`/ci 1234567890`.")
    return words


def parse_ci(text: str, *, services_with_repository: Collection[str],
             services: Collection[str] = ()) -> CIParsed:
    """Parse `/ci` text; raise `CIUsageError` with the reason. `services_with_repository`:
    the services with `github.repository`; `services`: every configured service."""
    known = _Services(services_with_repository, set(services) | set(services_with_repository))
    words = _words(text)
    if words == ["help"]:
        return CIHelpArgs()
    if words[0] == RERUN:
        return _rerun(words[1:], known)
    for w in words:
        if w.startswith("-"):
            hint = (" (`--failed` goes with `/ci rerun &lt;run-id&gt; --failed`)"
                    if w == FAILED_FLAG else
                    " (`--job` goes with `/ci rerun &lt;run-id&gt; --job=&lt;job-id&gt;`)"
                    if w == JOB_FLAG or w.startswith(f"{JOB_FLAG}=") else "")
            raise CIUsageError(f"Unknown option {shown(w)}{hint}.")
    if len(words) == 2 and words[0] in known.all and words[1] not in known.all:
        words = [words[1], words[0]]  # `/ci api v1.2.3`
    what, rest = words[0], words[1:]
    if _RUN_ID.match(what):
        run_id = _run_id(what)
        return CIRunsArgs(service=known.pick(rest, f"/ci {what}"), run_id=run_id)
    if len(what) > MAX_VERSION or not _VERSION.match(what):
        raise CIUsageError(f"{shown(what)} is neither a version (a tag, e.g. `v1.2.3`) nor a "
                           "workflow run id (a number).")
    if what in known.all and not rest:
        raise CIUsageError(f"Which version or workflow run of `{what}`? e.g. "
                           f"`/ci v1.2.3 {what}`.")
    return CIRunsArgs(service=known.pick(rest, f"/ci {what}"), version=what)


def _job_id(word: str) -> int:
    if not _RUN_ID.match(word) or len(word) > MAX_RUN_ID_DIGITS or int(word) == 0:
        raise CIUsageError(f"{shown(word)} is not a job id: `{JOB_FLAG}` takes the number "
                           "`/ci &lt;run-id&gt;` shows next to each failed job, e.g. "
                           "`/ci rerun 1234567890 --job=9876543210`.")
    return int(word)


def _take_job(words: list[str]) -> tuple[list[str], int | None]:
    """`--job=<id>` or `--job <id>` taken out of `words` (the rest, and the job id)."""
    rest: list[str] = []
    jobs: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith(f"{JOB_FLAG}=") and w != f"{JOB_FLAG}=":
            jobs.append(w.removeprefix(f"{JOB_FLAG}="))
        elif w in (JOB_FLAG, f"{JOB_FLAG}="):
            if i + 1 == len(words) or words[i + 1].startswith("-"):
                raise CIUsageError(f"Which job? `{JOB_FLAG}` needs a job id, e.g. "
                                   "`/ci rerun 1234567890 --job=9876543210` (`/ci "
                                   "&lt;run-id&gt;` shows the ids of its failed jobs).")
            i += 1
            jobs.append(words[i])
        else:
            rest.append(w)
        i += 1
    if len(jobs) > 1:
        raise CIUsageError(f"One job at a time: `{JOB_FLAG}` was given {len(jobs)} times "
                           f"({shown(' '.join(jobs))}).")
    return rest, (_job_id(jobs[0]) if jobs else None)


def _rerun(words: list[str], known: _Services) -> CIRerunArgs:
    words, job_id = _take_job(words)
    failed_only = FAILED_FLAG in words
    words = [w for w in words if w != FAILED_FLAG]
    if failed_only and job_id is not None:
        raise CIUsageError(f"`{FAILED_FLAG}` and `{JOB_FLAG}` do not go together: "
                           f"`{FAILED_FLAG}` re-runs every failed job of the run, "
                           f"`{JOB_FLAG}=&lt;job-id&gt;` the one job named. Pick one.")
    for w in words:
        if w.startswith("-"):
            raise CIUsageError(f"Unknown option {shown(w)}: `/ci rerun` takes only "
                               f"`{FAILED_FLAG}` or `{JOB_FLAG}=&lt;job-id&gt;`.")
    ids = [w for w in words if _RUN_ID.match(w)]
    others = [w for w in words if not _RUN_ID.match(w)]
    if not ids:
        raise CIUsageError("Which workflow run? e.g. `/ci rerun 1234567890` (the run id is the "
                           "number in the run's URL, or the one `/ci &lt;version&gt;` shows).")
    if len(ids) > 1:
        raise CIUsageError(f"One run at a time: {shown(' '.join(ids))}.")
    run_id = _run_id(ids[0])
    flag = (f" {FAILED_FLAG}" if failed_only
            else f" {JOB_FLAG}={job_id}" if job_id is not None else "")
    service = known.pick(others, f"/ci rerun {run_id}{flag}")
    return CIRerunArgs(service=service, run_id=run_id, failed_only=failed_only, job_id=job_id)
