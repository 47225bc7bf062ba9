"""What runs where with the github-actions executor (`observe`), over the fake GitHub API:
the last successful run of the deploy or rollback workflow whose title names the
environment; None only when GitHub shows nothing ran there; a run-name that does not name
the environment, and GitHub refusing or failing, are errors that say why. And the latest run
naming the environment in any state (`latest_deploy_run`, for `/rollout`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.backends.github import GitHubClient
from bot.backends.github.actions import GitHubActions
from bot.backends.github.executor import OBSERVE_PAGES, GitHubActionsExecutor
from bot.clock import ManualClock
from bot.config import GitHubActionsConfig
from bot.domain.live import Observed
from bot.errors import PermanentError, RateLimited, RetryableError
from bot.ports import DeployRuns
from devtools.fake_github import FakeGitHub
from devtools.fake_github.actions import FakeActions, Workflow
from tests.conftest import running_version

START = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
RUNS = "https://github.com/acme/api/actions/runs"
BOT = "deploybot-app[bot]"
ENVIRONMENTS = ("development", "staging", "production")
DONE = 3  # the stage at which a run of the fake's two jobs has completed


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def actions(fake: FakeGitHub, clock: ManualClock) -> FakeActions:
    return FakeActions(fake, now=clock.now)


def executor(client: GitHubClient, clock: ManualClock, actions: FakeActions,
             **config: Any) -> GitHubActionsExecutor:
    def sleep(seconds: float) -> None:  # time passes and the workflow moves on
        clock.advance(timedelta(seconds=seconds))
        actions.advance()

    cfg = GitHubActionsConfig.model_validate({"workflow": "deploy.yml", **config})
    return GitHubActionsExecutor("api", "acme/api", cfg, GitHubActions(client), clock=clock,
                                 sleep=sleep, environments=ENVIRONMENTS)


def deploy(ex: GitHubActionsExecutor, env: str, version: str, deployment_id: int | None,
           roll_back: bool = False) -> None:
    go: Callable[..., str | None] = ex.roll_back if roll_back else ex.deploy
    go(env, "api", version, progress=lambda _t: None, deployment_id=deployment_id,
       requested_by="U0ALICE")


def test_the_last_successful_run_naming_the_environment_is_what_runs_there(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    ex = executor(client, clock, actions)
    deploy(ex, "production", "v1.2.3", 7)
    production_end = clock.now()
    clock.advance(timedelta(hours=1))
    deploy(ex, "staging", "v1.2.4", 8)
    staging_end = clock.now()

    assert ex.observe("production", "api") == Observed(
        "v1.2.3", since=production_end, image=f"{RUNS}/9001", settled=True, deployment_id=7,
        changed_by=BOT)
    assert ex.observe("staging", "api") == Observed(
        "v1.2.4", since=staging_end, image=f"{RUNS}/9002", deployment_id=8, changed_by=BOT)
    assert running_version(ex, "production", "api") == "v1.2.3"
    assert ex.observe("development", "api") is None  # its runs name other environments
    # It asked for the successful runs only, newest first.
    listing = [req for req, _ in client_requests(actions) if req.args.get("status")]
    assert {(r.args["status"], r.args["per_page"]) for r in listing} == {("success", "100")}


def client_requests(actions: FakeActions) -> list[Any]:
    return list(actions.fake.server.log)


def test_a_failed_newer_run_does_not_count_and_a_re_run_old_one_does(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    ex = executor(client, clock, actions)
    deploy(ex, "production", "v1.2.3", 1)
    actions.add_run("acme/api", "deploy.yml",
                    "Deploy v1.2.4 to production (deploybot-2-v1.2.4)", jobs=("deploy",),
                    stage=2, fail={"deploy": "Roll out"})
    seen = ex.observe("production", "api")
    assert seen is not None and (seen.version, seen.deployment_id) == ("v1.2.3", 1)


def test_the_rollback_workflow_s_newer_run_wins(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.workflows["rollback.yml"] = Workflow(
        "Roll back", ("environment", "version", "deploybot_run"),
        "Roll back to {version} in {environment} ({deploybot_run})")
    ex = executor(client, clock, actions, rollback_workflow="rollback.yml")
    deploy(ex, "production", "v1.2.3", 1)
    clock.advance(timedelta(minutes=5))
    deploy(ex, "production", "v1.2.4", 2)
    clock.advance(timedelta(minutes=5))
    deploy(ex, "production", "v1.2.3", 3, roll_back=True)
    ended = clock.now()
    assert ex.observe("production", "api") == Observed(
        "v1.2.3", since=ended, image=f"{RUNS}/9003", deployment_id=3, changed_by=BOT)
    clock.advance(timedelta(minutes=5))
    deploy(ex, "production", "v1.2.5", 4)  # a deploy after the rollback wins again
    seen = ex.observe("production", "api")
    assert seen is not None and (seen.version, seen.deployment_id) == ("v1.2.5", 4)


def test_a_run_without_a_key_that_names_the_environment_runs_an_unknown_version(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    """Dispatched by hand on GitHub (no run key): it deployed there, but which version is
    not for deploybot to guess; the run's link says what it was."""
    ex = executor(client, clock, actions)
    deploy(ex, "production", "v1.2.3", 1)
    clock.advance(timedelta(minutes=5))
    run = actions.add_run("acme/api", "deploy.yml", "Deploy v1.2.5 to production ()",
                          stage=DONE, actor="octocat")
    assert ex.observe("production", "api") == Observed(
        None, since=clock.now(), image=f"{RUNS}/{run.id}", changed_by="octocat")


