"""The Outbox: one thread, deliveries in order, a failing one logged and the rest delivered."""

from __future__ import annotations

import logging

import pytest

from bot.services.outbox import Outbox


def test_work_is_done_in_order_and_a_failure_does_not_stop_the_rest(
        caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox(name="testing")
    done: list[int] = []

    def boom() -> None:
        raise ValueError("destination down")

    box.put("one", lambda: done.append(1))
    box.put("two", boom)
    box.put("three", lambda: done.append(3))
    with caplog.at_level(logging.ERROR):
        assert box.wait_idle(5)
    box.shutdown()
    assert done == [1, 3]
    assert "two: testing failed" in caplog.text


def test_nothing_is_taken_after_shutdown() -> None:
    box = Outbox(name="testing")
    box.shutdown()
    done: list[int] = []
    box.put("late", lambda: done.append(1))
    assert box.wait_idle(1)
    assert done == []
