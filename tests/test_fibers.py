"""Fibers (bot/fibers.py): any number of waiting fibers on a fixed number of threads.

No assertion here is about how long anything took: waits are held open by events the test
controls, and what is checked is how many threads carry how many waiting fibers, the order
things happen in, and that every fiber ends (each `done` called once)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable

import pytest

from bot.fibers import Fibers, in_fiber


def _until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


class Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


def test_two_hundred_waiting_fibers_hold_two_threads() -> None:
    fibers = Fibers(workers=2, name="t")
    sleep = fibers.sleeper()
    release = threading.Event()
    done, finished = Counter(), Counter()
    threads_before = threading.active_count()

    def work() -> None:
        while not release.is_set():  # a rollout waiting on its cluster
            sleep(0.02)
        finished.add()

    try:
        for key in range(200):
            assert fibers.spawn(key, work, done=done.add)
        _until(lambda: fibers.parked == 200, "all 200 fibers parked at once")
        assert fibers.threads == 2
        assert threading.active_count() - threads_before == 2
        assert sorted(t.name for t in threading.enumerate() if t.name.startswith("t-")) == [
            "t-0", "t-1"]
        release.set()
        _until(lambda: done.value == 200, "every fiber done")
        assert finished.value == 200
    finally:
        fibers.shutdown(wait=True, timeout=10)
    assert threading.active_count() == threads_before


def test_outside_a_fiber_the_sleeper_is_the_sleep_it_wraps() -> None:
    seen: list[float] = []
    fibers = Fibers(workers=1)
    sleep = fibers.sleeper(seen.append)
    assert not in_fiber()
    sleep(1.5)
    assert seen == [1.5]
    assert fibers.threads == 0  # no thread before there is work


def test_a_test_clock_sleep_is_called_and_the_fiber_lets_the_others_run() -> None:
    """A sleep that moves a test clock (not time.sleep) is called as it is; then the fiber
    yields, so two fibers on one thread take turns instead of one running to its end."""
    order: list[str] = []
    fibers = Fibers(workers=1)
    sleep = fibers.sleeper(lambda s: order.append(f"clock+{s:g}"))
    done = Counter()

    def work(name: str) -> Callable[[], None]:
        def run() -> None:
            for i in range(2):
                order.append(f"{name}{i}")
                sleep(5)
        return run

    try:
        fibers.spawn(1, work("a"), done=done.add)
        fibers.spawn(2, work("b"), done=done.add)
        _until(lambda: done.value == 2, "both done")
    finally:
        fibers.shutdown(wait=True, timeout=10)
    assert [o for o in order if not o.startswith("clock")] == ["a0", "b0", "a1", "b1"]
    assert order.count("clock+5") == 4


def test_interrupt_throws_into_every_parked_fiber_at_its_wait() -> None:
    fibers = Fibers(workers=2)
    sleep = fibers.sleeper()
    stopped: list[int] = []
    lock = threading.Lock()
    done = Counter()

    class Stop(Exception):
        def __init__(self, key: int) -> None:
            super().__init__(key)
            self.key = key

    def work() -> None:
        try:
            while True:
                sleep(3600)  # an hour's watch: only the interrupt ends it
        except Stop as e:
            with lock:
                stopped.append(e.key)

    try:
        for key in (7, 8, 9):
            fibers.spawn(key, work, done=done.add)
        _until(lambda: fibers.parked == 3, "three parked")
        fibers.interrupt(Stop)
        _until(lambda: done.value == 3, "all three stopped")
    finally:
        fibers.shutdown(wait=True, timeout=10)
    assert sorted(stopped) == [7, 8, 9]


def test_shutdown_drops_the_fibers_not_started_and_calls_their_done() -> None:
    fibers = Fibers(workers=1)
    sleep = fibers.sleeper()
    release = threading.Event()
    ran: list[int] = []
    done: list[int] = []
    started = threading.Event()

    def blocking() -> None:  # holds the only thread (an action, not a wait)
        started.set()
        release.wait(10)

    fibers.spawn(0, blocking, done=lambda: done.append(0))
    assert started.wait(10)
    for key in (1, 2):
        fibers.spawn(key, lambda k=key: ran.append(k), done=lambda k=key: done.append(k))
    stopper = threading.Thread(target=fibers.shutdown, kwargs={"wait": True, "timeout": 10})
    stopper.start()
    _until(lambda: sorted(done) == [1, 2], "the unstarted two dropped")
    release.set()
    stopper.join(10)
    assert ran == [] and sorted(done) == [0, 1, 2]
    assert not fibers.spawn(3, lambda: None, done=lambda: done.append(3))
    assert sleep is not None


def test_each_fiber_has_its_own_context() -> None:
    var: contextvars.ContextVar[int | None] = contextvars.ContextVar("v", default=None)
    fibers = Fibers(workers=1)
    sleep = fibers.sleeper()
    seen: dict[int, int | None] = {}
    done = Counter()

    def work(key: int) -> Callable[[], None]:
        def run() -> None:
            var.set(key)
            sleep(0.01)  # the other fiber runs and sets its own value meanwhile
            seen[key] = var.get()
        return run

    try:
        for key in (1, 2, 3):
            fibers.spawn(key, work(key), done=done.add)
        _until(lambda: done.value == 3, "all done")
    finally:
        fibers.shutdown(wait=True, timeout=10)
    assert seen == {1: 1, 2: 2, 3: 3}


def test_a_fiber_that_raises_is_logged_and_done(caplog: pytest.LogCaptureFixture) -> None:
    fibers = Fibers(workers=1)
    done = Counter()

    def boom() -> None:
        raise RuntimeError("boom")

    try:
        fibers.spawn(5, boom, done=done.add)
        fibers.spawn(6, lambda: None, done=done.add)
        _until(lambda: done.value == 2, "both done")
    finally:
        fibers.shutdown(wait=True, timeout=10)
    assert "fiber 5 failed" in caplog.text
