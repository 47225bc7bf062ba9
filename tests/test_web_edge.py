"""The HTTP edge verifies before it parses (issue 14): over real HTTP against the served app.

`POST /slack/events`: the signature (`v0=` HMAC-SHA256 of `v0:{timestamp}:{raw body}`, the
timestamp numeric and within five minutes) is checked on the raw bytes first, so a request
that is unsigned or badly signed gets 401 whatever its body; a signed request whose body is
not what Slack sends (not UTF-8, not a form or JSON object, wrong-typed well-known fields)
gets 400. Either way: one log line and no traceback, and nothing changes in the database.
`POST /github/webhook`: the same discipline (X-Hub-Signature-256 first; malformed → 400).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import urlopen

import pytest

from bot.clock import ManualClock
from bot.config import AppConfig
from devtools.fake_slack import FakeSlack
from devtools.slack_requests import block_actions_body, slash_command_body
from tests.conftest import REQUESTER, SIGNING_SECRET, RunningBot, serve_bot
from tests.edge_checks import db_state, every_log, tracebacks

GITHUB_SECRET = "gh-webhook-secret"
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


# -- sending raw bytes -------------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST exactly `body` (any bytes) with `headers`; (status, response body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", parts.path, body=body,
                     headers={**headers, "Content-Length": str(len(body))})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's scheme, on the raw bytes."""
    base = b"v0:" + timestamp.encode("latin-1") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(body: bytes, *, content_type: str = FORM, secret: str | None = SIGNING_SECRET,
                  timestamp: str | None = None) -> dict[str, str]:
    """Headers as Slack sends them; `secret=None`: no signature headers at all."""
    headers = {"Content-Type": content_type}
    if secret is not None:
        ts = str(int(time.time())) if timestamp is None else timestamp
        headers["X-Slack-Request-Timestamp"] = ts
        headers["X-Slack-Signature"] = slack_signature(secret, ts, body)
    return headers


def send_slack(bot: RunningBot, body: bytes, **kw: Any) -> tuple[int, bytes]:
    return post(f"{bot.server.url}/slack/events", body, slack_headers(body, **kw))


# -- what must not happen -------------------------------------------------------------------


