"""Draining a process before it stops (SIGTERM): the state and the one-off work it starts.

`deploybot run` stops in this order when SIGTERM (or SIGINT) arrives:

1. `Drain.begin()`: the process is draining. /readyz answers 503, so the load balancer
   stops sending it requests; Slack requests that still arrive are not taken
   (`refusal_for`); the work given to `Drain` (stop the scheduler, hand the running
   deployments back: their leases are released, so another replica resumes them at once)
   starts in a thread of its own.
2. For `runner.drain` the HTTP server stays up: requests already being answered finish.
3. The server closes (uvicorn waits for the connections still answering), the hand-back is
   waited for, and the container closes (the listeners' pool finishes what it was given).

What a Slack request gets while draining: a slash command gets HTTP 200 with an ephemeral
"deploybot is restarting, nothing was done, try again in a few seconds" — the body of a 200
is the only thing Slack shows the user (a 5xx shows a generic "failed with the error
http_service_unavailable"). Anything else (button clicks, Events API callbacks) gets 503 with
`Retry-After`: Slack retries an event later (X-Slack-Retry-Num), which the load balancer
sends to a live replica, and a click shows as failed, so the user clicks again. Neither is
claimed as handled (handlers.once), so the retry is not mistaken for a duplicate.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

RESTARTING = ("⏳ deploybot is restarting, so nothing was done. Please try again in a few "
              "seconds.")
#: Seconds a refused Slack request is told to wait before trying again (Retry-After).
RETRY_AFTER = 5


class Drain:
    """Whether the process is draining, and the work that starts when it begins."""

    def __init__(self, work: Callable[[], None] | None = None) -> None:
        self._work = work
        self._begun = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def draining(self) -> bool:
        return self._begun.is_set()

    def begin(self) -> None:
        """Start draining (safe from a signal handler, and more than once)."""
        with self._lock:
            if self._begun.is_set():
                return
            self._begun.set()
            if self._work is not None:
                self._thread = threading.Thread(target=self._run, name="drain", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        assert self._work is not None
        try:
            self._work()
        except Exception:  # the top of this thread: nothing above it would see it
            log.exception("draining: handing work back failed")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the work `begin` started; True when it is done (or there was none)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()


def refusal_for(body: bytes, content_type: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for a Slack request that arrives while draining."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", errors="replace"))
        if form.get("command"):
            reply = {"response_type": "ephemeral", "text": RESTARTING}
            return 200, {"content-type": "application/json"}, json.dumps(reply).encode()
    refused = {"ok": False, "error": "restarting", "retry_after": RETRY_AFTER}
    return (503, {"content-type": "application/json", "retry-after": str(RETRY_AFTER)},
            json.dumps(refused).encode())