def test_a_one_off_run_key_names_no_deployment(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    ex = executor(client, clock, actions)
    deploy(ex, "staging", "v1.2.3-rc.1+build.5", None)  # from the shell: the time as key
    assert actions.runs[0].title == ("Deploy v1.2.3-rc.1+build.5 to staging "
                                     "(deploybot-20261118150000-v1.2.3-rc.1+build.5)")
    seen = ex.observe("staging", "api")
    assert seen is not None
    assert (seen.version, seen.deployment_id) == ("v1.2.3-rc.1+build.5", None)


def test_no_successful_run_at_all_means_nothing_runs_there(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    ex = executor(client, clock, actions)
    assert ex.observe("production", "api") is None
    actions.add_run("acme/api", "deploy.yml", "Deploy v1 to production (deploybot-1-v1)",
                    jobs=("deploy",), stage=2, fail={"deploy": "Roll out"})
    assert ex.observe("production", "api") is None
    assert running_version(ex, "production", "api") is None


def test_a_run_name_without_the_environment_is_an_error_saying_so(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    """The run-name the README showed before: deploybot finds its runs, but cannot tell
    where they deployed; "nothing runs there" would be a guess."""
    actions.workflows["deploy.yml"].run_name = "Deploy {version} ({deploybot_run})"
    ex = executor(client, clock, actions)
    deploy(ex, "production", "v1.2.3", 1)
    with pytest.raises(PermanentError) as e:
        ex.observe("production", "api")
    assert str(e.value) == (
        "the successful runs of deploy.yml in acme/api do not name the environment in their "
        "title, so which version runs in production cannot be told: the workflow's run-name "
        "must show it, e.g. `run-name: Deploy ${{ inputs.version }} to "
        "${{ inputs.environment }} (${{ inputs.deploybot_run }})`")


def test_runs_are_read_page_by_page_up_to_a_limit(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    ex = executor(client, clock, actions)
    actions.add_run("acme/api", "deploy.yml", "Deploy v1 to production (deploybot-1-v1)",
                    stage=DONE)
    for i in range(150):
        actions.add_run("acme/api", "deploy.yml",
                        f"Deploy v2.{i} to staging (deploybot-{i + 2}-v2.{i})", stage=DONE)
    seen = ex.observe("production", "api")  # on the second page
    assert seen is not None and seen.version == "v1"
    for i in range(OBSERVE_PAGES * 100):
        actions.add_run("acme/api", "deploy.yml", f"Deploy v3.{i} to staging (deploybot-"
                        f"{i + 200}-v3.{i})", stage=DONE)
    with pytest.raises(PermanentError) as e:
        ex.observe("production", "api")
    assert str(e.value) == (
        "none of the newest 300 successful runs of deploy.yml in acme/api names production "
        "in its title, so which version runs there cannot be told from GitHub")


@pytest.mark.parametrize(("status", "kind", "text"), [
    (502, RetryableError, "GitHub answered 502"),
    (403, RateLimited, "rate limit exceeded (it resets at 15:01 UTC)"),
    (429, RateLimited, "rate limit exceeded (429) (retry after 30 s)"),
])
def test_github_failing_is_retryable(
        client: GitHubClient, clock: ManualClock, actions: FakeActions, status: int,
        kind: type[Exception], text: str) -> None:
    actions.errors = [status]
    with pytest.raises(kind) as e:
        executor(client, clock, actions).observe("production", "api")
    assert text in str(e.value)
    assert client.api_url not in str(e.value)  # told to users as it is: no API URL
    assert "try again" not in str(e.value)  # the reply says it, once


def test_github_refusing_is_permanent(
        fake: FakeGitHub, client: GitHubClient, clock: ManualClock,
        actions: FakeActions) -> None:
    with pytest.raises(PermanentError) as e:
        executor(client, clock, actions, workflow="nope.yml").observe("production", "api")
    assert "there is no workflow nope.yml in acme/api" in str(e.value)

    gone = GitHubActionsExecutor(
        "api", "acme/gone", GitHubActionsConfig(workflow="deploy.yml"), GitHubActions(client),
        clock=clock, sleep=lambda _s: None)
    with pytest.raises(PermanentError) as e:  # not NotFound: the config names it
        gone.observe("production", "api")
    assert "GitHub repository `acme/gone` not found" in str(e.value)

    bad = GitHubClient(token="ghp_wrong", api_url=fake.url, timeout=5)
    try:
        with pytest.raises(PermanentError) as e:
            executor(bad, clock, actions).observe("production", "api")
        assert "refused the token (401 Bad credentials)" in str(e.value)
    finally:
        bad.close()


# -- the latest deploy run, in any state (`/rollout`: the DeployRuns capability) --------------

def test_the_latest_deploy_run_naming_the_environment_whatever_its_state(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    ex = executor(client, clock, actions)
    assert isinstance(ex, DeployRuns)
    assert ex.latest_deploy_run("production", "api") is None  # no run at all
    deploy(ex, "production", "v1.2.3", 1)
    clock.advance(timedelta(minutes=5))
    failed = actions.add_run("acme/api", "deploy.yml",
                             "Deploy v1.2.4 to production (deploybot-2-v1.2.4)",
                             jobs=("deploy",), stage=2, fail={"deploy": "Roll out"})
    clock.advance(timedelta(minutes=5))
    actions.add_run("acme/api", "deploy.yml", "Deploy v1.2.5 to pre-production "
                    "(deploybot-3-v1.2.5)", stage=1)  # not production: a whole word

    latest = ex.latest_deploy_run("production", "api")
    assert latest is not None
    assert (latest.id, latest.conclusion, latest.url) == (
        failed.id, "failure", f"{RUNS}/{failed.id}")
    assert ex.latest_deploy_run("staging", "api") is None
    # It listed the workflow's newest runs without a filter (any state, any event).
    listing = [req for req, _ in client_requests(actions)
               if req.path.endswith("/actions/workflows/deploy.yml/runs")
               and not req.args.get("status") and not req.args.get("event")]
    assert listing and all(r.args["per_page"] == "100" for r in listing)


def test_a_newer_rollback_run_is_the_latest(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.workflows["rollback.yml"] = Workflow(
        "Roll back", ("environment", "version", "deploybot_run"),
        "Roll back to {version} in {environment} ({deploybot_run})")
    ex = executor(client, clock, actions, rollback_workflow="rollback.yml")
    deploy(ex, "production", "v1.2.4", 1)
    clock.advance(timedelta(minutes=5))
    going = actions.add_run("acme/api", "rollback.yml",
                            "Roll back to v1.2.3 in production (deploybot-2-v1.2.3)", stage=1)
    latest = ex.latest_deploy_run("production", "api")
    assert latest is not None and (latest.id, latest.status) == (going.id, "in_progress")


def test_the_latest_deploy_run_of_a_missing_repository_is_permanent(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    gone = GitHubActionsExecutor(
        "api", "acme/gone", GitHubActionsConfig(workflow="deploy.yml"), GitHubActions(client),
        clock=clock, sleep=lambda _s: None)
    with pytest.raises(PermanentError, match="GitHub repository `acme/gone` not found"):
        gone.latest_deploy_run("production", "api")
