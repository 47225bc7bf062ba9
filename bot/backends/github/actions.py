"""Running a workflow to deploy (executor: github-actions): dispatch it, find the run it
started, and read that run and its jobs.

POST /actions/workflows/{workflow}/dispatches starts it (GitHub answers 204 without the
run's id); GET /actions/workflows/{workflow}/runs?event=workflow_dispatch lists the newest
runs, among which the one whose title (run-name) carries the deployment's run key is ours;
GET /actions/runs/{id} and /actions/runs/{id}/jobs follow it; GET …/runs?status=success
lists a workflow's successful runs, newest first (what runs where), and without a filter
its newest runs of any state (`/rollout`). Every request goes
through the client's `call`, so errors become deploybot's kinds; a missing workflow, and
GitHub refusing the dispatch (no workflow_dispatch trigger, an input it does not declare),
get messages of their own.
"""

from __future__ import annotations

from typing import NoReturn
from urllib.parse import quote

from github.GithubException import GithubException, UnknownObjectException

from bot.backends.github.client import GitHubClient
from bot.backends.github.payloads import error_message, run_job, workflow_run
from bot.domain.workflow_dispatch import Dispatch, title_has_key
from bot.domain.workflow_runs import RunJob, WorkflowRun
from bot.errors import PermanentError

#: GitHub lists at most this many per page; deploybot reads the newest page only (a run it
#: started is among a workflow's 100 newest dispatched runs).
PAGE = 100


class GitHubActions:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def _url(self, repository: str, path: str) -> str:
        return f"{self._client.repo(repository).url}{path}"

    def _workflow_path(self, workflow: str) -> str:
        return f"/actions/workflows/{quote(workflow, safe='')}"

    def dispatch(self, repository: str, d: Dispatch) -> None:
        """Start the workflow (POST …/dispatches); returns once GitHub accepted it."""
        def ask() -> None:
            url = self._url(repository, f"{self._workflow_path(d.workflow)}/dispatches")
            try:
                self._client.gh.requester.requestJsonAndCheck(
                    "POST", url, input={"ref": d.ref, "inputs": d.inputs})
            except UnknownObjectException:
                self._missing(repository, d.workflow)
            except GithubException as e:
                if e.status != 422:
                    raise
                raise PermanentError(
                    f"GitHub refused to run workflow {d.workflow} of {repository} on "
                    f"{d.ref} (422: {error_message(e) or e.status}); it needs "
                    "`on: workflow_dispatch` "
                    f"declaring the inputs {', '.join(sorted(d.inputs))}, and the ref must "
                    "exist") from e

        self._client.call(repository, ask)

    def find_run(self, repository: str, workflow: str, key: str) -> WorkflowRun | None:
        """The newest dispatched run of `workflow` whose title carries `key`; None when
        there is none (yet: a run appears a few seconds after its dispatch)."""
        def ask() -> WorkflowRun | None:
            url = self._url(repository, f"{self._workflow_path(workflow)}/runs")
            try:
                _, data = self._client.gh.requester.requestJsonAndCheck(
                    "GET", url, parameters={"event": "workflow_dispatch", "per_page": PAGE})
            except UnknownObjectException:
                self._missing(repository, workflow)
            for raw in data.get("workflow_runs") or []:
                run = workflow_run(raw)
                if title_has_key(run.title, key):
                    return run
            return None

        return self._client.call(repository, ask)

    def successful_runs(self, repository: str, workflow: str, *,
                        page: int = 1) -> tuple[list[WorkflowRun], int]:
        """One page (PAGE runs, from 1) of the successful runs of `workflow`, newest first,
        and how many there are."""
        def ask() -> tuple[list[WorkflowRun], int]:
            url = self._url(repository, f"{self._workflow_path(workflow)}/runs")
            try:
                _, data = self._client.gh.requester.requestJsonAndCheck(
                    "GET", url, parameters={"status": "success", "per_page": PAGE,
                                            "page": page})
            except UnknownObjectException:
                self._missing(repository, workflow)
            runs = [workflow_run(raw) for raw in data.get("workflow_runs") or []]
            return runs, int(data.get("total_count") or 0)

        return self._client.call(repository, ask)

    def newest_runs(self, repository: str, workflow: str) -> list[WorkflowRun]:
        """The newest page (PAGE runs) of `workflow`'s runs, whatever their state or event,
        newest first (GitHub lists a workflow's runs so: `/rollout`'s latest deploy run)."""
        def ask() -> list[WorkflowRun]:
            url = self._url(repository, f"{self._workflow_path(workflow)}/runs")
            try:
                _, data = self._client.gh.requester.requestJsonAndCheck(
                    "GET", url, parameters={"per_page": PAGE})
            except UnknownObjectException:
                self._missing(repository, workflow)
            return [workflow_run(raw) for raw in data.get("workflow_runs") or []]

        return self._client.call(repository, ask)

    def run(self, repository: str, run_id: int) -> WorkflowRun:
        def ask() -> WorkflowRun:
            _, data = self._client.gh.requester.requestJsonAndCheck(
                "GET", self._url(repository, f"/actions/runs/{run_id}"))
            return workflow_run(data)

        return self._client.call(repository, ask)

    def jobs(self, repository: str, run_id: int) -> list[RunJob]:
        """The jobs of the run's latest attempt, with their steps."""
        def ask() -> list[RunJob]:
            _, data = self._client.gh.requester.requestJsonAndCheck(
                "GET", self._url(repository, f"/actions/runs/{run_id}/jobs"),
                parameters={"filter": "latest", "per_page": PAGE})
            return [run_job(j) for j in (data.get("jobs") or [])]

        return self._client.call(repository, ask)

    def _missing(self, repository: str, workflow: str) -> NoReturn:
        """A 404 for a workflow: the repository's own NotFound when it is the repository
        that is missing, else a PermanentError naming the workflow."""
        self._client.gh.requester.requestJsonAndCheck("GET", self._url(repository, ""))
        raise PermanentError(f"there is no workflow {workflow} in {repository} (check "
                             "github.actions.workflow: a file name in .github/workflows "
                             "or a workflow id)")
