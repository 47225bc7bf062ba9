"""The listeners' background pool: work runs off the ack path, after the acks in flight."""

from __future__ import annotations

import threading

from bot.background import Background


def test_work_runs_and_wait_idle_sees_it_finish() -> None:
    bg = Background(workers=1)
    done: list[int] = []
    for i in range(5):
        bg.submit(lambda i=i: done.append(i))
    assert bg.wait_idle(timeout=5)
    assert done == [0, 1, 2, 3, 4]
    bg.shutdown()


def test_work_waits_while_requests_are_being_answered() -> None:
    bg = Background(workers=1, max_defer=5.0)
    ran = threading.Event()
    with bg.answering():
        bg.submit(ran.set)
        assert not ran.wait(timeout=0.2)  # held back while an ack is in flight
    assert ran.wait(timeout=2)  # released as soon as no request is being answered
    bg.shutdown()


def test_work_is_never_held_back_longer_than_max_defer() -> None:
    bg = Background(workers=1, max_defer=0.2)
    ran = threading.Event()
    with bg.answering():  # an ack in flight for as long as the test likes
        bg.submit(ran.set)
        # It runs while the request is still being answered: held back for max_defer at
        # most, not until the acks end (that it is held back at all: the test above).
        assert ran.wait(timeout=30)
    bg.shutdown()


def test_a_failing_work_item_does_not_stop_the_pool(caplog) -> None:  # type: ignore[no-untyped-def]
    bg = Background(workers=1)
    after = threading.Event()

    def boom() -> None:
        raise RuntimeError("bug in rendering")

    bg.submit(boom)
    bg.submit(after.set)
    assert after.wait(timeout=2)
    assert bg.wait_idle(timeout=2)
    assert "background listener work failed" in caplog.text
    bg.shutdown()


def test_nothing_is_accepted_after_shutdown() -> None:
    bg = Background()
    bg.shutdown()
    try:
        bg.submit(lambda: None)
    except RuntimeError as e:
        assert "shutting down" in str(e)
    else:
        raise AssertionError("submit after shutdown was accepted")


def test_saturated_once_limit_items_are_pending_and_not_after_they_finish() -> None:
    bg = Background(workers=1, limit=2)
    release = threading.Event()
    bg.submit(lambda: release.wait(5))
    assert not bg.saturated and bg.pending == 1
    bg.submit(lambda: None)
    assert bg.saturated and bg.pending == 2
    release.set()
    assert bg.wait_idle(timeout=5)
    assert not bg.saturated and bg.pending == 0
    bg.shutdown()


def test_without_a_limit_it_is_never_saturated() -> None:
    bg = Background(workers=1)
    release = threading.Event()
    for _ in range(50):
        bg.submit(lambda: release.wait(5))
    assert not bg.saturated and bg.pending == 50
    release.set()
    assert bg.wait_idle(timeout=5)
    bg.shutdown()
