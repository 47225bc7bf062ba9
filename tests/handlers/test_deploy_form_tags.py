"""The `/deploy` form opens within Slack's 3-second trigger even when GitHub is slow: the
services' tags are read all at once, within one deadline; a service whose tags did not come
in time offers the versions deployed lately, and the form says why (over signed Slack HTTP,
the fake Slack and a fake GitHub whose tag lists wait for the test to let them go — an
Event, never a sleep). The late answer is kept: the next form offers the tags without asking
GitHub again; tag lists are kept for a minute on the bot's clock, failures not at all."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.presentation import ids
from devtools.fake_github import TOKEN, FakeGitHub, Hit
from devtools.fake_slack import FakeSlack
from tests.conftest import REQUESTER, RunningBot, base_config, serve_bot
from tests.handlers.spine import request, run_to_end, wait_dm
from tests.handlers.test_deploy_modal import block, open_form, values

#: The form's wait for GitHub in these tests: long enough for an answer that is there even on
#: a loaded CI machine (an unheld list is answered at once: a round trip of milliseconds),
#: short of the fake Slack's wait for views.open (5 s); the held repository's tags are held
#: until the test lets them go (no timing is asserted).
DEADLINE = 2.5

TAGS = {"acme/api": ["v1.3.0", "v1.2.4", "v1.2.3"], "acme/web": ["w2", "w1"]}


class HeldTags:
    """GET /repos/{repo}/tags of the repositories in `held` waits until `release` is set,
    then answers as the fake does (the list, newest first: GitHub's "List repository tags")."""

    def __init__(self, fake: FakeGitHub, held: set[str]) -> None:
        self.fake = fake
        self.held = held
        self.release = threading.Event()
        self.arrived: list[str] = []  # the repositories asked, as the requests came
        fake.route("GET", "/tags", self._tags)

    def _tags(self, hit: Hit) -> Response:
        self.arrived.append(hit.repo)
        if hit.repo in self.held:
            self.release.wait(timeout=60)  # bounds a hang only: the test sets it
        return self.fake.json([
            {"name": t, "commit": {"sha": "0" * 40, "url": f"{hit.base}/commits/{'0' * 40}"},
             "zipball_url": f"{hit.base}/zipball/{t}", "tarball_url": f"{hit.base}/tarball/{t}"}
            for t in self.fake.repos[hit.repo]])

    def asked(self, repository: str) -> int:
        """How many times its tags were asked for (answered or still held)."""
        return self.arrived.count(repository)


@pytest.fixture
def github_server() -> Iterator[HTTPServer]:
    """A threaded server: a held answer must not hold the other repositories' answers."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def fake_github(github_server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(github_server, TAGS)


@pytest.fixture
def held(fake_github: FakeGitHub) -> Iterator[HeldTags]:
    tags = HeldTags(fake_github, {"acme/api"})
    yield tags
    tags.release.set()  # whatever the test did: nothing stays waiting


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "simulated", "github": {"repository": "acme/api"}},
                  "web": {"executor": "simulated", "github": {"repository": "acme/web"},
                          "version_pattern": "w[0-9]+"}},
        github={"api_url": fake_github.url})


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        held: HeldTags) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock,
                   form_tags_deadline=DEADLINE) as running:
        yield running


def groups(view: dict[str, Any]) -> dict[str, list[str]]:
    """The version select's groups: label → the versions offered."""
    element = block(view, ids.FORM_VERSION)["element"]
    return {g["label"]["text"]: [o["text"]["text"] for o in g["options"]]
            for g in element["option_groups"]}


def notes(view: dict[str, Any]) -> str:
    return " ".join(e["text"] for b in view["blocks"] if b["type"] == "context"
                    for e in b["elements"])


def test_a_slow_github_does_not_keep_the_form_from_opening_and_its_late_tags_are_kept(
        bot: RunningBot, held: HeldTags) -> None:
    run_to_end(bot, request(bot, "api staging v1.2.3"))  # api's history: v1.2.3

    view = open_form(bot)  # views.open within the trigger, GitHub's api tags still held

    assert groups(view) == {"api (deployed lately)": ["v1.2.3"],
                            "web (the repository's tags)": ["w2", "w1"]}
    assert "GitHub did not answer in time for api" in notes(view)
    assert block(view, ids.FORM_VERSION_TYPED)["element"]["type"] == "plain_text_input"

    held.release.set()  # GitHub answers, late: the answer is kept for the next form
    assert bot.container.deploy_form.settle(timeout=30)
    view = open_form(bot)
    assert groups(view) == {"api (the repository's tags)": ["v1.3.0", "v1.2.4", "v1.2.3"],
                            "web (the repository's tags)": ["w2", "w1"]}
    assert "did not answer" not in notes(view)
    assert (held.asked("acme/api"), held.asked("acme/web")) == (1, 1)  # not asked again


def test_a_form_opened_while_a_read_is_late_does_not_ask_github_again(
        bot: RunningBot, held: HeldTags) -> None:
    first = open_form(bot)
    second = open_form(bot)
    assert "did not answer in time for api" in notes(first)
    assert "did not answer in time for api" in notes(second)
    assert held.asked("acme/api") == 1  # the second form waited on the first one's read
    # no deploy of api yet: nothing to pick for it, the version is typed
    assert "api (deployed lately)" not in groups(second)
    assert block(second, ids.FORM_VERSION_TYPED)["label"]["text"] == "Or type the version"


def test_tag_lists_are_kept_for_a_minute_on_the_bots_clock(
        bot: RunningBot, held: HeldTags) -> None:
    held.release.set()
    open_form(bot)
    open_form(bot)
    assert held.asked("acme/web") == 1
    bot.clock.advance(timedelta(seconds=61))
    view = open_form(bot)
    assert held.asked("acme/web") == 2
    assert groups(view)["web (the repository's tags)"] == ["w2", "w1"]


def test_a_failed_read_is_said_and_not_kept(
        bot: RunningBot, held: HeldTags, fake_github: FakeGitHub) -> None:
    held.release.set()
    fake_github.status = 502
    view = open_form(bot)
    assert "GitHub could not list the tags of api and web" in notes(view)
    assert [b for b in view["blocks"] if b.get("block_id") == ids.FORM_VERSION] == []
    assert block(view, ids.FORM_VERSION_TYPED)["label"]["text"] == "Version"  # still typed
    fake_github.status = None
    view = open_form(bot)  # asked again: a failure is not kept
    assert set(groups(view)) == {"api (the repository's tags)", "web (the repository's tags)"}


def test_a_tag_the_form_listed_is_deployed_without_asking_github_again(
        bot: RunningBot, held: HeldTags, fake_github: FakeGitHub) -> None:
    held.release.set()
    view = open_form(bot)
    bot.requester.submit_view(view, values(environment="staging", picked="api v1.2.4",
                                           typed=None), user_id=REQUESTER)
    wait_dm(bot)
    assert bot.deployment(1).version == "v1.2.4"
    assert "/repos/acme/api/git/ref/tags/v1.2.4" not in fake_github.reads()
