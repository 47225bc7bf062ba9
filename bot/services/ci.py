"""Use cases of `/ci`: the GitHub Actions workflow runs of a version (its tag's commit) or of
one run id, with the failed jobs and steps of failed runs; and re-running a finished run or
one job of it (the guide's troubleshooting `gh run rerun [--failed | --job=<job-id>]`), for
deployers only, audited.

Every answer comes from GitHub (the WorkflowRuns port) and may take a few requests: callers
run `lookup` and `rerun` off Slack's ack path. A version that is not a tag is refused with the
nearest tags, as `/deploy` refuses it (VersionCheck).
"""

from __future__ import annotations

from bot.config import AppConfig
from bot.domain.ci_commands import CIParsed, CIRerunArgs, CIRunsArgs, parse_ci
from bot.domain.text import shown_name
from bot.domain.workflow_runs import (
    FAILED,
    CIReport,
    CIRerun,
    RunDetail,
    RunJob,
    WorkflowRun,
)
from bot.errors import Conflict, Forbidden, NotFound, PermanentError, UserError
from bot.ports import Clock, Store, WorkflowRuns
from bot.services.access import Access
from bot.services.versions import VersionCheck

#: At most this many runs of a commit are shown (newest first).
MAX_RUNS = 10
#: The failed jobs are looked up for at most this many failed runs (one request each).
MAX_FAILED_RUNS = 3


class CIService:
    def __init__(self, *, config: AppConfig, store: Store, access: Access, clock: Clock,
                 runs: WorkflowRuns | None, versions: VersionCheck | None,
                 max_runs: int = MAX_RUNS, max_failed_runs: int = MAX_FAILED_RUNS) -> None:
        self._config = config
        self._store = store
        self._access = access
        self._clock = clock
        self._runs = runs
        self._versions = versions
        self._max_runs = max_runs
        self._max_failed_runs = max_failed_runs

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def parse(self, text: str) -> CIParsed:
        services = self._config.services
        return parse_ci(text, services_with_repository=[n for n, s in services.items()
                                                        if s.github is not None],
                        services=services.keys())

    def _target(self, service: str) -> tuple[str, WorkflowRuns]:
        gh = self._config.services[service].github
        if gh is None:
            raise UserError(f"`{service}` has no GitHub repository configured (set "
                            f"`services.{service}.github.repository` in app.yaml).")
        if self._runs is None:
            raise PermanentError("no GitHub backend for workflow runs was built")
        return gh.repository, self._runs

    # -- `/ci <version|run-id>` -----------------------------------------------------------
    def lookup(self, args: CIRunsArgs) -> CIReport:
        """The runs of a version's commit, or one run; failed runs with their failed jobs.
        Conflict (with the nearest tags) for a version that is not a tag; NotFound for a run
        id the repository does not have."""
        repo, runs = self._target(args.service)
        if args.run_id is not None:
            run = runs.run(repo, args.run_id)
            return CIReport(service=args.service, repository=repo, version=None, sha=None,
                            run_id=args.run_id, runs=(self._detail(repo, run, True),),
                            total=1, at=self._clock.now())
        version = args.version or ""
        sha = runs.tag_commit(repo, version)
        if sha is None and self._versions is not None:
            # Not a tag: the tag of a release of that name, else Conflict with the nearest
            # tags (as /deploy answers).
            tag = self._versions.check(args.service, version)
            if tag != version:
                sha = runs.tag_commit(repo, tag)
        if sha is None:
            raise NotFound(f"`{version}` is not a tag of {repo}.")
        found, total = runs.runs_for_commit(repo, sha, limit=self._max_runs)
        failed = [r.id for r in found if r.failed][:self._max_failed_runs]
        details = tuple(self._detail(repo, r, r.id in failed) for r in found)
        return CIReport(service=args.service, repository=repo, version=version, sha=sha,
                        run_id=None, runs=details, total=total, at=self._clock.now())

    def _detail(self, repo: str, run: WorkflowRun, look: bool) -> RunDetail:
        if not (look and run.failed and self._runs is not None):
            return RunDetail(run)
        jobs = self._runs.jobs(repo, run.id)
        return RunDetail(run, tuple(j for j in jobs if j.failed), jobs_looked_up=True)

    # -- `/ci rerun <run-id> [--failed | --job=<job-id>]` ----------------------------------
    def _check_may_rerun(self, user_id: str, service: str) -> None:
        envs = [e for e in self._config.environments if service in self._config.services_in(e)]
        if any(self._access.may_deploy(user_id, e) for e in envs):
            return
        roles = sorted({r for e in envs for r in self._config.environments[e].deployers})
        names = ", ".join(f"`{r}`" for r in roles) or "a deployers"
        raise Forbidden(f"You may not re-run the CI of `{service}`: that needs the {names} "
                        "role (the deployers of an environment it deploys to). Ask a platform "
                        "admin to add you in app.yaml.")

    def rerun(self, args: CIRerunArgs, *, user_id: str,
              slack_channel: str | None = None) -> CIRerun:
        """Re-run a finished run (all of it, its failed jobs, or one job of it) and record it
        in the audit log. Forbidden for non-deployers; Conflict for a run still in progress,
        `--failed` on a run where nothing failed, or GitHub refusing; NotFound for an unknown
        run or job id; UserError for a job of another run."""
        self._check_may_rerun(user_id, args.service)
        repo, runs = self._target(args.service)
        run = runs.run(repo, args.run_id)
        job = None if args.job_id is None else self._job_of(repo, run, args.job_id)
        if not run.completed:
            raise Conflict(f"Workflow run {run.id} ({run.name}) of {repo} is still "
                           f"{run.outcome}: it can be re-run once it has finished. Follow it "
                           f"at {run.url}")
        if args.failed_only and run.conclusion not in FAILED | {"cancelled"}:
            raise Conflict(f"Workflow run {run.id} ({run.name}) of {repo} ended in "
                           f"{run.outcome}: no failed jobs to re-run. Use `/ci rerun "
                           f"{run.id}` to re-run all of it.")
        if job is not None:
            runs.rerun_job(repo, job.id)
        else:
            runs.rerun(repo, run.id, failed_only=args.failed_only)
        at = self._clock.now()
        details: dict[str, object] = {
            "service": args.service, "repository": repo, "run_id": run.id,
            "workflow": run.name, "failed_only": args.failed_only,
            "conclusion": run.conclusion, "url": run.url}
        if job is not None:
            details |= {"job_id": job.id, "job": job.name, "job_conclusion": job.conclusion}
        with self._store.transaction() as r:
            r.audit.record("ci.rerun", actor=user_id, at=at, slack_channel=slack_channel,
                           details=details)
        return CIRerun(service=args.service, repository=repo, run=run,
                       failed_only=args.failed_only, user_id=user_id, at=at, job=job)

    def _job_of(self, repo: str, run: WorkflowRun, job_id: int) -> RunJob:
        """Job `job_id`, which must belong to `run` (GitHub's `run_id` of the job)."""
        assert self._runs is not None
        job = self._runs.job(repo, job_id)
        if job.run_id is not None and job.run_id != run.id:
            raise UserError(f"Job {job_id} ({shown_name(job.name)}) of {repo} belongs to "
                            f"workflow run {job.run_id}, not to run {run.id} "
                            f"({shown_name(run.name)}). Re-run it with "
                            f"`/ci rerun {job.run_id} --job={job_id}`, or see the jobs of run "
                            f"{run.id} with `/ci {run.id}`.")
        return job
