"""The Slack client's kept connections (bot/backends/slack/transport.py `KeepAliveWebClient`).

A local HTTP/1.1 server counts the TCP connections it accepts: calls from one thread share
one connection; a connection the server closed is replaced before a request is sent on it;
an error answer is raised as slack_sdk raises it over its own transport."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from slack_sdk.errors import SlackApiError

from bot.backends.slack import make_client


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    close_after: int | None = None  # close each connection after this many answers
    status = 200


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1
        self.answered = 0

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ok = self.server.status == 200
        body = json.dumps({"ok": ok, **({} if ok else {"error": "invalid_auth"}),
                           "channel": "C1", "ts": "1.0"}).encode()
        self.answered += 1
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        closing = self.server.close_after is not None and self.answered >= self.server.close_after
        if closing:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        if closing:
            self.close_connection = True


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=s.serve_forever, daemon=True)
    thread.start()
    try:
        yield s
    finally:
        s.shutdown()
        s.server_close()


def _url(s: _Server) -> str:
    return f"http://127.0.0.1:{s.server_address[1]}/api/"


def test_calls_from_one_thread_share_one_connection(server: _Server) -> None:
    client = make_client("xoxb-test", _url(server))
    for i in range(5):
        assert client.chat_postMessage(channel="C1", text=f"hello {i}")["ok"]
    assert server.connections == 1


def test_a_connection_the_server_closed_is_replaced(server: _Server) -> None:
    server.close_after = 2
    client = make_client("xoxb-test", _url(server))
    for i in range(5):
        assert client.chat_postMessage(channel="C1", text=f"hello {i}")["ok"]
    assert server.connections == 3  # 2 + 2 + 1 answers


def test_each_thread_keeps_its_own_connection(server: _Server) -> None:
    client = make_client("xoxb-test", _url(server))

    def post() -> None:
        for _ in range(3):
            client.chat_postMessage(channel="C1", text="hi")

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert server.connections == 3


def test_an_error_answer_is_raised_as_slack_sdk_raises_it(server: _Server) -> None:
    server.status = 401
    client = make_client("xoxb-test", _url(server))
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C1", text="hello")
    assert e.value.response["error"] == "invalid_auth"
    assert e.value.response.status_code == 401
