"""What the Slack transport no longer spends per call (issue 13, the lean request path), and
that nothing else changed: a request goes out in one write with the same bytes http.client
sends in two; an answer's content type and charset read as the email package reads them; and
slack_sdk's debug line is built only when it is logged, with the same records as before."""

from __future__ import annotations

import http.client
import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.backends.slack import content_type, make_client, transport


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"ok": True, "channel": "C1", "ts": "1.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class _Recording:
    """A connected socket that records what is written to it."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _writes(conn: http.client.HTTPConnection, body: bytes | None) -> list[bytes]:
    conn.connect()
    recording = _Recording(conn.sock)
    conn.sock = recording  # type: ignore[assignment]
    conn.request("POST", "/api/chat.postMessage", body=body,
                 headers={"Content-Type": "application/json;charset=utf-8",
                          "Authorization": "Bearer xoxb-test"})
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["ok"] is True
    conn.close()
    return recording.writes


def test_a_request_is_one_write_of_the_bytes_http_client_writes_in_two(port: int) -> None:
    body = json.dumps({"channel": "C1", "text": "hello", "blocks": []}).encode()
    ours = _writes(transport._HTTPConnection("127.0.0.1", port, timeout=5), body)
    stdlib = _writes(http.client.HTTPConnection("127.0.0.1", port, timeout=5), body)
    assert len(ours) == 1 and len(stdlib) == 2
    assert ours[0] == b"".join(stdlib) and ours[0].endswith(body)
    # without a body (or a body that is not bytes) it is http.client's own way
    assert _writes(transport._HTTPConnection("127.0.0.1", port, timeout=5), None) == \
        _writes(http.client.HTTPConnection("127.0.0.1", port, timeout=5), None)


@pytest.mark.parametrize("value", [
    "application/json; charset=utf-8", "application/json;charset=UTF-8",
    "application/json", "Application/JSON ; charset=utf-8", "text/plain; charset=us-ascii",
    "application/gzip", 'text/html; charset="utf-8"', "text/html; charset=utf-8; x=y",
    "bogus", "a/b/c", "", "application/json; charset=\u00e9", None,
])
def test_the_content_type_reads_as_the_email_package_reads_it(value: str | None) -> None:
    head = b"Content-Length: 2\r\n"
    if value is not None:
        head += f"Content-Type: {value}\r\n".encode("latin-1")
    headers = http.client.parse_headers(io.BytesIO(head + b"\r\n"))
    assert content_type(headers) == (headers.get_content_type(),
                                      headers.get_content_charset())


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler, sdk, root = Keep(), logging.getLogger("slack_sdk"), logging.getLogger()
    levels = (sdk.level, root.level)
    root.addHandler(handler)
    try:
        yield seen
    finally:
        root.removeHandler(handler)
        sdk.setLevel(levels[0])
        root.setLevel(levels[1])


def test_slack_sdks_debug_line_is_built_only_when_it_is_logged(
        port: int, records: list[logging.LogRecord]) -> None:
    client = make_client("xoxb-test", f"http://127.0.0.1:{port}/api/")
    logging.getLogger().setLevel(logging.INFO)
    assert client.logger.level == logging.INFO  # the effective level: slack_sdk skips it
    client.chat_postMessage(channel="C1", text="hello")
    assert [r for r in records if r.name.startswith("slack_sdk")] == []

    logging.getLogger("slack_sdk").setLevel(logging.DEBUG)  # as someone debugging would
    assert client.logger.level == logging.DEBUG
    client.chat_postMessage(channel="C1", text="hello")
    (sent,) = [r for r in records if r.getMessage().startswith("Sending a request")]
    assert (sent.name, sent.levelno, sent.funcName) == (
        "slack_sdk.web.base_client", logging.DEBUG, "_urllib_api_call")
    assert "'text': 'hello'" in sent.getMessage()
