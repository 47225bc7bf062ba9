"""A flood of Slack requests is refused before it is taken, so memory stays bounded.

Every command and click is acked at once and its work waits on the listener pool
(bot.background). When `runner.listener_queue` items already wait there, a global Bolt
middleware (the first, after Bolt's signature check) refuses new requests without taking
them, the way a draining process does (bot.drain): a slash command gets HTTP 200 with an
ephemeral "busy, nothing was done, try again" (the body of a 200 is the only thing Slack
shows the user); anything else (a click, an event) gets 503 with `Retry-After` — Slack
retries an event later and shows a click as failed, so the user clicks again. Nothing is
claimed as handled (handlers.once) or noted in the audit trail: nothing was done.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.container import Container
from handlers.payloads import Command, request_of

log = logging.getLogger(__name__)

#: Seconds a refused click or event is told to wait before trying again (Retry-After).
RETRY_AFTER = 10


def busy_text(pending: int) -> str:
    return (f"⏳ deploybot is busy ({pending} requests are waiting to be done), so nothing "
            "was done. Please try again in a minute.")


def register(app: App, container: Container) -> None:
    background = container.background
    refusing = threading.Event()  # one log line per flood, not one per request

    @app.middleware
    def busy(body: dict[str, Any], context: BoltContext,
             next: Callable[[], None]) -> BoltResponse | None:
        if not background.saturated:
            if refusing.is_set():
                refusing.clear()
                log.warning("listener queue below its limit again: taking Slack requests")
            next()
            return None
        if not refusing.is_set():
            refusing.set()
            log.warning("listener queue full (%d waiting, runner.listener_queue): refusing new "
                        "Slack requests until it drains", background.pending)
        if isinstance(request_of(body, context), Command):
            reply = {"response_type": "ephemeral", "text": busy_text(background.pending)}
            return BoltResponse(status=200, body=json.dumps(reply),
                                headers={"content-type": "application/json"})
        refused = {"ok": False, "error": "busy", "retry_after": RETRY_AFTER}
        return BoltResponse(status=503, body=json.dumps(refused),
                            headers={"content-type": "application/json",
                                     "retry-after": str(RETRY_AFTER)})
