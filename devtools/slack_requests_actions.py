"""``block_actions`` bodies for devtools/slack_requests.py: the ``payload=<json>`` form body
Slack posts when a user clicks a button, in a message the app posted (``message`` and
``channel``, a ``response_url``), in a message only the user sees (``is_ephemeral``, no
``message``) or in a view such as the App Home tab (the ``view``, no channel, message or
``response_url``): https://docs.slack.dev/reference/interaction-payloads/block_actions-payload.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from devtools.slack_requests_ids import (
    API_APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    channel_name_of,
    new_trigger_id,
    user_name_of,
)

_action_ts_counter = itertools.count(1)
_message_ts_counter = itertools.count(1)


def _action_ts() -> str:
    n = next(_action_ts_counter)
    return f"{int(time.time())}.{n % 1_000_000:06d}"


def _find_button(blocks: Any, action_id: str) -> tuple[str | None, str | None]:
    """(block_id, button text) of the element with ``action_id`` in ``blocks``, if any."""
    if not isinstance(blocks, list):
        return None, None
    for block in blocks:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or [])
        accessory = block.get("accessory")
        if accessory is not None:
            elements.append(accessory)
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                label = element.get("text")
                text = label.get("text") if isinstance(label, dict) else None
                block_id = block.get("block_id")
                return (
                    str(block_id) if block_id is not None else None,
                    str(text) if text is not None else None,
                )
    return None, None


def block_actions_body(
    *,
    user_id: str,
    action_id: str,
    value: str,
    block_id: str | None = None,
    message: dict[str, Any] | None = None,
    channel_id: str | None = None,
    response_url: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    user_name: str | None = None,
    button_text: str | None = None,
    trigger_id: str | None = None,
    view: dict[str, Any] | None = None,
    ephemeral: bool = False,
) -> str:
    """Form body ``payload=<json>`` of a ``block_actions`` interaction (a button click).

    With ``ephemeral`` the button is in a message only the user sees (a response_url reply,
    chat.postEphemeral): the container says ``"is_ephemeral": true`` and, Slack keeping no
    copy of such a message, the payload has no ``message`` (Slack's block_actions payload:
    https://docs.slack.dev/reference/interaction-payloads/block_actions-payload — `message`
    is sent for a button in a message the app posted; `container` says where it was).

    With ``view`` (e.g. ``FakeSlack.home_view(user)``) the button is in that view, as in the
    App Home tab: Slack then sends the view and no channel, message or ``response_url``.

    ``message`` is the message the button lives on, e.g. an entry of
    ``FakeSlack.messages()``; its ``ts``, ``thread_ts`` and ``blocks`` are used (a ``ts`` is
    invented when missing, and a minimal bot message is used when ``message`` is ``None``).
    ``channel_id`` defaults to the message's ``channel`` or ``"C0DEPLOYS"``; ``block_id`` and
    ``button_text`` default to the matching button in the message's blocks, when found.
    """
    source = dict(message or {})
    if channel_id is None:
        channel = source.get("channel")
        channel_id = str(channel) if channel else DEFAULT_CHANNEL_ID
    msg: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": API_APP_ID,
        "team": team_id,
        "text": "",
    }
    msg.update({k: v for k, v in source.items() if k != "channel" and v is not None})
    if not msg.get("ts"):
        msg["ts"] = f"1600000000.{next(_message_ts_counter) % 1_000_000:06d}"
    found_block_id, found_text = _find_button(msg.get("blocks"), action_id)
    resolved_block_id = block_id or found_block_id or "actions"
    name = user_name if user_name is not None else user_name_of(user_id)
    if view is not None:
        return _view_actions_body(user_id=user_id, name=name, action_id=action_id, value=value,
                                  block_id=block_id, view=view, team_id=team_id,
                                  button_text=button_text, trigger_id=trigger_id)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": msg["ts"],
        "channel_id": channel_id,
        "is_ephemeral": ephemeral,
    }
    if msg.get("thread_ts"):
        container["thread_ts"] = msg["thread_ts"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id if trigger_id is not None else new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name_of(channel_id)},
        "message": msg,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": resolved_block_id,
                "text": {
                    "type": "plain_text",
                    "text": button_text or found_text or value,
                    "emoji": True,
                },
                "value": value,
                "type": "button",
                "action_ts": _action_ts(),
            }
        ],
    }
    if ephemeral:
        del payload["message"]
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def _view_actions_body(*, user_id: str, name: str, action_id: str, value: str,
                       block_id: str | None, view: dict[str, Any], team_id: str,
                       button_text: str | None, trigger_id: str | None) -> str:
    found_block_id, found_text = _find_button(view.get("blocks"), action_id)
    view_id = str(view.get("id") or "V0000000001")
    full_view = {"id": view_id, "team_id": team_id, "type": view.get("type", "home"),
                 "private_metadata": "", "callback_id": "", "state": {"values": {}},
                 "hash": "1600000000.abcdef", "clear_on_close": False,
                 "notify_on_close": False, "root_view_id": view_id, "app_id": API_APP_ID,
                 "external_id": "", "app_installed_team_id": team_id, "bot_id": BOT_ID,
                 "previous_view_id": None}
    full_view.update(view)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": trigger_id if trigger_id is not None else new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": full_view,
        "actions": [{
            "action_id": action_id,
            "block_id": block_id or found_block_id or "actions",
            "text": {"type": "plain_text", "text": button_text or found_text or value,
                     "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": _action_ts(),
        }],
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
