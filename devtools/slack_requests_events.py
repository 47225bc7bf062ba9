"""Events API bodies for devtools/slack_requests.py: the JSON ``event_callback`` Slack posts
with an event (https://api.slack.com/apis/events-api, its callback's fields: token,
team_id, api_app_id, event, event_id, event_time, authorizations, ...), and the events the
bot subscribes to (``app_home_opened``: https://api.slack.com/events/app_home_opened).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from devtools.slack_requests_ids import (
    API_APP_ID,
    BOT_USER_ID,
    DEFAULT_TEAM_ID,
    VERIFICATION_TOKEN,
)

_event_counter = itertools.count(1)


def app_home_opened_event(user_id: str, *, tab: str = "home",
                          view: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``app_home_opened`` event Slack sends when a user opens the app's Home (or
    Messages, ``tab="messages"``) tab; ``view`` is the Home view published before, if any."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": f"D{user_id}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = view
    return event


def event_callback_body(event: dict[str, Any], *, team_id: str = DEFAULT_TEAM_ID,
                        event_id: str | None = None) -> str:
    """JSON body of an Events API ``event_callback`` carrying ``event``, as Slack posts it."""
    n = next(_event_counter)
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{1_000_000 + n:010d}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team_id,
                            "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": f"4-eyJldCI6ImFwcF9ob21lX29wZW5lZCJ9-{n}",
    }
    return json.dumps(body, separators=(",", ":"))
