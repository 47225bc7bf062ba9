"""A release whose tag is longer than a deployment's version column (MAX_VERSION, 128)
(issue 14, leftovers found at the edge), over signed Slack HTTP with the fake GitHub API.

`/deploy staging 1.3.0-big` names a release (the name passes the parser's length check);
its tag, read from GitHub, is 207 characters. Today the deploy is accepted ("Requesting…")
and then the insert fails on PostgreSQL ("💥 Something went wrong", a traceback), while
SQLite stores the over-long version. It should be refused like a version typed too long.

The tag is resolved in bot/services/versions.py (`VersionCheck.check`), which refuses it.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.domain.commands import MAX_VERSION
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.repo import RepoState
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import deployment_ids, ephemeral_text, settle

LONG_TAG = "v1.2.3-" + "a" * 200
RELEASE = "1.3.0-big"


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    fake = FakeGitHub(httpserver, {"acme/api": ["v1.2.3", LONG_TAG]})
    RepoState(fake).release("acme/api", LONG_TAG, RELEASE)
    return fake


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(services={"api": {"executor": "simulated",
                                         "version_pattern": r"^v?\d+\.\d+\.\d+(-\w+)?$",
                                         "github": {"repository": "acme/api"}}},
                       github={"api_url": fake_github.url})


def test_a_release_whose_tag_is_too_long_is_refused_and_nothing_is_stored(
        bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    assert len(LONG_TAG) > MAX_VERSION
    reply = ephemeral_text(bot, bot.deploy(f"staging {RELEASE}"))
    settle(bot)
    assert f"the limit is {MAX_VERSION}" in reply, reply
    assert deployment_ids(bot) == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
