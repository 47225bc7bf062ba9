"""A version is a tag or a release (issue 6), over signed Slack HTTP with the fake GitHub API:
a release's name deploys (and records) the release's tag; a name that is neither is refused
with the nearest tags as before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text

from bot.domain.states import State
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.repo import RepoState
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import blocks_text, ephemeral_text, run_to_end

TAGS = ["v1.3.0", "v1.2.4", "v1.2.3"]


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    fake = FakeGitHub(httpserver, {"acme/api": TAGS})
    RepoState(fake).release("acme/api", "v1.3.0", "1.3.0-rc")
    return fake


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(services={"api": {"executor": "simulated",
                                         "version_pattern": r"^v?\d+\.\d+\.\d+(-\w+)?$",
                                         "github": {"repository": "acme/api"}}},
                       github={"api_url": fake_github.url})


def test_a_release_name_deploys_and_records_its_tag(bot: RunningBot,
                                                   fake_github: FakeGitHub) -> None:
    reply = ephemeral_text(bot, bot.deploy("staging 1.3.0-rc"))
    assert "Deployment #1 started" in reply and "`v1.3.0`" in reply, reply
    assert run_to_end(bot, 1) is State.SUCCEEDED
    d = bot.deployment(1)
    assert d.version == "v1.3.0"  # the tag is what is deployed and recorded
    assert "v1.3.0" in blocks_text(bot.card(1))
    with bot.container.database.engine.connect() as conn:
        (details,) = conn.execute(text(
            "SELECT details FROM audit_events WHERE action = 'deploy.requested'")).one()
    details = details if isinstance(details, dict) else json.loads(details)
    assert (details["version"], details["release"]) == ("v1.3.0", "1.3.0-rc")
    assert fake_github.reads() == ["/repos/acme/api/git/ref/tags/1.3.0-rc",  # not a tag
                                   "/repos/acme/api/tags",  # (the repository exists)
                                   "/repos/acme/api/releases"]


def test_a_tag_is_deployed_as_itself_without_asking_for_releases(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    assert "Deployment #1 started" in ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    assert bot.deployment(1).version == "v1.2.3"
    assert "/repos/acme/api/releases" not in fake_github.reads()


def test_neither_a_tag_nor_a_release_is_refused_with_the_nearest_tags(
        bot: RunningBot) -> None:
    text_ = ephemeral_text(bot, bot.deploy("staging v1.2.9"))
    assert "`v1.2.9` is not a tag of acme/api. Nearest tags: `v1.2.4`, `v1.2.3`" in text_
