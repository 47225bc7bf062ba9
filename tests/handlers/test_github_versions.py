"""A version is a tag of the service's repository (issue 6), over signed Slack HTTP with a
local fake GitHub API: a missing tag is refused with the nearest ones, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.domain.states import State
from devtools.fake_github import TOKEN, FakeGitHub
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import CHANNEL, ephemeral_text, posts_to, run_to_end

TAGS = ["v1.3.0", "v1.2.4", "v1.2.3", "v1.2.2", "v1.1.0"]


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # a secret: from the environment only
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": TAGS})


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(services={"api": {"executor": "simulated",
                                         "github": {"repository": "acme/api"}}},
                       github={"api_url": fake_github.url})


def deployments(bot: RunningBot) -> list[Any]:
    with bot.container.database.transaction() as r:
        return list(r.deployments.recent(10))


def test_a_missing_tag_is_refused_with_the_nearest_tags_and_nothing_is_stored(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    reply = bot.deploy("production v1.2.9")
    assert reply.status == 200
    text = ephemeral_text(bot, reply)
    assert ("`v1.2.9` is not a tag of acme/api. Nearest tags: `v1.2.4`, `v1.2.3`, `v1.2.2`."
            in text)
    assert deployments(bot) == []
    assert posts_to(bot, CHANNEL) == []
    assert "/repos/acme/api/git/ref/tags/v1.2.9" in fake_github.calls()


def test_an_existing_tag_is_accepted_and_not_asked_again_for_a_while(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    reply = bot.deploy("staging v1.2.3")
    assert "Deployment #1 started" in ephemeral_text(bot, reply)
    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert fake_github.reads() == ["/repos/acme/api/git/ref/tags/v1.2.3"]

    reply = bot.deploy("production v1.2.3")  # the same tag again: GitHub is not asked
    assert "#2" in ephemeral_text(bot, reply)
    assert bot.deployment(2).state is State.AWAITING_APPROVAL
    assert fake_github.reads() == ["/repos/acme/api/git/ref/tags/v1.2.3"]


def test_github_down_refuses_with_try_again_and_stores_nothing(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    fake_github.status = 502
    text = ephemeral_text(bot, bot.deploy("production v1.2.3"))
    assert "502" in text and "try again" in text.lower(), text
    assert deployments(bot) == []
