"""The github-actions executor over the fake GitHub API: dispatch the workflow, find its run,
follow it job by job to its end; a resumed deployment follows the same run; GitHub being
down or rate limited is waited out, GitHub refusing fails clearly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.backends.github import GitHubClient
from bot.backends.github.actions import GitHubActions
from bot.backends.github.executor import GitHubActionsExecutor
from bot.clock import ManualClock
from bot.config import GitHubActionsConfig
from bot.ports import RolloutFailed
from devtools.fake_github import FakeGitHub
from devtools.fake_github.actions import FakeActions, Workflow
from tests.conftest import running_version

START = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
RUN_LINK = "https://github.com/acme/api/actions/runs/9001"


class Killed(Exception):
    """The runner's process died (raised from its sleep)."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def actions(fake: FakeGitHub, clock: ManualClock) -> FakeActions:
    return FakeActions(fake, now=clock.now)


def ticking(clock: ManualClock, actions: FakeActions,
            also: Callable[[int], None] | None = None) -> Callable[[float], None]:
    """A sleep in which time passes and the workflow moves on one stage."""
    calls = [0]

    def sleep(seconds: float) -> None:
        calls[0] += 1
        if also is not None:
            also(calls[0])
        clock.advance(timedelta(seconds=seconds))
        actions.advance()

    return sleep


def executor(client: GitHubClient, clock: ManualClock, sleep: Callable[[float], None],
             **config: Any) -> GitHubActionsExecutor:
    cfg = GitHubActionsConfig.model_validate({"workflow": "deploy.yml", **config})
    return GitHubActionsExecutor("api", "acme/api", cfg, GitHubActions(client), clock=clock,
                                 sleep=sleep)


def deploy(ex: GitHubActionsExecutor, version: str = "v1.2.3", deployment_id: int = 7,
           env: str = "production") -> list[str]:
    lines: list[str] = []
    ex.deploy(env, "api", version, progress=lines.append, deployment_id=deployment_id,
              requested_by="U0ALICE")
    return lines


