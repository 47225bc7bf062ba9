"""Bolt's `respond` over kept connections (bot/backends/slack/transport.py `KeepAliveRespond`,
made by `KeepAliveWebClient.respond_to`).

A local HTTP/1.1 server records every request as it arrived (path, headers, raw body) and
counts the TCP connections it accepts. What is posted is compared with what Bolt's own
`Respond` (a urllib WebhookClient per call) posts for the same arguments, byte for byte;
replies from one thread share one connection (with the Web API calls to the same host); a
connection the server closed is replaced without losing a reply; an answer other than 2xx
is returned as Bolt's is (a WebhookResponse, not raised), and a redirect is not followed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

import pytest
from slack_bolt import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk import WebClient
from slack_sdk.models.blocks import ButtonElement, SectionBlock
from slack_sdk.webhook.internal_utils import _build_body

from bot.backends.slack import KeepAliveRespond, make_client
from devtools.httpbits import TrackedHandler, TrackingServer, read_body


@dataclass(frozen=True)
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes


class _Server(TrackingServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posted: list[Posted] = []
        self.status = 200
        self.location: str | None = None  # answer with this Location (a redirect)
        self.close_after: int | None = None  # close each connection after this many answers


class _Handler(TrackedHandler):
    server_version = "Hooks/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.answered = 0

    def do_POST(self) -> None:
        body = read_body(self)
        self.server.posted.append(Posted(self.path, {k.lower(): v for k, v in
                                                     self.headers.items()}, body))
        if self.path.startswith("/api/"):  # a Web API call (the shared-connection test)
            reply = b'{"ok": true, "channel": "C1", "ts": "1.0"}'
            status, content_type = 200, "application/json; charset=utf-8"
        else:  # a response_url, as Slack answers it: plain text
            status = self.server.status
            reply = b"ok" if status == 200 else b"no_text"
            content_type = "text/plain; charset=utf-8"
        self.answered += 1
        closing = self.server.close_after is not None and self.answered >= self.server.close_after
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(reply)))
        if self.server.location is not None:
            self.send_header("Location", self.server.location)
        if closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply)


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as s:  # closed on the way out
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        yield s
        s.shutdown()


def _root(s: _Server) -> str:
    return f"http://127.0.0.1:{s.server_address[1]}"


@pytest.fixture
def client(server: _Server) -> WebClient:
    """The bot's Slack client (one per process: its kept connections outlive a request)."""
    return make_client("xoxb-test", f"{_root(server)}/api/")


def _kept_respond(client: WebClient, s: _Server, key: str = "r1") -> Respond:
    respond = client.respond_to(f"{_root(s)}/response/{key}")
    assert isinstance(respond, KeepAliveRespond)
    return respond


# Every argument of Bolt's respond, and the forms our handlers use.
CASES: list[dict[str, Any]] = [
    {"text": "plain"},
    {"text": "⏳ Requesting `api` `v1.2.3` → *production*…", "response_type": "ephemeral",
     "replace_original": False},
    {"text": "with blocks", "blocks": [{"type": "section",
                                        "text": {"type": "mrkdwn", "text": "*hi* <@U1>"}}],
     "response_type": "ephemeral", "replace_original": True},
    {"text": "model objects", "blocks": [SectionBlock(
        text="a section", accessory=ButtonElement(text="Go", action_id="go", value="1"))]},
    {"text": "", "attachments": [{"color": "#ff0000", "text": "an attachment"}],
     "response_type": "in_channel", "delete_original": True, "unfurl_links": False,
     "unfurl_media": True, "thread_ts": "1700000000.000100",
     "metadata": {"event_type": "deploy", "event_payload": {"id": 7}}},
    {"text": "empty lists are left out", "blocks": [], "attachments": []},
    {"text": {"text": "a whole message", "response_type": "ephemeral",
              "blocks": [{"type": "divider"}], "replace_original": False}},
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda kw: str(kw["text"])[:20] or "attachments")
def test_the_post_is_byte_for_byte_what_bolts_respond_posts(server: _Server, client: WebClient,
                                                          kwargs: dict[str, Any]) -> None:
    url = f"{_root(server)}/response/r1"
    theirs = Respond(response_url=url)(**kwargs)
    ours = _kept_respond(client, server)(**kwargs)
    bolt, kept = server.posted
    assert kept.path == bolt.path == "/response/r1"
    assert kept.body == bolt.body
    # The body is Bolt's own message for these arguments, as WebhookClient sends it.
    message = (_build_message(**kwargs["text"]) if isinstance(kwargs["text"], dict)
               else _build_message(**kwargs))
    assert kept.body.decode() == _json(message)
    for header in ("content-type", "user-agent", "content-length"):
        assert kept.headers.get(header) == bolt.headers.get(header), header
    assert (ours.status_code, ours.body) == (theirs.status_code, theirs.body) == (200, "ok")


