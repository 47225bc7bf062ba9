"""Deployments mirrored on GitHub (issue 6, Deployments API), over signed Slack HTTP with a
local fake GitHub API: a deployment of a service with a repository becomes a GitHub
deployment whose statuses follow it, with the Slack thread as its log; GitHub failing never
changes how the deployment ends."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.domain.states import State
from devtools.fake_github import TOKEN, FakeGitHub
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import ephemeral_text, run_to_end, wait_dm

TAGS = ["v1.3.0-bad", "v1.3.0", "v1.2.3", "v1.2.2"]


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": TAGS})


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(services={"api": {"executor": "simulated",
                                         "github": {"repository": "acme/api"}},
                                 "web": {"executor": "simulated"}},
                       github={"api_url": fake_github.url})


def mirrored(bot: RunningBot) -> None:
    mirror = bot.container.github_mirror
    assert mirror is not None
    assert mirror.wait_idle(10)


def states(fake: FakeGitHub, github_id: int) -> list[str]:
    return [body["state"] for gid, body in fake.statuses if gid == github_id]


def test_a_staging_deploy_is_a_github_deployment_queued_in_progress_success(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    assert "Deployment #1 started" in ephemeral_text(bot, bot.deploy("api staging v1.2.3"))
    assert run_to_end(bot, 1) is State.SUCCEEDED
    mirrored(bot)

    assert fake_github.deployments == [{
        "ref": "v1.2.3", "environment": "staging", "task": "deploy",
        "auto_merge": False, "required_contexts": [],
        "payload": {"deploybot_deployment_id": 1, "kind": "deploy",
                    "requested_by": bot.deployment(1).requested_by},
        "description": fake_github.deployments[0]["description"]}]
    assert "deploybot #1" in fake_github.deployments[0]["description"]
    assert states(fake_github, 1) == ["queued", "in_progress", "success"]  # each once
    d = bot.deployment(1)
    assert d.github_deployment_id == 1  # stored with the deployment
    thread = f"https://example.slack.com/archives/{d.channel}/p{d.message_ts.replace('.', '')}"
    assert [body.get("log_url") for _, body in fake_github.statuses] == [thread] * 3
    assert all(body["environment"] == "staging" for _, body in fake_github.statuses)
    assert fake_github.statuses[-1][1]["auto_inactive"] is True


def test_a_failing_deploy_ends_in_failure_on_github(bot: RunningBot,
                                                    fake_github: FakeGitHub) -> None:
    bot.deploy("api staging v1.3.0-bad")
    assert run_to_end(bot, 1) is State.FAILED
    mirrored(bot)
    assert fake_github.deployments[0]["ref"] == "v1.3.0-bad"
    assert states(fake_github, 1)[0] == "queued"
    assert states(fake_github, 1)[-1] == "failure"
    assert "success" not in states(fake_github, 1)


def test_github_answering_500_does_not_change_the_deployment(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    mirror = bot.container.github_mirror
    assert mirror is not None
    mirror.backoff = 0.01  # retried (a few times, with backoff), then dropped
    fake_github.deployments_status = 500
    bot.deploy("api staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    mirrored(bot)
    assert fake_github.deployments == [] and fake_github.statuses == []
    posts = [p for p in fake_github.calls() if p == "/repos/acme/api/deployments"]
    assert len(posts) >= mirror.attempts  # asked again after a 500
    assert bot.deployment(1).github_deployment_id is None

    fake_github.deployments_status = None  # GitHub is back: the next one is mirrored
    bot.deploy("api staging v1.3.0")
    wait_dm(bot, count=2)
    assert run_to_end(bot, 2) is State.SUCCEEDED
    mirrored(bot)
    assert [d["ref"] for d in fake_github.deployments] == ["v1.3.0"]


def test_a_service_without_a_repository_is_not_mirrored(bot: RunningBot,
                                                        fake_github: FakeGitHub) -> None:
    bot.deploy("web staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    mirrored(bot)
    assert fake_github.calls() == []


def test_a_rollback_is_mirrored_and_the_deploy_it_replaces_ends_in_failure(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    from tests.handlers.test_rollback import confirm, plan

    bot.deploy("api staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    bot.deploy("api staging v1.3.0")
    wait_dm(bot, count=2)
    assert run_to_end(bot, 2) is State.SUCCEEDED
    _, answer = plan(bot, "staging api")
    confirm(bot, answer)
    wait_dm(bot, count=3)
    assert bot.container.runner.wait_idle()
    assert bot.deployment(3).state is State.SUCCEEDED
    assert bot.deployment(2).state is State.ROLLED_BACK
    mirrored(bot)

    rollback = fake_github.deployments[2]
    assert (rollback["ref"], rollback["environment"], rollback["payload"]["kind"],
            rollback["payload"]["rollback_of"]) == ("v1.2.3", "staging", "rollback", 2)
    assert states(fake_github, 3)[-1] == "success"
    assert states(fake_github, 2) == ["queued", "in_progress", "success", "failure"]
