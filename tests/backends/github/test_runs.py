"""Workflow runs through the GitHub backend (`/ci`), against the local fake GitHub API over
HTTP: a tag's commit (lightweight and annotated), the runs of a commit, one run, its jobs
and steps, re-runs, and the errors a user must be told about."""

from __future__ import annotations

import pytest

from bot.backends.github import GitHubClient
from bot.backends.github.runs import GitHubWorkflowRuns
from bot.errors import Conflict, NotFound, PermanentError, RateLimited, RetryableError
from devtools.fake_github import TOKEN, FakeGitHub, sha_of
from devtools.fake_github.runs import FakeRuns


@pytest.fixture
def runs_api(fake: FakeGitHub) -> FakeRuns:
    return FakeRuns(fake)


@pytest.fixture
def runs(client: GitHubClient) -> GitHubWorkflowRuns:
    return GitHubWorkflowRuns(client)


def test_a_tag_resolves_to_its_commit_and_a_missing_one_to_none(
        runs: GitHubWorkflowRuns, runs_api: FakeRuns, fake: FakeGitHub) -> None:
    assert runs.tag_commit("acme/api", "v1.2.3") == sha_of("v1.2.3")
    assert runs.tag_commit("acme/api", "v9.9.9") is None
    with pytest.raises(NotFound, match="`acme/nope` not found"):
        runs.tag_commit("acme/nope", "v1.2.3")


def test_an_annotated_tag_resolves_through_its_tag_object(
        runs: GitHubWorkflowRuns, runs_api: FakeRuns, fake: FakeGitHub) -> None:
    runs_api.annotated[("acme/api", "v1.2.4")] = "c" * 40
    assert runs.tag_commit("acme/api", "v1.2.4") == "c" * 40
    assert fake.calls() == ["/repos/acme/api/git/ref/tags/v1.2.4",
                            f"/repos/acme/api/git/tags/{sha_of('tag object v1.2.4')}"]


def test_the_runs_of_a_commit_newest_first_with_the_total(
        runs: GitHubWorkflowRuns, runs_api: FakeRuns, fake: FakeGitHub) -> None:
    runs_api.add_run("acme/api", run_id=11, name="CI", tag="v1.2.3", conclusion="failure")
    runs_api.add_run("acme/api", run_id=12, name="Other", tag="v1.3.0")
    runs_api.add_run("acme/api", run_id=13, name="Security", tag="v1.2.3", status="in_progress",
                     conclusion=None)
    found, total = runs.runs_for_commit("acme/api", sha_of("v1.2.3"), limit=1)
    assert total == 2
    assert [(r.id, r.name, r.status, r.conclusion) for r in found] == [
        (13, "Security", "in_progress", None)]
    found, total = runs.runs_for_commit("acme/api", sha_of("v1.2.3"), limit=10)
    assert [r.id for r in found] == [13, 11] and total == 2
    assert found[1].failed and not found[0].completed
    assert found[1].url == "https://github.example/acme/api/actions/runs/11"
    req = fake.server.log[-1][0]
    assert req.args["head_sha"] == sha_of("v1.2.3")


def test_one_run_with_its_jobs_and_failed_steps(runs: GitHubWorkflowRuns,
                                                runs_api: FakeRuns) -> None:
    runs_api.add_run("acme/api", run_id=21, conclusion="failure", jobs=[
        {"name": "build", "conclusion": "success", "steps": ["checkout", "build"]},
        {"name": "test", "conclusion": "failure", "steps": ["checkout", "pytest", "upload"],
         "failed": ["pytest"]}])
    run = runs.run("acme/api", 21)
    assert (run.id, run.failed, run.icon) == (21, True, "❌")
    jobs = runs.jobs("acme/api", 21)
    assert [(j.name, j.failed) for j in jobs] == [("build", False), ("test", True)]
    (step,) = jobs[1].failed_steps
    assert (step.number, step.name) == (2, "pytest")
    assert jobs[1].step_url(step).endswith("/job/2102#step:2:1")


def test_an_unknown_run_is_a_clear_not_found(runs: GitHubWorkflowRuns,
                                             runs_api: FakeRuns) -> None:
    with pytest.raises(NotFound, match="no workflow run 999 in acme/api"):
        runs.run("acme/api", 999)
    with pytest.raises(NotFound, match="`acme/nope` not found"):
        runs.run("acme/nope", 999)


