"""Slack's retries and replays of a request already handled: answered, not handled again.

A global Bolt middleware (after Bolt's signature check) claims each request's key through
`SlackRequests.first_time` (bot/services/slack_requests.py) before any listener runs. A
request whose key was claimed already (Slack retried it, `X-Slack-Retry-Num`, perhaps to
another replica; or it was replayed) gets an empty 200 with `X-Slack-No-Retry: 1`: the first
attempt answers the user. A retry while the database cannot say gets 503 (Slack tries again
later). slack-bolt itself does no such thing (it runs every retry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.container import Container

log = logging.getLogger(__name__)


def request_key(body: dict[str, Any]) -> str | None:
    """What stays the same when Slack sends a request again: an event's `event_id`, a
    command's or an interaction's `trigger_id` (new for every invocation and click)."""
    if body.get("type") == "event_callback":
        event_id = body.get("event_id")
        return f"event:{event_id}" if event_id else None
    trigger = body.get("trigger_id")
    if trigger:
        return f"trigger:{trigger}"
    if body.get("type") == "block_actions":  # a click in a view without a trigger
        stamps = [str(a.get("action_ts")) for a in body.get("actions") or []]
        user = (body.get("user") or {}).get("id")
        return f"action:{user}:{','.join(stamps)}" if stamps and user else None
    return None


def register(app: App, container: Container) -> None:
    requests = container.slack_requests

    @app.middleware
    def once(req: BoltRequest, body: dict[str, Any],
             next: Callable[[], None]) -> BoltResponse | None:
        key = request_key(body)
        first = requests.first_time(key) if key is not None else True
        retries = req.headers.get("x-slack-retry-num") or []
        retry = retries[0] if retries else None
        if first is None and retry is not None:
            # The database cannot say whether the first attempt was handled: not now (Slack
            # tries again later), rather than twice.
            return BoltResponse(status=503, body="", headers={"retry-after": "5"})
        if first is None or first:
            # A first attempt while the database is away goes on: its own service call
            # meets the same outage and tells the user to try again.
            next()
            return None
        reason = (req.headers.get("x-slack-retry-reason") or ["-"])[0]
        log.info("Slack request %s handled already; ignoring this attempt (retry %s, %s)",
                 key, retry or "-", reason)
        return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})