@pytest.fixture
def logs(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record, uvicorn's too."""
    with every_log(caplog) as records:
        yield records


def edge_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.web"]


# -- Slack: bodies that crashed the conversion before the signature was checked ----------


def payload(value: Any) -> bytes:
    """A form body `payload=<value as JSON>` (value may be anything JSON can say)."""
    return urlencode({"payload": json.dumps(value)}).encode()


def click_payload(**changes: Any) -> dict[str, Any]:
    """A genuine block_actions payload with `changes` applied."""
    body = block_actions_body(user_id=REQUESTER, action_id="deploy.approve", value="1",
                              response_url="https://hooks.slack.com/actions/T1/1/x")
    data: dict[str, Any] = json.loads(parse_qs(body)["payload"][0])
    data.update(changes)
    return data


def command_body(text: str = "staging v1.2.3") -> bytes:
    return slash_command_body("/deploy", text, user_id=REQUESTER,
                              response_url="https://hooks.slack.com/commands/T1/1/x").encode()


MALFORMED = [
    pytest.param(b"command=%2Fdeploy&text=staging+v1.2.3&user_id=U0ALICE\xff\xfe", FORM,
                 id="invalid-utf8"),
    pytest.param(b"payload=%7Bnot-json", FORM, id="payload-not-json"),
    pytest.param(payload(None), FORM, id="payload-null"),
    pytest.param(payload([]), FORM, id="payload-array"),
    pytest.param(payload("s"), FORM, id="payload-string"),
    pytest.param(payload(123), FORM, id="payload-number"),
    pytest.param(b"{not json", FORM, id="brace-not-json"),
    pytest.param(b"[1, 2]", JSON_TYPE, id="json-array"),
    pytest.param(b"null", JSON_TYPE, id="json-null"),
    pytest.param(b"123", JSON_TYPE, id="json-number"),
    pytest.param(command_body(), JSON_TYPE, id="form-labelled-json"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, JSON_TYPE, id="json-nested-too-deep"),
    pytest.param(payload(click_payload(enterprise=5)), FORM, id="enterprise-5"),
    pytest.param(payload(click_payload(team=5)), FORM, id="team-5"),
    pytest.param(payload(click_payload(user=5)), FORM, id="user-5"),
    pytest.param(payload(click_payload(user=["id"])), FORM, id="user-list"),
    pytest.param(payload(click_payload(user={"id": 5})), FORM, id="user-id-5"),
    pytest.param(payload(click_payload(channel=5)), FORM, id="channel-5"),
    pytest.param(payload(click_payload(channel=["id"])), FORM, id="channel-list"),
    pytest.param(payload(click_payload(response_urls=5)), FORM, id="response-urls-5"),
    pytest.param(json.dumps({"type": "event_callback", "team_id": "T1",
                             "authorizations": "abc", "event": {"type": "app_home_opened"}}
                            ).encode(), JSON_TYPE, id="authorizations-string"),
    pytest.param(json.dumps({"type": "event_callback", "team_id": "T1",
                             "authorizations": [5], "event": {"type": "app_home_opened"}}
                            ).encode(), JSON_TYPE, id="authorizations-of-numbers"),
    pytest.param(json.dumps({"type": "event_callback", "is_ext_shared_channel": True,
                             "event": "x"}).encode(), JSON_TYPE, id="event-string"),
    pytest.param(json.dumps({"type": "event_callback", "team_id": "T1",
                             "event": {"type": "app_home_opened", "user": 5}}).encode(),
                 JSON_TYPE, id="event-user-5"),
]


@pytest.mark.parametrize(("body", "content_type"), MALFORMED)
def test_a_malformed_body_is_401_unsigned_and_400_signed_and_changes_nothing(
        bot: RunningBot, logs: pytest.LogCaptureFixture, body: bytes, content_type: str) -> None:
    before = db_state(bot)

    unsigned, _ = send_slack(bot, body, content_type=content_type, secret=None)
    forged, _ = send_slack(bot, body, content_type=content_type, secret="not-the-secret")
    stale, _ = send_slack(bot, body, content_type=content_type,
                          timestamp=str(int(time.time()) - 600))
    assert (unsigned, forged, stale) == (401, 401, 401)
    assert len(edge_lines(logs)) == 3

    logs.clear()
    signed, answer = send_slack(bot, body, content_type=content_type)
    assert signed == 400, answer
    assert json.loads(answer) == {"ok": False, "error": "malformed request"}
    (line,) = edge_lines(logs)
    assert "400" in line

    assert tracebacks(logs) == []
    assert bot.container.background.wait_idle(10)
    assert db_state(bot) == before
    assert bot.slack.calls("chat.postMessage") == []


@pytest.mark.parametrize("timestamp", [
    "abc", "", "1.7e9", "+{now}", " {now}", "{now} ", "-{now}", "\uff19" * 10, "1" * 5000,
    "{now}\t",
])
def test_a_timestamp_that_is_not_a_number_is_refused_not_a_crash(
        bot: RunningBot, logs: pytest.LogCaptureFixture, timestamp: str) -> None:
    # http.client sends headers as latin-1: full-width digits go as their UTF-8 bytes.
    ts = timestamp.format(now=int(time.time())).encode().decode("latin-1")
    body = command_body()
    before = db_state(bot)
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": slack_signature(SIGNING_SECRET, ts, body)}
    status, _ = post(f"{bot.server.url}/slack/events", body, headers)
    assert status == 401
    assert tracebacks(logs) == []
    assert db_state(bot) == before


@pytest.mark.parametrize("signature", ["v0=é" + "0" * 63, "v1=" + "0" * 64, "0" * 64, "v0=",
                                       "v0=" + "Z" * 64])
def test_a_malformed_signature_header_is_refused_not_a_crash(
        bot: RunningBot, logs: pytest.LogCaptureFixture, signature: str) -> None:
    body = command_body()
    before = db_state(bot)
    status, _ = post(f"{bot.server.url}/slack/events", body,
                     {"Content-Type": FORM, "X-Slack-Request-Timestamp": str(int(time.time())),
                      "X-Slack-Signature": signature})
    assert status == 401
    assert tracebacks(logs) == []
    assert db_state(bot) == before


def test_the_signature_is_checked_on_the_raw_bytes(bot: RunningBot) -> None:
    body = command_body()
    headers = slack_headers(body)
    # Same text after decoding, other bytes: `+` for a space is `%20` here.
    other = body.replace(b"+", b"%20")
    assert other != body
    status, _ = post(f"{bot.server.url}/slack/events", other, headers)
    assert status == 401


# -- Slack: what must keep working --------------------------------------------------------


def test_a_signed_command_is_still_served(bot: RunningBot, logs: pytest.LogCaptureFixture
                                          ) -> None:
    reply = bot.deploy("staging v1.2.3")
    assert reply.status == 200
    bot.requester.response_posts(reply)
    assert tracebacks(logs) == []


def test_url_verification_is_answered_with_its_challenge(bot: RunningBot) -> None:
    body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYX",
                       "type": "url_verification"}).encode()
    status, answer = send_slack(bot, body, content_type=JSON_TYPE)
    assert status == 200
    assert json.loads(answer) == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYX"}


