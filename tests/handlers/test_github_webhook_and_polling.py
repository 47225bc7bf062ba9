"""Webhooks and polling both on (`github.poll: on` with GITHUB_WEBHOOK_SECRET set): a head
is handled once, whichever path finds it first. GitHub delivers a push once (and again only
on a redelivery); polling finds the same head at its next look. The second to find it does
nothing: no second deployment, no "skipped: already running" announcement, and its audit
says which path had it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.scheduling import jobs
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import RepoState
from devtools.fake_slack import FakeSlack
from tests.conftest import RunningBot, base_config, serve_bot
from tests.handlers.conftest import polled_github
from tests.handlers.spine import announcements, deployment_ids
from tests.handlers.test_github_polling import NEW, REPO, deliveries
from tests.handlers.test_github_webhook import SECRET, deliver, push


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    return polled_github(httpserver, monkeypatch)


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    cfg = base_config(github={"api_url": fake_github.url, "poll": "on", "poll_every": "30s"})
    cfg["services"]["api"].update({
        "github": {"repository": REPO, "auto_deploy": {"main": "staging"}},
        "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$",
    })
    return cfg


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        gh: RepoState) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock,
                   github_webhook_secret=SECRET) as running:
        assert running.container.github_polling is not None  # both paths are on
        jobs.register_instance(running.container)
        try:
            yield running
        finally:
            jobs.unregister_instance(running.container.instance)


def poll(bot: RunningBot) -> int:
    handled = jobs.poll_github(bot.container.instance)
    assert bot.container.runner.wait_idle()
    return handled


def delivered(bot: RunningBot, sha: str, delivery: str) -> None:
    assert deliver(bot, push(after=sha), delivery=delivery) == 200
    assert bot.container.background.wait_idle(10)
    assert bot.container.runner.wait_idle()


def skipped(bot: RunningBot) -> list[str]:
    return [a for a in announcements(bot) if "skipped" in a]


def test_a_push_delivered_first_is_not_handled_again_by_the_next_poll(
        bot: RunningBot, gh: RepoState) -> None:
    assert poll(bot) == 0  # the baseline: OLD
    gh.set_branch(REPO, "main", NEW)
    delivered(bot, NEW, "d-1")
    assert len(deployment_ids(bot)) == 1
    assert poll(bot) == 0  # the webhook had it
    assert len(deployment_ids(bot)) == 1
    assert skipped(bot) == []
    assert [d["delivery"] for d in deliveries(bot)] == ["d-1"]


def test_a_head_polled_first_is_not_handled_again_by_its_webhook(
        bot: RunningBot, gh: RepoState) -> None:
    assert poll(bot) == 0
    gh.set_branch(REPO, "main", NEW)
    assert poll(bot) == 1
    delivered(bot, NEW, "d-2")  # GitHub's delivery arrives after the poll found the head
    assert len(deployment_ids(bot)) == 1
    assert skipped(bot) == []
    _polled, webhook = deliveries(bot)
    assert webhook["delivery"] == "d-2"
    assert webhook["outcome"] == ["duplicate: polling found this head first"]
