"""Slow listener work, off the ack path: a small thread pool owned by the container.

A Slack listener acks with what it can say at once (in memory), then hands the service call
to `Background.submit`. Unlike Bolt's lazy listeners, nothing is deep-copied per request
and only a couple of threads compete with the acks for the GIL (see benchmarks/README.md).
The submitted function reports its own outcome to the user (`handlers.replies.reporting`).

The queue is bounded in what is let in, not in `submit`: once `limit` items wait,
`saturated` is true and new Slack requests are refused before they are taken
(handlers.busy), so a flood of commands cannot grow the process without bound; work already
acked is never dropped.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Background:
    """Acks first: while Slack requests are being answered (`answering()`), queued work waits
    (at most `max_defer` seconds per item), so a burst of commands is acknowledged before
    the follow-ups compete with it for the interpreter."""

    def __init__(self, *, workers: int = 1, max_defer: float = 0.5,
                 limit: int | None = None) -> None:
        self._limit = limit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="listener")
        self._cond = threading.Condition()
        self._pending = 0
        self._answering = 0
        self._max_defer = max_defer
        self._closed = False

    @property
    def pending(self) -> int:
        """Items submitted and not finished yet (waiting or running)."""
        return self._pending

    @property
    def saturated(self) -> bool:
        """Whether `limit` items are pending: new requests should not be taken now."""
        return self._limit is not None and self._pending >= self._limit

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Mark a Slack request being answered (its ack must not wait behind our work)."""
        with self._cond:
            self._answering += 1
        try:
            yield
        finally:
            with self._cond:
                self._answering -= 1
                self._cond.notify_all()

    def submit(self, work: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the bot is shutting down")
            self._pending += 1
        # The work runs in a copy of the submitter's context: what the listener knew of the
        # request it serves (handlers.request_audit) follows it onto the pool.
        self._pool.submit(self._run, work, contextvars.copy_context())

    def _run(self, work: Callable[[], None], context: contextvars.Context) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._answering == 0 or self._closed,
                                timeout=self._max_defer)
        try:
            context.run(work)
        except Exception:
            # Listener work renders its own errors to the user; anything that escapes that
            # is a bug in the rendering itself, and this thread is the last one to see it.
            log.exception("background listener work failed")
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far has finished."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout=timeout)

    def shutdown(self, *, wait: bool = True) -> None:
        with self._cond:
            self._closed = True
        self._pool.shutdown(wait=wait)
