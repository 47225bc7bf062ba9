"""`WellFormed`, the global middleware that refuses a malformed Slack request (HTTP 400, one
WARNING line, no traceback) before anything else reads it, and keeps what it read for the
listeners."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from handlers.payloads.fields import CONTEXT_KEY, Malformed
from handlers.payloads.request import read

log = logging.getLogger("handlers.payloads")

#: What a malformed request is answered (the HTTP edge's answer to one, bot.web).
REFUSAL = {"ok": False, "error": "malformed request"}


class WellFormed(Middleware):
    """The global middleware refusing a malformed request before anything else reads it.

    A `Middleware` (its `process` is handed the request), not a function: for a function
    middleware Bolt builds every argument it could ask for (`action`, `view`, `event`…,
    slack_bolt/kwargs_injection/utils.py) by indexing the body, which is what crashes."""

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        try:
            req.context[CONTEXT_KEY] = read(req.body)
        except Malformed as e:
            return refused(str(e))
        next()
        return resp


def register(app: App) -> None:
    """Add `WellFormed`. Register it before any other middleware of ours: Bolt runs global
    middleware in order, and matches listeners only after all of them."""
    app.middleware(WellFormed())


def refused(why: str) -> BoltResponse:
    """400 with one line, no traceback: as the HTTP edge answers a signed-but-malformed body."""
    log.warning("Slack request refused with 400: %s", why)
    return BoltResponse(status=400, body=json.dumps(REFUSAL),
                        headers={"content-type": "application/json"})
