"""`/rollout`, `/pods` and `/events` for a service deployed by a GitHub Actions workflow
(executor: github-actions), over signed Slack HTTP with a local fake GitHub API: `/rollout`
shows the latest run of the deploy (or rollback) workflow that names the environment,
whatever its state, with its jobs linked to their logs; `/pods` and `/events` say what does
not apply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.clock import ManualClock
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.actions import FakeActions, Workflow
from tests.conftest import REQUESTER, RunningBot, base_config
from tests.handlers.test_troubleshooting import INFO, answer, audit, command

RUN = "https://github.com/acme/api/actions/runs/"


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # a secret: from the environment only
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": ["v1.2.3", "v1.3.0"]})


@pytest.fixture
def actions(fake_github: FakeGitHub, clock: ManualClock) -> FakeActions:
    fake = FakeActions(fake_github, now=clock.now)
    fake.workflows["rollback.yml"] = Workflow(
        "Roll back", ("environment", "version", "deploybot_run"),
        "Roll back {environment} to {version} ({deploybot_run})", jobs=("rollback",))
    return fake


@pytest.fixture
def config_data(fake_github: FakeGitHub, actions: FakeActions) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "github-actions", "github": {
            "repository": "acme/api",
            "actions": {"workflow": "deploy.yml", "rollback_workflow": "rollback.yml"}}}},
        github={"api_url": fake_github.url})


def test_rollout_shows_the_latest_deploy_run_naming_the_environment_and_its_jobs(
        bot: RunningBot, actions: FakeActions, clock: ManualClock) -> None:
    done = actions.add_run("acme/api", "deploy.yml",
                           "Deploy v1.2.3 to staging (deploybot-1-v1.2.3)",
                           jobs=("build", "deploy"), stage=3)
    clock.advance(timedelta(minutes=30))
    actions.add_run("acme/api", "deploy.yml", "Deploy v1.3.0 to production "
                    "(deploybot-2-v1.3.0)", jobs=("build", "deploy"), stage=3)
    clock.advance(timedelta(minutes=5))
    failing = actions.add_run("acme/api", "deploy.yml",
                              "Deploy v1.3.0 to staging (deploybot-3-v1.3.0)",
                              jobs=("build", "deploy", "verify"), stage=3,
                              fail={"deploy": "Roll out"}, actor="alice")
    clock.advance(timedelta(minutes=4))

    reply = command(bot, "/rollout", "staging")
    text, shown = answer(bot, reply)

    assert ("*Rollout of `api` in staging* — GitHub Actions (acme/api, workflow "
            "`deploy.yml`)") in shown
    assert (f"*Latest deploy run:* <{RUN}{failing.id}|❌ Deploy v1.3.0 to staging "
            f"(deploybot-3-v1.3.0) #{failing.number}> — failure · started Wed 2026-11-18 "
            "10:35 EST (4m ago) by alice") in shown
    assert f"/actions/runs/{done.id}" not in shown  # an older run
    assert "✅ <" in shown and "|build> — success" in shown
    assert "❌ <" in shown and "|deploy> — failure" in shown
    assert "↳ failed step" in shown and "Roll out>" in shown
    assert "⏭️ <" in shown and "|verify> — skipped" in shown
    assert f"`/ci rerun {failing.id} --failed`" in shown
    assert "Latest deploy run" in text
    ((actor, details),) = audit(bot, "troubleshoot.rollout")
    assert (actor, details["executor"], details["run_id"], details["ok"]) == (
        REQUESTER, "github-actions", failing.id, True)


def test_a_rollback_run_newer_than_the_last_deploy_is_the_latest(
        bot: RunningBot, actions: FakeActions, clock: ManualClock) -> None:
    actions.add_run("acme/api", "deploy.yml", "Deploy v1.3.0 to staging (deploybot-1-v1.3.0)",
                    stage=2)
    clock.advance(timedelta(minutes=10))
    rollback = actions.add_run("acme/api", "rollback.yml",
                               "Roll back staging to v1.2.3 (deploybot-2-v1.2.3)",
                               jobs=("rollback",), stage=1)

    _, shown = answer(bot, command(bot, "/rollout", "staging api"))
    assert f"<{RUN}{rollback.id}|⏳ Roll back staging to v1.2.3" in shown
    assert "— in progress" in shown
    assert "|rollback> — in progress" in shown


def test_no_run_names_the_environment(bot: RunningBot, actions: FakeActions) -> None:
    actions.add_run("acme/api", "deploy.yml", "Deploy v1.3.0 to production "
                    "(deploybot-1-v1.3.0)", stage=2)
    _, shown = answer(bot, command(bot, "/rollout", "staging"))
    assert "No recent run of the deploy workflow names staging" in shown


@pytest.mark.parametrize("name, what", [("/pods", "its pods"),
                                        ("/events", "its Kubernetes events")])
def test_pods_and_events_say_what_does_not_apply(bot: RunningBot, name: str,
                                                 what: str) -> None:
    text, _ = answer(bot, command(bot, name, "production"))
    assert text == (f"{INFO} `api` is deployed by a GitHub Actions workflow of acme/api: "
                    f"deploybot cannot see {what}, only the workflow's runs. `/rollout` shows "
                    "the latest deploy run's jobs (each linked to its log); "
                    "`/ci &lt;version&gt;` shows a version's CI.")


def test_github_refusing_is_explained(bot: RunningBot, actions: FakeActions) -> None:
    actions.errors = [502, 502, 502, 502, 502, 502]
    text, _ = answer(bot, command(bot, "/rollout", "staging"))
    assert text.startswith("⏳ "), text
    assert "try again" in text
    ((_, details),) = audit(bot, "troubleshoot.rollout")
    assert details["ok"] is False and details["error"]
