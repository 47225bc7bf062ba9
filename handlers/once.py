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
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse

from bot.container import Container
from handlers.payloads import Click, Command, Event, request_of

log = logging.getLogger(__name__)


def request_key(body: Mapping[str, Any], context: Mapping[str, Any] | None = None
                ) -> str | None:
    """What stays the same when Slack sends a request again: an event's `event_id`, a
    command's or an interaction's `trigger_id` (new for every invocation and click)."""
    request = request_of(body, context)
    if isinstance(request, Event):
        return f"event:{request.event_id}" if request.event_id else None
    if isinstance(request, Command | Click) and request.trigger_id:
        return f"trigger:{request.trigger_id}"
    if isinstance(request, Click) and request.type == "block_actions":
        # a click in a view without a trigger
        stamps = [a.action_ts for a in request.actions]
        if all(stamps):
            return f"action:{request.user_id}:{','.join(s for s in stamps if s)}"
    return None


def register(app: App, container: Container) -> None:
    requests = container.slack_requests

    @app.middleware
    def once(req: BoltRequest, body: dict[str, Any], context: BoltContext,
             next: Callable[[], None]) -> BoltResponse | None:
        key = request_key(body, context)
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
