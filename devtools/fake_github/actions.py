"""Workflow dispatches and their runs on the fake GitHub API (routes registered on a
FakeGitHub): a small state machine the test advances.

POST /repos/{repo}/actions/workflows/{workflow}/dispatches (204; 404 for an unknown
workflow, 422 for an input the workflow does not declare, as GitHub), GET
/actions/workflows/{workflow}/runs (filters `event`, `status` — a status or a conclusion,
as GitHub —, `per_page`, `page`; newest first), GET
/actions/runs/{id} and GET /actions/runs/{id}/jobs (with steps), and GET /repos/{repo}.
A dispatch starts a run whose title is the workflow's `run_name` with the inputs filled in
(GitHub's run-name); it shows in the `appear_after`th listing after it (GitHub's delay).
`advance()` moves every run shown one stage on: queued → in progress, job by job →
completed (a job named in `fail` fails at that step, the jobs after it are skipped); a run's
`updated_at` is when it completed (else when it was created), its actor and
triggering_actor the dispatcher's login (`actor`, or the one `add_run` names).
`errors` answers the next requests under /actions/ with those statuses (502, or 429/403
rate limits with their headers) first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug import Response

from devtools.fake_github.server import FakeGitHub, Hit


@dataclass
class Workflow:
    name: str  # "Deploy to Production"
    inputs: tuple[str, ...]  # the declared workflow_dispatch inputs
    run_name: str | None  # e.g. "Deploy {version} ({deploybot_run})"; None: the name
    jobs: tuple[str, ...] = ("build", "deploy")


@dataclass
class Run:
    id: int
    number: int
    repo: str
    workflow: str
    title: str
    ref: str
    inputs: dict[str, str]
    created_at: datetime
    jobs: tuple[str, ...]
    fail: dict[str, str]  # job name -> the step that fails
    stage: int = 0
    listed_after: int = 0  # visible to listings once this many were answered
    actor: str = "deploybot-app[bot]"
    ended_at: datetime | None = None  # when it completed

    def job_states(self) -> list[tuple[str, str, str | None, str | None]]:
        """(name, status, conclusion, failed step) of each job at this stage."""
        out: list[tuple[str, str, str | None, str | None]] = []
        failed = False
        for i, name in enumerate(self.jobs):
            if failed:
                out.append((name, "completed", "skipped", None))
            elif self.stage >= i + 2:
                step = self.fail.get(name)
                out.append((name, "completed", "failure" if step else "success", step))
                failed = step is not None
            elif self.stage == i + 1:
                out.append((name, "in_progress", None, None))
            else:
                out.append((name, "queued", None, None))
        return out

    @property
    def status(self) -> str:
        states = self.job_states()
        if all(s == "completed" for _, s, _, _ in states):
            return "completed"
        return "queued" if self.stage == 0 else "in_progress"

    @property
    def conclusion(self) -> str | None:
        if self.status != "completed":
            return None
        return "failure" if any(c == "failure" for _, _, c, _ in self.job_states()) \
            else "success"


@dataclass
class FakeActions:
    fake: FakeGitHub
    now: Callable[[], datetime]
    workflows: dict[str, Workflow] = field(default_factory=lambda: {
        "deploy.yml": Workflow("Deploy to Production",
                               ("environment", "version", "deploybot_run"),
                               "Deploy {version} to {environment} ({deploybot_run})")})
    appear_after: int = 1
    fail: dict[str, str] = field(default_factory=dict)  # for the runs dispatched next
    errors: list[int] = field(default_factory=list)  # next /actions/ requests answer these
    actor: str = "deploybot-app[bot]"  # who the runs dispatched through the fake are by

    def __post_init__(self) -> None:
        self.dispatches: list[tuple[str, str, dict[str, Any]]] = []  # (repo, workflow, body)
        self.runs: list[Run] = []
        self.listings = 0
        self._lock = threading.Lock()
        f = self.fake
        f.route("POST", r"/actions/workflows/([^/]+)/dispatches", self._dispatch)
        f.route("GET", r"/actions/workflows/([^/]+)/runs", self._list)
        f.route("GET", r"/actions/runs/(\d+)", self._run)
        f.route("GET", r"/actions/runs/(\d+)/jobs", self._jobs)
        f.route("GET", r"/repos/([^/]+/[^/]+)", self._repository, repo_scoped=False)

    # -- the test's controls -----------------------------------------------------------
    def advance(self, stages: int = 1) -> None:
        with self._lock:
            for run in self.runs:
                if run.status != "completed" and self.listings > run.listed_after:
                    run.stage += stages
                    if run.status == "completed":
                        run.ended_at = self.now()

    def add_run(self, repo: str, workflow: str, title: str, *, jobs: Sequence[str] = ("build",),
                stage: int = 0, actor: str | None = None, fail: dict[str, str] | None = None,
                ) -> Run:
        """A run nobody dispatched through this fake (someone else's), newest so far;
        `stage` len(jobs) + 1: completed now (`fail`: a job that failed at that step)."""
        with self._lock:
            run = self._new(repo, workflow, title, "main", {}, tuple(jobs))
            run.stage = stage
            run.listed_after = 0
            run.fail = dict(fail or {})
            if actor is not None:
                run.actor = actor
            if run.status == "completed":
                run.ended_at = self.now()
            return run

    # -- routes ------------------------------------------------------------------------
    def _error(self) -> Response | None:
        with self._lock:
            if not self.errors:
                return None
            status = self.errors.pop(0)
        headers: dict[str, str] = {}
        if status == 429:
            headers["Retry-After"] = "30"
        if status == 403:  # the primary rate limit: used up, resets in a minute
            headers.update({"X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(int(self.now().timestamp()) + 60)})
        message = "API rate limit exceeded" if status in (403, 429) else "fake failure"
        return Response(json.dumps({"message": message}), status=status,
                        content_type="application/json", headers=headers)

    def _repository(self, hit: Hit) -> Response:
        """GET /repos/{repo}: whether it exists (a 404 for a workflow asks)."""
        if hit.match[1] not in self.fake.repos:
            return self.fake.json({"message": "Not Found"}, 404)
        return self.fake.json({"id": 1, "full_name": hit.match[1], "name":
                               hit.match[1].split("/")[1],
                               "url": f"{self.fake.url}/repos/{hit.match[1]}"})

    def _dispatch(self, hit: Hit) -> Response:
        if (error := self._error()) is not None:
            return error
        wf = self.workflows.get(hit.match[1])
        if wf is None:
            return self.fake.json({"message": "Not Found"}, 404)
        body = hit.body()
        inputs = {str(k): str(v) for k, v in (body.get("inputs") or {}).items()}
        unexpected = sorted(set(inputs) - set(wf.inputs))
        if unexpected:
            return self.fake.json({"message": f"Unexpected inputs provided: {unexpected}"},
                                  422)
        with self._lock:
            self.dispatches.append((hit.repo, hit.match[1], body))
            title = wf.run_name.format_map(inputs) if wf.run_name else wf.name
            self._new(hit.repo, hit.match[1], title, str(body.get("ref")), inputs, wf.jobs)
        return Response(status=204)

    def _new(self, repo: str, workflow: str, title: str, ref: str, inputs: dict[str, str],
             jobs: tuple[str, ...]) -> Run:
        run_id = 9000 + len(self.runs) + 1
        run = Run(id=run_id, number=len(self.runs) + 1, repo=repo, workflow=workflow,
                  title=title, ref=ref, inputs=inputs, created_at=self.now(), jobs=jobs,
                  fail=dict(self.fail),
                  listed_after=self.listings + self.appear_after - 1, actor=self.actor)
        self.runs.append(run)
        return run

    def _list(self, hit: Hit) -> Response:
        if (error := self._error()) is not None:
            return error
        if hit.match[1] not in self.workflows:
            return self.fake.json({"message": "Not Found"}, 404)
        event = hit.request.args.get("event")
        status = hit.request.args.get("status")
        per_page = int(hit.request.args.get("per_page", "30"))
        page = int(hit.request.args.get("page", "1"))
        with self._lock:
            self.listings += 1
            runs = [r for r in reversed(self.runs)
                    if r.repo == hit.repo and r.workflow == hit.match[1]
                    and self.listings > r.listed_after
                    and (event is None or event == "workflow_dispatch")
                    and status in (None, r.status, r.conclusion)]
            data = [self._json(r, hit.base) for r in runs]
        first = (page - 1) * per_page
        return self.fake.json({"total_count": len(data),
                               "workflow_runs": data[first:first + per_page]})

    def _find(self, hit: Hit) -> Run | None:
        return next((r for r in self.runs if r.id == int(hit.match[1]) and r.repo == hit.repo),
                    None)

    def _run(self, hit: Hit) -> Response:
        if (error := self._error()) is not None:
            return error
        with self._lock:
            run = self._find(hit)
            data = self._json(run, hit.base) if run is not None else None
        if data is None:
            return self.fake.json({"message": "Not Found"}, 404)
        return self.fake.json(data)

    def _jobs(self, hit: Hit) -> Response:
        if (error := self._error()) is not None:
            return error
        with self._lock:
            run = self._find(hit)
            if run is None:
                return self.fake.json({"message": "Not Found"}, 404)
            jobs = []
            for i, (name, status, conclusion, failed_step) in enumerate(run.job_states()):
                job_id = run.id * 100 + i
                jobs.append({"id": job_id, "run_id": run.id, "name": name, "status": status,
                             "conclusion": conclusion,
                             "html_url": f"https://github.com/{run.repo}/actions/runs/"
                                         f"{run.id}/job/{job_id}",
                             "url": f"{hit.base}/actions/jobs/{job_id}",
                             "steps": _steps(name, status, conclusion, failed_step)})
        return self.fake.json({"total_count": len(jobs), "jobs": jobs})

    def _json(self, run: Run, base: str) -> dict[str, Any]:
        api = f"{base}/actions/runs/{run.id}"
        wf = self.workflows.get(run.workflow)
        return {
            "id": run.id, "name": wf.name if wf else run.workflow, "display_title": run.title,
            "run_number": run.number, "run_attempt": 1, "event": "workflow_dispatch",
            "status": run.status, "conclusion": run.conclusion, "head_branch": run.ref,
            "head_sha": "0" * 40, "path": f".github/workflows/{run.workflow}",
            "html_url": f"https://github.com/{run.repo}/actions/runs/{run.id}", "url": api,
            "jobs_url": f"{api}/jobs",
            "created_at": run.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": (run.ended_at or run.created_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "actor": self._user(run.actor), "triggering_actor": self._user(run.actor),
        }

    def _user(self, login: str) -> dict[str, Any]:
        return {"login": login, "id": 1000 + len(login), "type": "User",
                "url": f"{self.fake.url}/users/{login}",
                "html_url": f"https://github.com/{login}"}


def _steps(job: str, status: str, conclusion: str | None,
           failed_step: str | None) -> list[dict[str, Any]]:
    """A job's steps as GitHub lists them: none for a skipped job; "Set up job" and its
    work (the failing step, when it fails)."""
    if conclusion == "skipped":
        return []
    work = failed_step or f"Run {job}"
    if status == "queued":
        states: list[tuple[str, str | None]] = [("queued", None), ("queued", None)]
    elif status == "in_progress":
        states = [("completed", "success"), ("in_progress", None)]
    else:
        states = [("completed", "success"), ("completed", "failure" if failed_step else "success")]
    return [{"number": n, "name": name, "status": st, "conclusion": c}
            for n, (name, (st, c)) in enumerate(zip(("Set up job", work), states, strict=True),
                                                start=1)]
