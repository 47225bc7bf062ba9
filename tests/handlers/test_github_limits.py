"""GitHub deliveries with values no column can hold (issue 14, leftovers found at the edge),
over signed HTTP to `POST /github/webhook`.

A `pull_request` whose `number` is not a pull request number GitHub could give (0, negative,
a boolean, a string, or more digits than a preview instance `pr-<n>` holds: its column is 32
characters, and bot.domain.previews reads back at most 10 digits) is ignored: answered 200
(the delivery is well-formed JSON, signed, and claimed once), audited as ignored with the
reason, one WARNING line, nothing deployed or torn down, no traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.domain.github_events import MAX_PULL_REQUEST
from bot.domain.states import State
from devtools.fake_github import FakeGitHub
from devtools.fake_slack import FakeSlack
from tests.conftest import RunningBot, base_config, serve_bot
from tests.edge_checks import every_log
from tests.handlers.spine import deployment_ids
from tests.handlers.test_github_webhook import SECRET, deliver, deliveries

REPO = "acme/api"
SHA = "7777777777777777777777777777777777777777"


@pytest.fixture
def config_data(local_github: FakeGitHub) -> dict[str, Any]:
    cfg = base_config(github={"api_url": local_github.url})
    cfg["environments"]["development"] = {}
    cfg["services"]["api"].update({
        "github": {"repository": REPO, "auto_deploy": {"main": "staging"},
                   "pull_requests": {"environment": "development", "per_pr": True}},
        "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$",
    })
    return cfg


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock,
                   github_webhook_secret=SECRET) as running, every_log(caplog):
        yield running


def pull_request(number: Any, action: str = "opened") -> dict[str, Any]:
    return {"action": action, "number": number,
            "pull_request": {"head": {"ref": "feature-x", "sha": SHA}},
            "repository": {"full_name": REPO}, "sender": {"login": "octocat"}}


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]


def ignored_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.levelno == logging.WARNING and "pull request number" in r.getMessage()]


BAD_NUMBERS = [
    pytest.param(10 ** 40, id="40-digits"),
    pytest.param(MAX_PULL_REQUEST + 1, id="one-past-the-limit"),
    pytest.param(2 ** 63, id="past-64-bits"),
    pytest.param(0, id="zero"),
    pytest.param(-7, id="negative"),
    pytest.param(True, id="boolean"),
    pytest.param("7", id="string"),
    pytest.param(7.5, id="fraction"),
    pytest.param(None, id="null"),
]


@pytest.mark.parametrize("number", BAD_NUMBERS)
@pytest.mark.parametrize("action", ["opened", "closed"])
def test_a_pull_request_number_no_preview_can_hold_is_ignored(
        bot: RunningBot, caplog: pytest.LogCaptureFixture, number: Any, action: str) -> None:
    assert deliver(bot, pull_request(number, action), event="pull_request") == 200
    assert bot.container.runner.wait_idle()
    assert bot.container.background.wait_idle(10)

    assert deployment_ids(bot) == []
    (audited,) = deliveries(bot)
    assert len(audited["outcome"]) == 1
    assert audited["outcome"][0].startswith("ignored: pull request number")
    assert "pull_request" not in audited  # no number recorded that is not one
    assert len(ignored_lines(caplog)) == 1
    assert tracebacks(caplog) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert bot.slack.calls("chat.postMessage") == []


def test_the_largest_pull_request_number_still_deploys_its_preview(
        bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    assert deliver(bot, pull_request(MAX_PULL_REQUEST), event="pull_request") == 200
    assert bot.container.runner.wait_idle()
    d = bot.deployment(1)
    assert (d.environment, d.instance, d.state) == (
        "development", f"pr-{MAX_PULL_REQUEST}", State.SUCCEEDED)
    assert ignored_lines(caplog) == []
    assert tracebacks(caplog) == []
