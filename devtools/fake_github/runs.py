"""GitHub Actions workflow runs on the fake GitHub API (routes registered on a FakeGitHub).

GET /repos/{repo}/actions/runs?head_sha=&per_page= (the runs of a commit, newest first, with
`total_count`), GET /actions/runs/{id}, GET /actions/runs/{id}/jobs (with steps), POST
/actions/runs/{id}/rerun and /rerun-failed-jobs (as GitHub: 403 "This workflow is already
running" while the run is not completed; else 201 and the run is queued again as its next
attempt), one job (GET /actions/jobs/{id}, with its `run_id`) and re-running it (POST
/actions/jobs/{id}/rerun, "Re-run a job from a workflow run",
https://docs.github.com/rest/actions/workflow-runs#re-run-a-job-from-a-workflow-run: 201 with
an empty object, 403 with GitHub's basic error when it cannot be re-run — here while its run
is not completed —, the job and its run queued again), and annotated tags (GET
/git/ref/tags/{tag} pointing at a tag object, GET /git/tags/{sha}). Runs and jobs are plain
JSON as GitHub sends them (`url` fields on the fake).
"""

from __future__ import annotations

from typing import Any

from werkzeug import Response

from devtools.fake_github.server import FakeGitHub, Hit, sha_of


class FakeRuns:
    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.runs: dict[str, list[dict[str, Any]]] = {}  # repo -> runs, newest first
        self.jobs: dict[int, list[dict[str, Any]]] = {}  # run id -> jobs
        self.reruns: list[tuple[str, int, str]] = []  # (repo, run id, "rerun" | …-failed-jobs)
        self.job_reruns: list[tuple[str, int]] = []  # (repo, job id) re-run on their own
        self.rerun_status: int | None = None  # answer re-runs with this status instead
        self.rerun_message = "fake refusal"
        self.annotated: dict[tuple[str, str], str] = {}  # (repo, tag) -> commit sha
        fake.route("GET", r"/actions/runs", self._list)
        fake.route("GET", r"/actions/runs/(\d+)", self._run)
        fake.route("GET", r"/actions/runs/(\d+)/jobs", self._jobs)
        fake.route("POST", r"/actions/runs/(\d+)/(rerun|rerun-failed-jobs)", self._rerun)
        fake.route("GET", r"/actions/jobs/(\d+)", self._job)
        fake.route("POST", r"/actions/jobs/(\d+)/rerun", self._rerun_job)
        fake.route("GET", r"/git/tags/([0-9a-f]{40})", self._tag_object)
        fake.route("GET", r"/git/ref/tags/(.+)", self._ref)

    # -- fixtures ----------------------------------------------------------------------
    def add_run(self, repo: str, *, run_id: int, name: str = "CI", sha: str | None = None,
                tag: str | None = None, status: str = "completed",
                conclusion: str | None = "success", number: int = 1,
                jobs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A run of the commit `sha` (or of `tag`'s commit); the newest so far."""
        head = sha or sha_of(tag or "main")
        web = f"https://github.example/{repo}/actions/runs/{run_id}"
        api = f"{self.fake.url}/repos/{repo}/actions/runs/{run_id}"
        run = {
            "id": run_id, "name": name, "node_id": f"WFR_{run_id}",
            "display_title": f"Release {tag or head[:7]}", "run_number": number,
            "run_attempt": 1, "event": "push", "status": status, "conclusion": conclusion,
            "head_sha": head, "head_branch": tag or "main", "html_url": web, "url": api,
            "jobs_url": f"{api}/jobs", "rerun_url": f"{api}/rerun",
            "created_at": "2026-11-18T14:00:00Z", "updated_at": "2026-11-18T14:05:00Z",
        }
        self.runs.setdefault(repo, []).insert(0, run)
        self.jobs[run_id] = [
            {"id": run_id * 100 + i, "run_id": run_id, "name": j["name"],
             "status": j.get("status", "completed"), "conclusion": j.get("conclusion"),
             "html_url": f"https://github.example/{repo}/actions/runs/{run_id}/job/"
                         f"{run_id * 100 + i}",
             "url": f"{self.fake.url}/repos/{repo}/actions/jobs/{run_id * 100 + i}",
             "steps": [{"name": s, "status": "completed", "number": n,
                        "conclusion": "failure" if s in j.get("failed", []) else "success"}
                       for n, s in enumerate(j.get("steps", []), start=1)]}
            for i, j in enumerate(jobs or [], start=1)]
        return run

    # -- routes --------------------------------------------------------------------------
    def _find(self, repo: str, run_id: int) -> dict[str, Any] | None:
        return next((r for r in self.runs.get(repo, []) if r["id"] == run_id), None)

    def _list(self, hit: Hit) -> Response:
        sha = hit.request.args.get("head_sha")
        per_page = int(hit.request.args.get("per_page", "30"))
        runs = [r for r in self.runs.get(hit.repo, []) if sha is None or r["head_sha"] == sha]
        return self.fake.json({"total_count": len(runs), "workflow_runs": runs[:per_page]})

    def _run(self, hit: Hit) -> Response:
        run = self._find(hit.repo, int(hit.match[1]))
        if run is None:
            return self.fake.json({"message": "Not Found"}, 404)
        return self.fake.json(run)

    def _jobs(self, hit: Hit) -> Response:
        run_id = int(hit.match[1])
        if self._find(hit.repo, run_id) is None:
            return self.fake.json({"message": "Not Found"}, 404)
        jobs = self.jobs.get(run_id, [])
        return self.fake.json({"total_count": len(jobs), "jobs": jobs})

    def _rerun(self, hit: Hit) -> Response:
        run = self._find(hit.repo, int(hit.match[1]))
        if run is None:
            return self.fake.json({"message": "Not Found"}, 404)
        if self.rerun_status is not None:
            return self.fake.json({"message": self.rerun_message}, self.rerun_status)
        if run["status"] != "completed":
            return self.fake.json({"message": "This workflow is already running"}, 403)
        self.reruns.append((hit.repo, run["id"], hit.match[2]))
        run.update(status="queued", conclusion=None, run_attempt=run["run_attempt"] + 1)
        return self.fake.json({}, 201)

    def _find_job(self, repo: str, job_id: int) -> dict[str, Any] | None:
        return next((j for run in self.runs.get(repo, [])
                     for j in self.jobs.get(run["id"], []) if j["id"] == job_id), None)

    def _job(self, hit: Hit) -> Response:
        job = self._find_job(hit.repo, int(hit.match[1]))
        if job is None:
            return self.fake.json({"message": "Not Found"}, 404)
        return self.fake.json(job)

    def _rerun_job(self, hit: Hit) -> Response:
        job = self._find_job(hit.repo, int(hit.match[1]))
        if job is None:
            return self.fake.json({"message": "Not Found"}, 404)
        if self.rerun_status is not None:
            return self.fake.json({"message": self.rerun_message}, self.rerun_status)
        run = self._find(hit.repo, job["run_id"])
        assert run is not None
        if run["status"] != "completed":
            return self.fake.json({"message": "This workflow is already running"}, 403)
        self.job_reruns.append((hit.repo, job["id"]))
        job.update(status="queued", conclusion=None)
        run.update(status="queued", conclusion=None, run_attempt=run["run_attempt"] + 1)
        return self.fake.json({}, 201)

    def _ref(self, hit: Hit) -> Response:
        tag = hit.match[1]
        commit = self.annotated.get((hit.repo, tag))
        if commit is None:  # a lightweight tag, or none: the fake's own answer
            if tag not in self.fake.repos[hit.repo]:
                return self.fake.json({"message": "Not Found"}, 404)
            sha = self.fake.commit_of(hit.repo, tag)
            return self.fake.json({"ref": f"refs/tags/{tag}", "url": f"{hit.base}/git/refs/"
                                   f"tags/{tag}", "object": {"sha": sha, "type": "commit",
                                                             "url": f"{hit.base}/git/"
                                                             f"commits/{sha}"}})
        obj = sha_of(f"tag object {tag}")
        return self.fake.json({"ref": f"refs/tags/{tag}", "url": f"{hit.base}/git/refs/tags/{tag}",
                               "object": {"sha": obj, "type": "tag",
                                          "url": f"{hit.base}/git/tags/{obj}"}})

    def _tag_object(self, hit: Hit) -> Response:
        for (repo, tag), commit in self.annotated.items():
            if repo == hit.repo and sha_of(f"tag object {tag}") == hit.match[1]:
                return self.fake.json({"sha": hit.match[1], "tag": tag,
                                       "url": f"{hit.base}/git/tags/{hit.match[1]}",
                                       "object": {"sha": commit, "type": "commit",
                                                  "url": f"{hit.base}/git/commits/{commit}"}})
        return self.fake.json({"message": "Not Found"}, 404)
