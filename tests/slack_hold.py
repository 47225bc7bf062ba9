"""Checking that an ack does not wait for the slow work, without reading a clock.

`SlackHold` is a `FakeSlack(on_call=...)` hook (tests/conftest.py's `fake_slack` has one):
while `holding(methods)`, a Web API call of one of those methods (or a `response_url` post,
method "response_url") is recorded as usual but its HTTP answer is kept back until the block
ends. `acked_while_held` sends a request in that state: its reply (the ack: Slack's request
is answered by the HTTP response) must come back while the follow-up is still held, and the
follow-up must then reach the fake. So the ack provably did not wait for it, whatever the
machine's speed. How long an ack takes is measured in benchmarks/ack_budget.py, not here
(house rule: no wall-clock assertions in unit tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

from devtools.fake_slack import Call

R = TypeVar("R")

#: Seconds a held call is kept at most, however the test ends: only so that a failing test
#: does not leave the bot's threads waiting forever. Never reached by a passing test.
HOLD_LIMIT = 120.0
#: Seconds to wait for what must come (a reply, a held call) before calling it a hang.
HANG = 30.0


class SlackHold:
    """Keeps back the fake Slack's answers to chosen methods (see the module docstring)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._methods: frozenset[str] = frozenset()
        self._held: list[Call] = []
        self._round = 0  # bumped by each release: the calls held before it go

    def __call__(self, call: Call) -> None:
        """FakeSlack's `on_call`: runs in the fake's request thread before it answers."""
        with self._cond:
            if call.method not in self._methods:
                return
            self._held.append(call)
            self._cond.notify_all()
            round_ = self._round
            self._cond.wait_for(lambda: self._round != round_, timeout=HOLD_LIMIT)

    @contextmanager
    def holding(self, *methods: str) -> Iterator[SlackHold]:
        """Hold the answers to `methods` until the block ends (then all go at once)."""
        with self._cond:
            self._methods = frozenset(methods)
            self._held = []
        try:
            yield self
        finally:
            self.release()

    def release(self) -> None:
        with self._cond:
            self._methods = frozenset()
            self._round += 1
            self._cond.notify_all()

    def held(self) -> list[Call]:
        with self._cond:
            return list(self._held)

    def wait_held(self, predicate: Callable[[Call], bool] | None = None, *,
                  count: int = 1) -> list[Call]:
        """Wait until `count` held calls (matching `predicate`) arrived; return them."""
        def matching() -> list[Call]:
            return [c for c in self._held if predicate is None or predicate(c)]

        with self._cond:
            if not self._cond.wait_for(lambda: len(matching()) >= count, timeout=HANG):
                raise AssertionError(
                    f"expected {count} held call(s), got {[c.method for c in self._held]}")
            return matching()


def acked_while_held(hold: SlackHold, send: Callable[[], R], *methods: str,
                     follow_up: Callable[[Call], bool] | None = None) -> R:
    """`send()` (a request to the bot) while the answers to `methods` are held; its reply.

    Fails if the reply comes only once they are let go (the ack waited for one of them), or
    if no held call matching `follow_up` arrives (the follow-up never reached Slack). Both
    are waits for an event, bounded only against a hang. Everything held is let go before
    this returns."""
    with hold.holding(*methods), ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(send)
        try:
            reply = pending.result(timeout=HANG)
        except FutureTimeout:
            hold.release()  # let the bot (and the request) finish before failing
            raise AssertionError(
                f"no ack while {', '.join(methods)} were held: the ack waited for "
                f"{[c.method for c in hold.held()]}") from None
        hold.wait_held(follow_up)
        return reply
