"""Request bodies are capped at the edge (issue 14, leftovers found at the edge), over real
HTTP against the served app.

Slack's payloads are small (`SLACK_MAX_BODY`, 1 MiB, is far above any); GitHub caps webhook
payloads at 25 MB (`GITHUB_MAX_BODY`). A larger body is answered 413 before more than the
cap is read, signed or not (the signature cannot be checked without reading it all): a
declared Content-Length over the cap is refused before a byte of the body is read, and a
chunked body without one is refused once what arrived passes the cap. One log line, no
traceback, nothing changed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.store.models import Base
from bot.web import GITHUB_MAX_BODY, SLACK_MAX_BODY
from devtools.fake_slack import FakeSlack
from devtools.slack_requests import sign
from tests.conftest import SIGNING_SECRET, RunningBot, serve_bot
from tests.edge_checks import every_log

GITHUB_SECRET = "gh-webhook-secret"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock,
                   github_webhook_secret=GITHUB_SECRET) as running, every_log(caplog):
        yield running


def db_state(bot: RunningBot) -> dict[str, list[tuple[Any, ...]]]:
    with bot.container.database.engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                for t in Base.metadata.sorted_tables}


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]


def too_large_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "bot.web" and "413" in r.getMessage()]


def post(bot: RunningBot, path: str, body: bytes, headers: dict[str, str], *,
         chunked: bool = False) -> tuple[int, bytes]:
    """POST `body`: with its Content-Length, or (`chunked`) in 64 KiB chunks without one."""
    parts = urlsplit(bot.server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        if chunked:
            pieces = (body[i:i + 65536] for i in range(0, len(body), 65536))
            conn.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        else:
            conn.request("POST", path, body=body,
                         headers={**headers, "Content-Length": str(len(body))})
        response = conn.getresponse()
        return response.status, response.read()
    except (BrokenPipeError, ConnectionResetError):
        # The server answered and closed while the rest was still being sent: read it.
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def slack_headers(body: bytes, *, signed: bool) -> dict[str, str]:
    headers = {"Content-Type": FORM}
    if signed:
        ts = int(time.time())
        headers["X-Slack-Request-Timestamp"] = str(ts)
        headers["X-Slack-Signature"] = sign(SIGNING_SECRET, body.decode(), ts)
    return headers


def github_headers(body: bytes, *, signed: bool) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-GitHub-Delivery": "d-big"}
    if signed:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(
            GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return headers


def slack_body(size: int) -> bytes:
    """A /deploy form of exactly `size` bytes (the text padded)."""
    head = b"command=%2Fdeploy&user_id=U0ALICE&channel_id=C0DEPLOYS&text=staging+v1.2.3"
    return head + b"+" * (size - len(head))


def github_body(size: int) -> bytes:
    """A push of exactly `size` bytes (a long `padding` field)."""
    head = b'{"ref": "refs/heads/main", "after": "' + b"0" * 40 + b'", "padding": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_slack_body_over_the_cap_is_413(bot: RunningBot, caplog: pytest.LogCaptureFixture,
                                          signed: bool, chunked: bool) -> None:
    before = db_state(bot)
    body = slack_body(SLACK_MAX_BODY + 1)
    status, answer = post(bot, "/slack/events", body, slack_headers(body, signed=signed),
                          chunked=chunked)
    assert status == 413
    assert json.loads(answer) == {"ok": False, "error": "request too large"}
    assert len(too_large_lines(caplog)) == 1
    assert tracebacks(caplog) == []
    assert bot.container.background.wait_idle(10)
    assert db_state(bot) == before


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_github_body_over_the_cap_is_413(bot: RunningBot, caplog: pytest.LogCaptureFixture,
                                           signed: bool, chunked: bool) -> None:
    before = db_state(bot)
    body = github_body(GITHUB_MAX_BODY + 1)
    status, answer = post(bot, "/github/webhook", body, github_headers(body, signed=signed),
                          chunked=chunked)
    assert status == 413
    assert json.loads(answer) == {"ok": False, "error": "request too large"}
    assert len(too_large_lines(caplog)) == 1
    assert tracebacks(caplog) == []
    assert bot.container.background.wait_idle(10)
    assert db_state(bot) == before


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_sent(
        bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    """Content-Length says 1 GiB; not one byte of the body is sent, the answer comes."""
    parts = urlsplit(bot.server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.putrequest("POST", "/slack/events")
        conn.putheader("Content-Type", FORM)
        conn.putheader("Content-Length", str(1 << 30))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        response.read()
    finally:
        conn.close()
    assert len(too_large_lines(caplog)) == 1
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_slack_body_at_the_cap_is_read(bot: RunningBot, caplog: pytest.LogCaptureFixture,
                                         chunked: bool) -> None:
    """At the cap exactly, the body is read and verified: unsigned is 401, as ever."""
    body = slack_body(SLACK_MAX_BODY)
    status, _ = post(bot, "/slack/events", body, slack_headers(body, signed=False),
                     chunked=chunked)
    assert status == 401
    assert too_large_lines(caplog) == []


def test_a_github_body_at_the_cap_is_read(bot: RunningBot,
                                          caplog: pytest.LogCaptureFixture) -> None:
    body = github_body(GITHUB_MAX_BODY)
    status, _ = post(bot, "/github/webhook", body, github_headers(body, signed=False))
    assert status == 401
    assert too_large_lines(caplog) == []


def test_an_ordinary_signed_command_is_still_served(bot: RunningBot) -> None:
    reply = bot.deploy("staging v1.2.3")
    assert reply.status == 200
    bot.requester.response_posts(reply)
