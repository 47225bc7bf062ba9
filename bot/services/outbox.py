"""One thread delivering work in the order it was handed over, off the deployment's path.

Watchers of deployments (the GitHub mirror, the alert router) hand their deliveries to an
`Outbox` and return at once: a slow or failing destination never holds up a rollout. Work
that raises is logged with what it was about and dropped; retrying is the work's own job.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, *, name: str) -> None:
        self._name = name
        self._cond = threading.Condition()
        self._queue: deque[tuple[str, Callable[[], object]]] = deque()
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def put(self, what: str, work: Callable[[], object]) -> None:
        """Queue `work` (about `what`, for the log); nothing once shut down."""
        with self._cond:
            if self._closed:
                return
            self._queue.append((what, work))
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything queued has been delivered (or dropped)."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._queue or self._busy) or self._closed,
                                       timeout=timeout)

    def shutdown(self, *, timeout: float = 5.0) -> None:
        """Deliver what is queued (for at most `timeout` seconds), then stop."""
        self.wait_idle(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closed)
                if self._closed:
                    return
                what, work = self._queue.popleft()
                self._busy = True
            try:
                work()
            except Exception:  # never let one delivery stop the others
                log.exception("%s: %s failed", what, self._name)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
