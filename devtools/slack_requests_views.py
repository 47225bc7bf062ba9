"""``view_submission`` bodies for devtools/slack_requests.py: the ``payload=<json>`` form
body Slack posts when a user submits a modal, and the ``state.values`` of its inputs
(``text_value``, ``option_value``, ``boxes_value``):
https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from devtools.slack_requests_ids import (
    API_APP_ID,
    BOT_ID,
    DEFAULT_TEAM_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    new_trigger_id,
    user_name_of,
)


def text_value(text: str | None) -> dict[str, Any]:
    """A plain_text_input's state in a view_submission (``value`` is null when left empty)."""
    return {"type": "plain_text_input", "value": text}


def option_value(value: str | None, text: str | None = None) -> dict[str, Any]:
    """A static_select's state (``selected_option`` is null when nothing was chosen)."""
    option = (None if value is None else
              {"text": {"type": "plain_text", "text": text or value, "emoji": True},
               "value": value})
    return {"type": "static_select", "selected_option": option}


def boxes_value(*values: str) -> dict[str, Any]:
    """A checkboxes element's state: the options ticked."""
    return {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": v, "emoji": True}, "value": v}
        for v in values]}


def view_submission_body(view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]],
                         *, user_id: str, team_id: str = DEFAULT_TEAM_ID,
                         trigger_id: str | None = None) -> str:
    """Form body of a ``view_submission`` payload, in Slack's shape
    (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload): type,
    team, user, api_app_id, token, trigger_id, view (its ``id``, ``callback_id``,
    ``private_metadata``, ``hash`` and ``state.values``), ``response_urls`` (empty: the
    modal has no conversation select with ``response_url_enabled``)."""
    name = user_name_of(user_id)
    view_id = str(view.get("id") or "V0000000001")
    full_view = dict(view)
    full_view.update({"id": view_id, "team_id": team_id, "type": view.get("type", "modal"),
                      "private_metadata": view.get("private_metadata", ""),
                      "callback_id": view.get("callback_id", ""),
                      "hash": view.get("hash", "1600000000.abcdef"),
                      "state": {"values": values}, "app_id": API_APP_ID, "bot_id": BOT_ID,
                      "root_view_id": view.get("root_view_id", view_id)})
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id if trigger_id is not None else new_trigger_id(),
        "view": full_view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