def _json(message: dict[str, Any]) -> str:
    return json.dumps(_build_body(message))


def test_replies_from_one_thread_share_one_connection(server: _Server,
                                                      client: WebClient) -> None:
    for i in range(10):
        respond = _kept_respond(client, server, key=f"r{i}")  # a new respond per request, as Bolt's
        assert respond(text=f"reply {i}", response_type="ephemeral").status_code == 200
    assert len(server.posted) == 10
    assert server.accepted == 1


def test_bolts_respond_opens_a_connection_per_reply(server: _Server) -> None:
    """What the kept connections save: the figure the test above must beat."""
    for i in range(3):
        Respond(response_url=f"{_root(server)}/response/r{i}")(text="reply")
    assert server.accepted == 3


def test_replies_and_web_api_calls_to_one_host_share_its_connection(
        server: _Server, client: WebClient) -> None:
    for i in range(3):
        client.chat_postMessage(channel="C1", text=f"card {i}")
        client.respond_to(f"{_root(server)}/response/r{i}")(text=f"reply {i}")
    assert [p.path.split("/")[1] for p in server.posted] == ["api", "response"] * 3
    assert server.accepted == 1


def test_a_connection_the_server_closed_is_replaced_and_no_reply_is_lost(
        server: _Server, client: WebClient) -> None:
    server.close_after = 2
    for i in range(5):
        assert _kept_respond(client, server, key=f"r{i}")(text=f"reply {i}").status_code == 200
    assert [p.path for p in server.posted] == [f"/response/r{i}" for i in range(5)]
    assert server.accepted == 3  # 2 + 2 + 1 answers


def test_a_connection_cut_while_idle_is_replaced(server: _Server, client: WebClient) -> None:
    respond = _kept_respond(client, server)
    respond(text="first")
    with server.sockets_lock:
        sockets = list(server.open_sockets)
    for sock in sockets:
        sock.shutdown(socket.SHUT_RDWR)
    assert respond(text="second").status_code == 200
    assert [p.body for p in server.posted] == [b'{"text": "first"}', b'{"text": "second"}']
    assert server.accepted == 2


@pytest.mark.parametrize("status", [404, 500])
def test_an_error_answer_is_returned_as_bolts_is(server: _Server, client: WebClient,
                                                 status: int) -> None:
    server.status = status
    theirs = Respond(response_url=f"{_root(server)}/response/r1")(text="hello")
    ours = _kept_respond(client, server)(text="hello")
    assert (ours.status_code, ours.body) == (theirs.status_code, theirs.body) == (status,
                                                                                   "no_text")


def test_a_redirect_is_not_followed(server: _Server, client: WebClient) -> None:
    server.status = 302
    server.location = f"{_root(server)}/elsewhere"
    answer = _kept_respond(client, server)(text="hello")
    assert answer.status_code == 302
    assert [p.path for p in server.posted] == ["/response/r1"]


def test_an_unreachable_response_url_raises_as_bolts_does() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/response/r1"
    with pytest.raises(URLError) as theirs:
        Respond(response_url=url)(text="hello")
    with pytest.raises(URLError) as ours:
        make_client("xoxb-test", "http://127.0.0.1:9/api/").respond_to(url)(text="hello")
    assert type(ours.value.reason) is type(theirs.value.reason) is ConnectionRefusedError


def test_without_a_response_url_it_refuses_as_bolts_does() -> None:
    client = make_client("xoxb-test", "http://127.0.0.1:9/api/")
    ours = client.respond_to(None)
    with pytest.raises(ValueError, match="no response_url"):
        ours(text="hello")
    with pytest.raises(ValueError, match="no response_url"):
        Respond(response_url=None)(text="hello")
