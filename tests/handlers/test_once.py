"""handlers/once.py over signed Slack HTTP: Slack's retry of a request already handled (same
body, X-Slack-Retry-Num) does nothing and says so to Slack; a new request with the same text
is a new request; an Events API callback retried is handled once."""

from __future__ import annotations

from sqlalchemy import text

from devtools.slack_requests import (
    app_home_opened_event,
    event_callback_body,
    signed_headers,
    slash_command_body,
)
from tests.conftest import REQUESTER, SIGNING_SECRET, RunningBot
from tests.handlers.spine import settle

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def _count(bot: RunningBot, sql: str) -> int:
    with bot.container.database.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_a_retried_command_is_answered_but_not_handled_again(bot: RunningBot) -> None:
    key = bot.slack.new_response_key("cmd")
    body = slash_command_body("/deploy", "staging v1.3.0", user_id=REQUESTER,
                              response_url=bot.slack.response_url(key))
    first = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body))
    assert first.status == 200 and "Requesting" in first.body
    again = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body) | RETRY)
    assert again.status == 200 and again.body == ""
    assert again.headers is not None and again.headers["x-slack-no-retry"] == "1"
    replay = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body))  # no retry header
    assert replay.status == 200 and replay.body == ""
    settle(bot)
    bot.container.background.wait_idle(5)
    assert len(bot.slack.response_posts(key)) == 1
    assert _count(bot, "SELECT count(*) FROM deployments") == 1
    # The same text typed again is another request (another trigger_id): handled.
    second = bot.deploy("staging v1.3.1")
    assert second.status == 200 and "Requesting" in second.body


def test_a_forged_retry_claims_nothing(bot: RunningBot) -> None:
    """Bolt checks the signature before the claim: a forged request cannot use up the key
    of a real one."""
    key = bot.slack.new_response_key("cmd")
    body = slash_command_body("/deploy", "staging v1.3.0", user_id=REQUESTER,
                              response_url=bot.slack.response_url(key))
    forged = bot.requester.raw(body, signed_headers("not-the-secret", body) | RETRY)
    assert forged.status == 401
    real = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body))
    assert real.status == 200 and "Requesting" in real.body


def test_a_retried_event_is_handled_once(bot: RunningBot) -> None:
    body = event_callback_body(app_home_opened_event(REQUESTER), event_id="Ev0ONCE")
    headers = signed_headers(SIGNING_SECRET, body, content_type="application/json")
    assert bot.requester.raw(body, headers).status == 200
    bot.slack.wait_for("views.publish", timeout=5)
    retry = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body,
                                                   content_type="application/json") | RETRY)
    assert retry.status == 200 and retry.body == ""
    assert retry.headers is not None and retry.headers["x-slack-no-retry"] == "1"
    # A shared store (PostgreSQL) holds the claim for every replica; SQLite's process keeps
    # its keys in memory, off the ack path's writes.
    shared = bot.container.database.engine.dialect.name != "sqlite"
    assert _count(bot, "SELECT count(*) FROM announcements WHERE key LIKE "
                       "'slack-request:event:Ev0ONCE'") == (1 if shared else 0)
