"""devtools.slack_requests builds block_actions payloads as Slack sends them: for a button in
a message everyone sees (the message included), and for one in an ephemeral reply
(`container.is_ephemeral` true, no `message`: Slack keeps no copy of it)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from devtools.slack_requests import block_actions_body

BLOCKS = [{"type": "actions", "block_id": "b1", "elements": [
    {"type": "button", "action_id": "rollback.confirm", "value": "7",
     "text": {"type": "plain_text", "text": "Roll back to v1.2.3"}}]}]


def payload(body: str) -> dict[str, Any]:
    data = json.loads(parse_qs(body)["payload"][0])
    assert isinstance(data, dict)
    return data


def test_a_click_in_an_ephemeral_reply_says_so_and_carries_no_message() -> None:
    p = payload(block_actions_body(
        user_id="U0CAROL", action_id="rollback.confirm", value="7", ephemeral=True,
        message={"channel": "C0DEPLOYS", "ts": "1700000000.000001", "blocks": BLOCKS},
        response_url="http://127.0.0.1:1/response/k1"))
    assert p["type"] == "block_actions"
    assert p["container"] == {"type": "message", "message_ts": "1700000000.000001",
                              "channel_id": "C0DEPLOYS", "is_ephemeral": True}
    assert "message" not in p
    assert p["response_url"] == "http://127.0.0.1:1/response/k1"
    assert p["channel"]["id"] == "C0DEPLOYS"
    action = p["actions"][0]
    assert (action["action_id"], action["value"], action["block_id"]) == (
        "rollback.confirm", "7", "b1")
    assert action["text"]["text"] == "Roll back to v1.2.3"


def test_a_click_in_a_message_everyone_sees_carries_the_message() -> None:
    p = payload(block_actions_body(
        user_id="U0CAROL", action_id="rollback.confirm", value="7",
        message={"channel": "C0DEPLOYS", "ts": "1700000000.000001", "blocks": BLOCKS},
        response_url="http://127.0.0.1:1/response/k1"))
    assert p["container"]["is_ephemeral"] is False
    assert p["message"]["ts"] == "1700000000.000001"
    assert p["message"]["blocks"] == BLOCKS
