"""Only requests signed with the signing secret, and fresh, are served."""

from __future__ import annotations

import time

import pytest

from bot.domain.states import State
from bot.presentation import ids
from devtools.slack_requests import block_actions_body, signed_headers, slash_command_body
from tests.conftest import APPROVER, REQUESTER, SIGNING_SECRET, RunningBot
from tests.handlers.spine import (
    audit_actions,
    deployment_ids,
    ephemeral_text,
    request,
    settle,
)


def deploy_body(bot: RunningBot, key: str, text: str = "staging v1.2.3") -> str:
    return slash_command_body("/deploy", text, user_id=REQUESTER,
                              response_url=bot.slack.response_url(key))


def assert_refused(bot: RunningBot, status: int, key: str) -> None:
    assert status == 401
    settle(bot)
    assert bot.slack.response_posts(key) == []
    assert deployment_ids(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


def test_a_correctly_signed_request_is_served(bot: RunningBot) -> None:
    body = deploy_body(bot, "ok")
    reply = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body))
    assert reply.status == 200
    bot.slack.wait_for("response_url", predicate=lambda c: c.key == "ok")
    assert deployment_ids(bot) == [1]


@pytest.mark.parametrize("secret", ["wrong-secret", "", SIGNING_SECRET + "x"])
def test_a_forged_signature_is_refused(bot: RunningBot, secret: str) -> None:
    body = deploy_body(bot, "forged")
    reply = bot.requester.raw(body, signed_headers(secret, body))
    assert_refused(bot, reply.status, "forged")


def test_a_body_changed_after_signing_is_refused(bot: RunningBot) -> None:
    signed = deploy_body(bot, "tampered", "staging v1.2.3")
    sent = deploy_body(bot, "tampered", "staging v6.6.6")
    reply = bot.requester.raw(sent, signed_headers(SIGNING_SECRET, signed))
    assert_refused(bot, reply.status, "tampered")


def test_a_request_without_signature_headers_is_refused(bot: RunningBot) -> None:
    body = deploy_body(bot, "unsigned")
    reply = bot.requester.raw(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert_refused(bot, reply.status, "unsigned")


@pytest.mark.parametrize("age", [5 * 60 + 30, 3600, -(5 * 60 + 30)])
def test_a_stale_or_future_timestamp_is_refused_even_when_correctly_signed(
    bot: RunningBot, age: int
) -> None:
    # Slack's timestamps are wall-clock time; the bot's ManualClock plays no part here.
    body = deploy_body(bot, "stale")
    headers = signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - age)
    reply = bot.requester.raw(body, headers)
    assert_refused(bot, reply.status, "stale")


def test_a_recent_timestamp_is_accepted(bot: RunningBot) -> None:
    reply = bot.requester.command("/deploy", "staging v1.2.3", user_id=REQUESTER,
                                  timestamp=int(time.time()) - 4 * 60)
    assert reply.status == 200
    assert "Deployment #1 started" in ephemeral_text(bot, reply)


def test_a_forged_approval_click_changes_nothing(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    card = bot.card(i)
    body = block_actions_body(user_id=APPROVER, action_id=ids.APPROVE, value=str(i),
                              message=card, response_url=bot.slack.response_url("click"))

    reply = bot.requester.raw(body, signed_headers("not-the-secret", body))
    stale = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body,
                                                   timestamp=int(time.time()) - 600))

    assert (reply.status, stale.status) == (401, 401)
    settle(bot)
    assert bot.slack.response_posts("click") == []
    d = bot.deployment(i)
    assert d.state is State.AWAITING_APPROVAL
    assert d.decisions == ()
    assert audit_actions(bot, i) == ["deploy.requested"]
    assert bot.slack.calls("chat.update") == []