def test_a_rerun_posts_to_the_right_endpoint(runs: GitHubWorkflowRuns,
                                             runs_api: FakeRuns) -> None:
    runs_api.add_run("acme/api", run_id=31, conclusion="failure")
    runs.rerun("acme/api", 31, failed_only=True)
    runs_api.add_run("acme/api", run_id=32, conclusion="success")
    runs.rerun("acme/api", 32, failed_only=False)
    assert runs_api.reruns == [("acme/api", 31, "rerun-failed-jobs"),
                               ("acme/api", 32, "rerun")]
    assert runs.run("acme/api", 31).status == "queued"


def test_github_refusing_a_rerun_of_a_running_run_is_a_conflict(
        runs: GitHubWorkflowRuns, runs_api: FakeRuns) -> None:
    runs_api.add_run("acme/api", run_id=41, status="in_progress", conclusion=None)
    with pytest.raises(Conflict, match=r"\(403\).*already running"):
        runs.rerun("acme/api", 41, failed_only=False)
    runs_api.add_run("acme/api", run_id=42, conclusion="failure")
    runs_api.rerun_status = 409
    with pytest.raises(Conflict, match=r"\(409\)"):
        runs.rerun("acme/api", 42, failed_only=True)
    assert runs_api.reruns == []


def test_one_job_says_its_run_and_a_job_rerun_posts_to_the_jobs_endpoint(
        runs: GitHubWorkflowRuns, runs_api: FakeRuns, fake: FakeGitHub) -> None:
    runs_api.add_run("acme/api", run_id=61, conclusion="failure", jobs=[
        {"name": "build", "conclusion": "success"}, {"name": "test", "conclusion": "failure"}])
    job = runs.job("acme/api", 6102)
    assert (job.id, job.name, job.run_id, job.conclusion) == (6102, "test", 61, "failure")
    runs.rerun_job("acme/api", 6102)
    assert runs_api.job_reruns == [("acme/api", 6102)] and runs_api.reruns == []
    assert fake.server.log[-1][0].method == "POST"
    assert fake.server.log[-1][0].path == "/repos/acme/api/actions/jobs/6102/rerun"
    assert runs.job("acme/api", 6102).status == "queued"
    assert runs.run("acme/api", 61).attempt == 2


def test_an_unknown_job_is_a_clear_not_found(runs: GitHubWorkflowRuns,
                                             runs_api: FakeRuns) -> None:
    with pytest.raises(NotFound, match="no job 777 in acme/api"):
        runs.job("acme/api", 777)
    with pytest.raises(NotFound, match="no job 777 in acme/api"):
        runs.rerun_job("acme/api", 777)
    with pytest.raises(NotFound, match="`acme/nope` not found"):
        runs.job("acme/nope", 777)


def test_github_refusing_a_job_rerun_is_a_conflict_naming_the_job(
        runs: GitHubWorkflowRuns, runs_api: FakeRuns) -> None:
    runs_api.add_run("acme/api", run_id=71, status="in_progress", conclusion=None,
                     jobs=[{"name": "test", "status": "in_progress"}])
    with pytest.raises(Conflict, match=r"re-run job 7101 of acme/api \(403\).*already running"):
        runs.rerun_job("acme/api", 7101)
    assert runs_api.job_reruns == []


def test_a_token_without_actions_write_is_a_permanent_error(
        runs: GitHubWorkflowRuns, runs_api: FakeRuns) -> None:
    runs_api.add_run("acme/api", run_id=51, conclusion="failure")
    runs_api.rerun_status = 403
    runs_api.rerun_message = "Resource not accessible by integration"
    with pytest.raises(PermanentError, match="Actions: write"):
        runs.rerun("acme/api", 51, failed_only=False)


def test_rate_limited_says_when_it_resets(runs: GitHubWorkflowRuns, runs_api: FakeRuns,
                                          fake: FakeGitHub) -> None:
    fake.status = 403
    fake.headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1893456000"}
    with pytest.raises(RateLimited, match=r"resets at 00:00 UTC"):
        runs.run("acme/api", 1)
    with pytest.raises(RateLimited, match=r"resets at 00:00 UTC"):
        runs.rerun("acme/api", 1, failed_only=False)
    fake.status = 429
    fake.headers = {"Retry-After": "30"}
    with pytest.raises(RateLimited, match=r"retry after 30 s"):
        runs.runs_for_commit("acme/api", "a" * 40, limit=5)


def test_an_unreachable_github_is_retryable() -> None:
    gh = GitHubClient(token=TOKEN, api_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(RetryableError, match="unreachable"):
        GitHubWorkflowRuns(gh).run("acme/api", 1)
    gh.close()
