"""GitHub Actions workflow runs of a repository (`/ci`): the WorkflowRuns port.

Reads a tag's commit (GET /git/ref/tags/{tag}, and /git/tags/{sha} for an annotated tag:
bot.backends.github.source.tag_commit),
the runs of a commit (GET /actions/runs?head_sha=), one run (GET /actions/runs/{id}) and its
jobs with their steps (GET /actions/runs/{id}/jobs), one job (GET /actions/jobs/{id}: its
`run_id`), and re-runs a run (POST /actions/runs/{id}/rerun or /rerun-failed-jobs) or one
job of it (POST /actions/jobs/{id}/rerun, "Re-run a job from a workflow run":
https://docs.github.com/rest/actions/workflow-runs#re-run-a-job-from-a-workflow-run —
201, or 403 when it cannot be re-run; PyGithub has no method for it, so like the others it
goes through the client's requester). Every request goes through the client's `call`, so
errors become deploybot's kinds; a missing run or job, and GitHub refusing a re-run because
of the run's state, get messages of their own.
"""

from __future__ import annotations

from typing import Any

from github.GithubException import GithubException, UnknownObjectException

from bot.backends.github.client import GitHubClient
from bot.backends.github.payloads import error_message, run_job, workflow_run
from bot.backends.github.source import tag_commit
from bot.domain.workflow_runs import RunJob, WorkflowRun
from bot.errors import Conflict, NotFound, PermanentError

#: GitHub lists at most this many per page; deploybot asks for one page only.
PAGE = 100


class GitHubWorkflowRuns:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def _get(self, repository: str, path: str,
             parameters: dict[str, Any] | None = None) -> Any:
        url = f"{self._client.repo(repository).url}{path}"
        _, data = self._client.gh.requester.requestJsonAndCheck("GET", url,
                                                                 parameters=parameters)
        return data

    def tag_commit(self, repository: str, tag: str) -> str | None:
        return self._client.call(repository, lambda: tag_commit(self._client, repository, tag))

    def runs_for_commit(self, repository: str, sha: str, *,
                        limit: int) -> tuple[list[WorkflowRun], int]:
        def ask() -> tuple[list[WorkflowRun], int]:
            data = self._get(repository, "/actions/runs",
                             {"head_sha": sha, "per_page": max(1, min(limit, PAGE))})
            runs = [workflow_run(r) for r in (data.get("workflow_runs") or [])][:max(limit, 0)]
            return runs, int(data.get("total_count") or len(runs))

        return self._client.call(repository, ask)

    def run(self, repository: str, run_id: int) -> WorkflowRun:
        def ask() -> WorkflowRun:
            try:
                return workflow_run(self._get(repository, f"/actions/runs/{run_id}"))
            except UnknownObjectException:
                # A missing repository: the client's NotFound (from listing its tags).
                self._get(repository, "/tags", {"per_page": 1})
                raise NotFound(f"There is no workflow run {run_id} in {repository}. The run "
                               "id is the number in the run's URL (…/actions/runs/"
                               "&lt;id&gt;), or the one `/ci &lt;version&gt;` shows."
                               ) from None

        return self._client.call(repository, ask)

    def jobs(self, repository: str, run_id: int) -> list[RunJob]:
        def ask() -> list[RunJob]:
            data = self._get(repository, f"/actions/runs/{run_id}/jobs",
                             {"filter": "latest", "per_page": PAGE})
            return [run_job(j) for j in (data.get("jobs") or [])]

        return self._client.call(repository, ask)

    def job(self, repository: str, job_id: int) -> RunJob:
        def ask() -> RunJob:
            try:
                return run_job(self._get(repository, f"/actions/jobs/{job_id}"))
            except UnknownObjectException:
                self._get(repository, "/tags", {"per_page": 1})  # a missing repository
                raise NotFound(f"There is no job {job_id} in {repository}. `/ci "
                               "&lt;run-id&gt;` shows the ids of a failed run's jobs.") from None

        return self._client.call(repository, ask)

    def rerun(self, repository: str, run_id: int, *, failed_only: bool) -> None:
        what = "rerun-failed-jobs" if failed_only else "rerun"
        self._post(repository, f"/actions/runs/{run_id}/{what}",
                   missing=f"There is no workflow run {run_id} in {repository}",
                   refused=f"workflow run {run_id} of {repository}")

    def rerun_job(self, repository: str, job_id: int) -> None:
        self._post(repository, f"/actions/jobs/{job_id}/rerun",
                   missing=f"There is no job {job_id} in {repository}",
                   refused=f"job {job_id} of {repository}")

    def _post(self, repository: str, path: str, *, missing: str, refused: str) -> None:
        def ask() -> None:
            url = f"{self._client.repo(repository).url}{path}"
            try:
                self._client.gh.requester.requestJsonAndCheck("POST", url, input={})
            except UnknownObjectException:
                raise NotFound(f"{missing} (or GITHUB_TOKEN cannot see it).") from None
            except GithubException as e:
                refusal = _refusal(e, repository, refused)
                if refusal is None:
                    raise
                raise refusal from e

        self._client.call(repository, ask)


def _refusal(e: GithubException, repository: str,
             what: str) -> Conflict | PermanentError | None:
    """GitHub's 403/409 to a re-run as a clear error; None for anything else (a rate limit
    too: the client says when it resets)."""
    if e.status not in (403, 409):
        return None
    headers = {k.lower(): v for k, v in (e.headers or {}).items()}
    message = error_message(e)
    if headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower():
        return None
    if e.status == 403 and ("not accessible" in message.lower()
                            or "permission" in message.lower()
                            or "admin rights" in message.lower()):
        return PermanentError(f"GitHub refused to re-run runs of `{repository}` (403): "
                              "GITHUB_TOKEN needs Actions: write (fine-grained) or the `repo` "
                              f"scope (classic) — {message}")
    said = f" GitHub says: {message}" if message else ""
    return Conflict(f"GitHub refused to re-run {what} ({e.status}): it is probably still "
                    "running, has nothing to re-run, or is too old to re-run (logs kept past "
                    f"their retention, or over 30 days).{said}")
