"""`/deploy` with bad text: answered at once, privately, naming the problem; nothing stored.

Also the accepted spellings (`help`, `<service> <env> <version>`, `--version=`).
"""

from __future__ import annotations

import html
from typing import Any

import pytest

from bot.domain.states import State
from tests.conftest import REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    blocks_text,
    deployment_ids,
    ephemeral_text,
    request,
    settle,
)
from tests.slack_hold import SlackHold, acked_while_held


@pytest.fixture
def config_data() -> dict[str, Any]:
    # Two services, so a service name is needed and can be wrong.
    return base_config(services={"api": {"executor": "simulated"},
                                 "web": {"executor": "simulated"}})


BAD = [
    # (no text at all opens the deploy form: tests/handlers/test_deploy_modal.py)
    pytest.param('--emergency "db down"', "Tell me what to deploy", id="only-an-option"),
    pytest.param("api prod v1.2.3", "Unknown environment `prod`", id="unknown-environment"),
    pytest.param("db production v1.2.3", "Unknown service `db`", id="unknown-service"),
    pytest.param("production v1.2.3", "Which service?", id="service-missing"),
    pytest.param("api production 1.2", "`1.2` is not a valid version for `api`",
                 id="malformed-version"),
    pytest.param("api production", "Which version?", id="version-missing"),
    pytest.param("api production latest", "`latest` is not a valid version",
                 id="word-as-version"),
    pytest.param("api production v1.2.3 now", "Too many words: `now` was not expected",
                 id="extra-words"),
    # The environment and the service swapped: the command meant is named.
    pytest.param("staging api v1.2.3", "Did you mean `/deploy api staging v1.2.3`?",
                 id="environment-before-service"),
    pytest.param("production web --version=v1.2.3",
                 "Did you mean `/deploy web production v1.2.3`?",
                 id="environment-before-service-with-version-option"),
    pytest.param('production api v1.2.4 --emergency "db down"',
                 'Did you mean `/deploy api production v1.2.4 --emergency "db down"`?',
                 id="environment-before-service-emergency"),
    pytest.param("api production v1.2.3; rm -rf /", "`v1.2.3;` is not a name or a version",
                 id="shell-injection"),
    pytest.param("api production `v1.2.3`", "`'v1.2.3'` is not a name or a version",
                 id="backticks"),
    pytest.param("<!channel>", "`&lt;!channel&gt;` is not a name or a version",
                 id="channel-mention"),
    pytest.param("api production <!channel>", "`&lt;!channel&gt;` is not a name or a version",
                 id="channel-mention-as-version"),
    pytest.param("<@U0BOB> api production v1.2.3", "`&lt;@U0BOB&gt;` is not a name",
                 id="user-mention"),
    pytest.param("api production --version=v1.2.3 --version=v1.2.4", "version is given twice",
                 id="version-twice"),
    pytest.param("api production --dry-run v1.2.3", "Unknown option `--dry-run`",
                 id="unknown-option"),
    pytest.param("api production --force v1.2.3", "Put the force reason in quotes",
                 id="force-without-quotes"),
    pytest.param("x" * 10_240, "10240 characters long; the limit is 500", id="10kb"),
    pytest.param("api production " + "<!channel> " * 900,
                 "9915 characters long; the limit is 500", id="10kb-of-mentions"),
    pytest.param("x" * 501, "501 characters long; the limit is 500", id="just-over-the-limit"),
]


@pytest.mark.parametrize(("text", "problem"), BAD)
def test_bad_deploy_text_is_refused_privately_and_changes_nothing(
    bot: RunningBot, text: str, problem: str
) -> None:
    reply = bot.deploy(text)

    assert reply.status == 200
    body = reply.json
    assert body["response_type"] == "ephemeral"
    assert problem in body["text"]
    assert problem in blocks_text(body)
    assert "*Usage*" in body["text"]  # and how to get it right
    # Mentions are neutralised wherever the input is echoed.
    for raw in ("<!channel>", "<@U0BOB>", "<!here>", "<!everyone>"):
        assert raw not in reply.body
    assert len(reply.body) < 4_000  # the input is not echoed in full

    settle(bot)
    # One answer (the ack); the background listener does not repeat it.
    assert bot.slack.response_posts(reply.response_key) == []
    assert deployment_ids(bot) == []
    assert bot.slack.calls("chat.postMessage") == []
    assert bot.slack.calls("chat.update") == []


def test_help_shows_usage_and_changes_nothing(bot: RunningBot) -> None:
    reply = bot.deploy("help")

    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert reply.json["text"].startswith("*Usage*")
    shown = html.unescape(reply.json["text"])  # mrkdwn escapes < and >
    for form in ("/deploy <environment> <version>", "/deploy <service> <environment> <version>",
                 "--version=", "/deploy status"):
        assert form in shown
    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []
    assert deployment_ids(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


@pytest.mark.parametrize("text", ["api production v1.2.3", "api production --version=v1.2.3",
                                  "api --version=v1.2.3 production",
                                  "  api   production   v1.2.3  ",
                                  pytest.param("api production v1.2.3".ljust(500),
                                               id="500-characters-at-the-limit")])
def test_accepted_spellings_request_the_deployment(bot: RunningBot, text: str) -> None:
    reply = bot.deploy(text)
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert "Requesting `api` `v1.2.3` → *production*" in reply.json["text"]

    text_ = ephemeral_text(bot, reply)
    assert "Deployment #1 requested" in text_
    d = bot.deployment(1)
    assert (d.service, d.environment, d.version) == ("api", "production", "v1.2.3")
    assert d.state is State.AWAITING_APPROVAL
    assert d.requested_by == REQUESTER


def test_a_valid_request_is_acked_before_the_deployment_is_requested(
        bot: RunningBot, slack_hold: SlackHold) -> None:
    # The ack ("Requesting…") comes back while the card's post and the answer are held: the
    # deployment is requested, its card posted and the requester answered after the ack.
    reply = acked_while_held(slack_hold, lambda: bot.deploy("api production v1.2.3"),
                             "chat.postMessage", "response_url")
    assert reply.status == 200
    assert "Requesting `api` `v1.2.3` → *production*" in reply.json["text"]
    assert "Deployment #1 requested" in ephemeral_text(bot, reply)
    assert bot.deployment(1).state is State.AWAITING_APPROVAL


class TestOneService:
    """With a single service the service name may be left out."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config()

    @pytest.mark.parametrize("text", ["production v1.2.3", "production --version=v1.2.3",
                                      "api production v1.2.3"])
    def test_environment_and_version_are_enough(self, bot: RunningBot, text: str) -> None:
        i = request(bot, text)
        d = bot.deployment(i)
        assert (d.service, d.environment, d.version) == ("api", "production", "v1.2.3")

    @pytest.mark.parametrize(("text", "problem"), [
        ("production v1.2.3 now", "Too many words: `now` was not expected"),
        ("production api v1.2.3", "Did you mean `/deploy api production v1.2.3`?"),
        ("production", "Which version?"),
        ("api production", "Which version?"),
        ("v1.2.3", "Which environment?"),
        ("production `v1.2.3`", "`'v1.2.3'` is not a name or a version"),
    ])
    def test_bad_text(self, bot: RunningBot, text: str, problem: str) -> None:
        reply = bot.deploy(text)
        assert reply.status == 200
        assert reply.json["response_type"] == "ephemeral"
        assert problem in reply.json["text"]
        settle(bot)
        assert bot.slack.response_posts(reply.response_key) == []
        assert deployment_ids(bot) == []
