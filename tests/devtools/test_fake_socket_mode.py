"""The Socket Mode emulator speaks the protocol as Slack documents it (see its module
docstring), checked with a plain WebSocket client rather than the SDK deploybot uses."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from devtools.fake_socket_mode import APP_TOKEN, FakeSocketMode


@pytest.fixture
def fake() -> Iterator[FakeSocketMode]:
    with FakeSocketMode(refresh_grace=0.5) as f:
        yield f


def _open(fake: FakeSocketMode, token: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(fake.base_url + "apps.connections.open", data=b"",
                                 headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        answer: dict[str, Any] = json.loads(r.read())
    return answer


def test_apps_connections_open_wants_an_app_level_token_in_the_header(
        fake: FakeSocketMode) -> None:
    assert _open(fake, None) == {"ok": False, "error": "not_authed"}
    assert _open(fake, "xoxb-a-bot-token") == {"ok": False, "error": "not_allowed_token_type"}
    assert _open(fake, "xapp-1-A0OTHER-1-x") == {"ok": False, "error": "invalid_auth"}
    first, second = _open(fake, APP_TOKEN), _open(fake, APP_TOKEN)
    assert first["ok"] is True and first["url"].startswith("ws://127.0.0.1:")
    assert "/link/?ticket=" in first["url"] and first["url"] != second["url"]
    fake.fail_next("apps.connections.open", "internal_error")
    assert _open(fake, APP_TOKEN) == {"ok": False, "error": "internal_error"}


def test_hello_envelopes_acks_and_a_ticket_used_once(fake: FakeSocketMode) -> None:
    url = _open(fake, APP_TOKEN)["url"]
    with connect(url) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello["type"] == "hello"
        assert hello["connection_info"] == {"app_id": fake.app_id}
        assert hello["num_connections"] == 1
        assert set(hello["debug_info"]) == {"host", "started", "build_number",
                                            "approximate_connection_time"}
        with pytest.raises(InvalidStatus):  # the same URL again
            connect(url).close()

        envelope = fake.command("/deploy", "staging v1.0.0", user_id="U1")
        sent = json.loads(ws.recv(timeout=5))
        assert sent == {"envelope_id": envelope.envelope_id, "type": "slash_commands",
                        "payload": envelope.payload, "accepts_response_payload": True,
                        "retry_attempt": 0, "retry_reason": ""}
        assert sent["payload"]["command"] == "/deploy" and sent["payload"]["trigger_id"]
        ws.send(json.dumps({"envelope_id": envelope.envelope_id, "payload": {"text": "hi"}}))
        ack = fake.wait_for_ack(envelope)
        assert (ack.payload, ack.has_payload) == ({"text": "hi"}, True)

        event = fake.send("events_api", {"type": "event_callback"})
        assert json.loads(ws.recv(timeout=5))["accepts_response_payload"] is False
        ws.send(json.dumps({"envelope_id": event.envelope_id}))
        assert fake.wait_for_ack(event).has_payload is False

        ws.send(json.dumps({"envelope_id": "never-sent"}))
        ws.send("not json")
        deadline = time.monotonic() + 5
        while len(fake.unexpected()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [text for _, text in fake.unexpected()] == [
            json.dumps({"envelope_id": "never-sent"}), "not json"]


def test_disconnect_says_why_then_the_connection_is_closed(fake: FakeSocketMode) -> None:
    with connect(_open(fake, APP_TOKEN)["url"]) as ws:
        json.loads(ws.recv(timeout=5))  # hello
        link = fake.wait_for_link(1)
        fake.disconnect("refresh_requested")
        assert json.loads(ws.recv(timeout=5)) == {
            "type": "disconnect", "reason": "refresh_requested",
            "debug_info": {"host": link.hello["debug_info"]["host"]}}
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)  # closed by the emulator after its grace
        assert link.closed.wait(5)
    with pytest.raises(ValueError):
        fake.disconnect("bored")