def test_an_unsigned_url_verification_is_refused(bot: RunningBot) -> None:
    body = json.dumps({"token": "x", "challenge": "c", "type": "url_verification"}).encode()
    status, _ = send_slack(bot, body, content_type=JSON_TYPE, secret=None)
    assert status == 401


def test_ssl_check_is_answered_without_a_signature_and_does_nothing(
        bot: RunningBot, logs: pytest.LogCaptureFixture) -> None:
    # Slack's SSL certificate check: a form POST without signature headers.
    before = db_state(bot)
    status, answer = send_slack(bot, b"ssl_check=1&token=xxx", secret=None)
    assert (status, answer) == (200, b"")
    # Nothing else rides along: a command smuggled next to it is not run.
    smuggled = b"ssl_check=1&" + command_body()
    status, answer = send_slack(bot, smuggled, secret=None)
    assert (status, answer) == (200, b"")
    assert bot.container.background.wait_idle(10)
    assert db_state(bot) == before
    assert tracebacks(logs) == []


def test_refusals_at_the_edge_are_counted_as_rejected(bot: RunningBot) -> None:
    send_slack(bot, b"payload=null", secret=None)  # 401
    send_slack(bot, b"payload=null")  # 400
    with urlopen(f"{bot.server.url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    assert 'deploybot_slack_ack_seconds_count{kind="rejected",name="-"} 2.0' in text


# -- GitHub: the same discipline --------------------------------------------------------


@pytest.fixture
def hooked(config: AppConfig, database_url: str, fake_slack: FakeSlack,
           clock: ManualClock, caplog: pytest.LogCaptureFixture) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock,
                   github_webhook_secret=GITHUB_SECRET) as running, every_log(caplog):
        yield running


def deliver(bot: RunningBot, body: bytes, *, secret: str | None = GITHUB_SECRET,
            event: str = "push", delivery: str = "d-1") -> int:
    headers = {"Content-Type": JSON_TYPE, "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery}
    if secret is not None:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(
            secret.encode(), body, hashlib.sha256).hexdigest()
    status, _ = post(f"{bot.server.url}/github/webhook", body, headers)
    assert bot.container.background.wait_idle(10)
    return status


GITHUB_MALFORMED = [
    pytest.param(b'{"ref": "refs/heads/main", "after": "\xff"}', id="invalid-utf8"),
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"[1, 2]", id="json-array"),
    pytest.param(b"null", id="json-null"),
    pytest.param(b"", id="empty"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="json-nested-too-deep"),
    pytest.param(b'{"number": ' + b"9" * 5000 + b"}", id="number-too-long"),
]


@pytest.mark.parametrize("body", GITHUB_MALFORMED)
def test_a_malformed_delivery_is_401_unsigned_and_400_signed_and_changes_nothing(
        hooked: RunningBot, caplog: pytest.LogCaptureFixture, body: bytes) -> None:
    before = db_state(hooked)
    assert deliver(hooked, body, secret=None) == 401
    assert deliver(hooked, body, secret="wrong") == 401
    assert deliver(hooked, body) == 400
    assert tracebacks(caplog) == []
    assert db_state(hooked) == before


def test_an_over_long_delivery_id_is_400_not_a_crash(
        hooked: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    before = db_state(hooked)
    body = json.dumps({"ref": "refs/heads/feature", "after": "0" * 40}).encode()
    assert deliver(hooked, body, delivery="d" * 300) == 400
    assert tracebacks(caplog) == []
    assert db_state(hooked) == before