def test_a_successful_run_dispatches_once_and_reports_each_job_change(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    lines = deploy(executor(client, clock, ticking(clock, actions)))

    assert actions.dispatches == [("acme/api", "deploy.yml", {
        "ref": "main", "inputs": {"environment": "production", "version": "v1.2.3",
                                  "deploybot_run": "deploybot-7-v1.2.3"}})]
    assert actions.runs[0].title == "Deploy v1.2.3 to production (deploybot-7-v1.2.3)"
    jobs = [ln.split(" · ")[0] for ln in lines if ln.startswith(("build", "deploy "))]
    assert jobs == ["build ⏳ queued", "deploy ⏳ queued", "build ⏳ in progress", "build ✅",
                    "deploy ⏳ in progress", "deploy ✅"]
    assert lines[-1] == f"deploy.yml succeeded · run #1 {RUN_LINK}"
    assert all(RUN_LINK in ln for ln in lines if ln.startswith(("build", "deploy ")))


def test_a_failed_run_names_the_failed_job_its_step_and_the_run(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.fail = {"deploy": "Roll out to the cluster"}
    with pytest.raises(RolloutFailed) as e:
        deploy(executor(client, clock, ticking(clock, actions)))
    assert str(e.value) == (
        "workflow run #1 of deploy.yml ended failure: failed jobs: deploy (failure at step "
        f"'Roll out to the cluster') — {RUN_LINK}")
    assert len(actions.dispatches) == 1


def test_later_jobs_skipped_after_a_failure_are_not_called_failed(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.workflows["deploy.yml"].jobs = ("build", "deploy", "verify")
    actions.fail = {"build": "Compile"}
    with pytest.raises(RolloutFailed) as e:
        deploy(executor(client, clock, ticking(clock, actions)))
    assert "failed jobs: build (failure at step 'Compile') —" in str(e.value)
    assert "verify" not in str(e.value) and "deploy (" not in str(e.value)


def test_a_runner_killed_mid_run_follows_the_same_run_after_a_restart(
        fake: FakeGitHub, client: GitHubClient, clock: ManualClock,
        actions: FakeActions) -> None:
    def die(call: int) -> None:
        if call == 3:  # the run was found and its first job runs
            raise Killed

    with pytest.raises(Killed):
        deploy(executor(client, clock, ticking(clock, actions, die)))
    assert actions.runs[0].status == "in_progress"

    # A new process: another client, the same deployment claimed again.
    again = GitHubClient(token=fake.token, api_url=fake.url, timeout=5)
    try:
        lines = deploy(executor(again, clock, ticking(clock, actions)))
    finally:
        again.close()
    assert len(actions.dispatches) == 1
    assert lines[0] == f"found run #1 of deploy.yml again: {RUN_LINK}"
    assert lines[-1].startswith("deploy.yml succeeded")
    assert actions.runs[0].conclusion == "success"


def test_a_run_that_appears_late_is_still_found_and_not_dispatched_twice(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.appear_after = 4
    lines = deploy(executor(client, clock, ticking(clock, actions)))
    assert len(actions.dispatches) == 1
    assert actions.listings >= 5
    assert lines[-1].startswith("deploy.yml succeeded")


def test_someone_elses_run_and_a_similar_key_are_not_taken_for_ours(
        fake: FakeGitHub, client: GitHubClient, clock: ManualClock,
        actions: FakeActions) -> None:
    actions.add_run("acme/api", "deploy.yml", "Deploy v1.2.3 (deploybot-7-v1.2.3.1)")
    actions.add_run("acme/api", "deploy.yml", "Deploy v1.2.3 (deploybot-77-v1.2.3)")
    lines = deploy(executor(client, clock, ticking(clock, actions)))
    assert len(actions.dispatches) == 1
    ours = actions.runs[2]
    assert ours.title.endswith("(deploybot-7-v1.2.3)")
    followed = {p for p in fake.calls() if p.startswith("/repos/acme/api/actions/runs/")}
    assert followed == {f"/repos/acme/api/actions/runs/{ours.id}",
                        f"/repos/acme/api/actions/runs/{ours.id}/jobs"}
    assert lines[-1].endswith(f"run #3 https://github.com/acme/api/actions/runs/{ours.id}")


def test_5xx_and_rate_limits_while_following_are_waited_out(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    def trouble(call: int) -> None:
        if call == 2:
            actions.errors = [502, 429, 403]

    lines = deploy(executor(client, clock, ticking(clock, actions, trouble)))
    assert lines[-1].startswith("deploy.yml succeeded")
    # (a long wait says its line again now and then: that renews the runner's lease)
    waits = list(dict.fromkeys(ln for ln in lines if ln.startswith("GitHub cannot be asked")))
    assert len(waits) == 3, lines
    assert "answered 502" in waits[0] and "again in 10s" in waits[0]
    assert "(retry after 30 s)" in waits[1] and "again in 30s" in waits[1]
    assert "resets at" in waits[2] and "again in 1m" in waits[2]
    assert len(actions.dispatches) == 1


def test_github_down_at_the_start_is_waited_out_before_anything_is_dispatched(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.errors = [502, 503]
    lines = deploy(executor(client, clock, ticking(clock, actions)))
    assert len(actions.dispatches) == 1
    assert lines[-1].startswith("deploy.yml succeeded")


def test_a_refused_token_while_following_fails_clearly(
        fake: FakeGitHub, client: GitHubClient, clock: ManualClock,
        actions: FakeActions) -> None:
    def revoke(call: int) -> None:
        if call == 2:
            fake.token = "revoked"

    with pytest.raises(RolloutFailed) as e:
        deploy(executor(client, clock, ticking(clock, actions, revoke)))
    assert str(e.value).startswith(f"could not follow workflow run #1 of deploy.yml "
                                   f"({RUN_LINK}): ")
    assert "401 Bad credentials" in str(e.value)


def test_a_missing_workflow_fails_naming_it(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    with pytest.raises(RolloutFailed) as e:
        deploy(executor(client, clock, ticking(clock, actions), workflow="nope.yml"))
    assert "there is no workflow nope.yml in acme/api" in str(e.value)
    assert actions.dispatches == []


def test_an_input_the_workflow_does_not_declare_fails_clearly(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    with pytest.raises(RolloutFailed) as e:
        deploy(executor(client, clock, ticking(clock, actions),
                        inputs={"env": "{environment}", "deploybot_run": "{run_key}"}))
    assert "GitHub refused to run workflow deploy.yml of acme/api on main (422: " \
           "Unexpected inputs provided: ['env'])" in str(e.value)


def test_a_run_that_does_not_finish_in_time_fails_and_is_left_alone(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    def stuck(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))  # time passes, the run does not move

    with pytest.raises(RolloutFailed) as e:
        deploy(executor(client, clock, stuck, timeout="2m"))
    assert str(e.value) == (
        "workflow run #1 of deploy.yml did not finish within 2m "
        f"(services.api.github.actions.timeout); it is queued and was left alone: {RUN_LINK}")
    assert clock.now() - START >= timedelta(minutes=2)


def test_a_rollback_runs_the_rollback_workflow_with_the_version_rolled_back_to(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.workflows["rollback.yml"] = Workflow(
        "Roll back", ("environment", "version", "deploybot_run"),
        "Roll back to {version} in {environment} ({deploybot_run})", jobs=("rollback",))
    ex = executor(client, clock, ticking(clock, actions), rollback_workflow="rollback.yml")
    lines: list[str] = []
    ex.roll_back("production", "api", "v1.2.2", progress=lines.append, deployment_id=8)
    assert [(w, b["inputs"]["version"]) for _, w, b in actions.dispatches] == [
        ("rollback.yml", "v1.2.2")]
    assert lines[-1].startswith("rollback.yml succeeded")
    # What runs there now: the rollback's run (tests/backends/github/test_executor.py).
    assert running_version(ex, "production", "api") == "v1.2.2"


def test_github_down_past_the_timeout_fails_at_the_timeout(
        client: GitHubClient, clock: ManualClock, actions: FakeActions) -> None:
    actions.errors = [502] * 50
    with pytest.raises(RolloutFailed) as e:
        deploy(executor(client, clock, ticking(clock, actions), timeout="1m"))
    assert str(e.value) == ("workflow deploy.yml of acme/api: it could not be started within "
                            "1m (services.api.github.actions.timeout)")
    assert clock.now() - START == timedelta(minutes=1)  # no wait past it
    assert actions.dispatches == []
