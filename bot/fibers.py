"""Fibers: long work that waits without holding a thread of its own.

A deployment spends minutes waiting (for its rollout, a migration Job, the watch after it)
and milliseconds acting (a patch, a read, a database write). Each deployment the runner
follows is a *fiber* (a greenlet) on one of a few *hub* threads (`workers` of them): a fiber
runs until it waits, then its hub runs another. Waiting goes through the injected `sleep`
that every backend already takes (`Fibers.sleeper`): inside a fiber it parks the fiber on
its hub's timer heap and switches to the hub; anywhere else (a Slack request, a scheduler
job, a test calling the runner directly) it is the plain sleep it wraps. So the number of
threads is `workers` whatever the number of deployments in flight, and `workers` bounds
how many act at the same time, not how many are under way.

The rules that keep this sound:

- a greenlet lives on the thread that started it: a fiber is started and always resumed by
  its own hub (the least busy hub when it is spawned);
- a fiber switches only inside `sleep`, never inside a database transaction or while it
  holds a lock (the runner and the backends sleep between requests, never within one);
- code that waits on a socket instead (a Kubernetes watch stream) asks `in_fiber()` and
  polls with `sleep` there instead;
- each greenlet has its own `contextvars` context (greenlet ≥ 1.0), so a fiber's log
  context (`bot.logs.working_on`) is its own.

`interrupt` throws an exception into every parked fiber at its wait (SIGTERM: the runner
hands its deployments back at once, not at their next report). `shutdown` drops the fibers
not started yet (their `done` is called, as a cancelled future's callback is) and, with
`wait=True`, runs the started ones to their end; with `wait=False` they end with the
process. This module is the only one that
imports greenlet.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from greenlet import getcurrent, greenlet

log = logging.getLogger(__name__)


class Fiber(greenlet):  # type: ignore[misc]  # greenlet's class is untyped for subclassing
    """One unit of long work on a hub: `key` names it (a deployment id)."""

    def __init__(self, run: Callable[[], None], *, key: int, hub: _Hub,
                 parent: greenlet) -> None:
        super().__init__(run=run, parent=parent)
        self.key = key
        self.hub = hub


def in_fiber() -> bool:
    """Whether the caller runs inside a fiber (its waits must go through `sleep`)."""
    return isinstance(getcurrent(), Fiber)


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    fiber: Fiber | None = field(compare=False)  # None: not started yet (`start`)
    start: Callable[[], None] | None = field(compare=False, default=None)
    done: Callable[[], None] | None = field(compare=False, default=None)
    key: int = field(compare=False, default=0)
    throw: BaseException | None = field(compare=False, default=None)


class _Hub:
    """One thread running its fibers, earliest due first."""

    def __init__(self, owner: Fibers, index: int) -> None:
        self._owner = owner
        self._cond = threading.Condition()
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self.alive = 0  # fibers spawned here and not finished (started or not)
        self._stopping = False
        self._finish = True  # on stop: let every fiber finish first
        self._main: greenlet | None = None
        self._done: dict[int, Callable[[], None]] = {}  # fiber id → its done callback
        self.thread = threading.Thread(target=self._loop, name=f"{owner.name}-{index}",
                                       daemon=True)
        self.thread.start()

    # -- called from any thread ---------------------------------------------------------
    def spawn(self, key: int, run: Callable[[], None], done: Callable[[], None]) -> None:
        with self._cond:
            self.alive += 1
            heapq.heappush(self._heap, _Entry(0.0, next(self._seq), None, start=run,
                                              done=done, key=key))
            self._cond.notify()

    def interrupt(self, make: Callable[[int], BaseException]) -> None:
        with self._cond:
            for e in self._heap:
                if e.fiber is not None:
                    e.due, e.throw = 0.0, make(e.fiber.key)
            heapq.heapify(self._heap)
            self._cond.notify()

    def stop(self, *, finish: bool) -> None:
        """Drop the fibers not started yet; `finish`: run the others to their end first."""
        dropped: list[Callable[[], None]] = []
        with self._cond:
            self._stopping, self._finish = True, finish
            for e in [e for e in self._heap if e.fiber is None]:
                self._heap.remove(e)
                self.alive -= 1
                if e.done is not None:
                    dropped.append(e.done)
            heapq.heapify(self._heap)
            self._cond.notify()
        for done in dropped:
            _call(done)

    @property
    def parked(self) -> int:
        with self._cond:
            return sum(1 for e in self._heap if e.fiber is not None)

    # -- called inside a fiber of this hub ----------------------------------------------
    def park(self, fiber: Fiber, seconds: float) -> None:
        with self._cond:
            heapq.heappush(self._heap, _Entry(time.monotonic() + max(0.0, seconds),
                                              next(self._seq), fiber))
        assert self._main is not None
        self._main.switch()  # back here when due (or with the exception `interrupt` threw)

    # -- the hub's own thread -----------------------------------------------------------
    def _loop(self) -> None:
        self._main = getcurrent()
        while True:
            with self._cond:
                while True:
                    if self._stopping and (not self._finish or self.alive == 0):
                        return
                    now = time.monotonic()
                    if self._heap and self._heap[0].due <= now:
                        entry = heapq.heappop(self._heap)
                        break
                    self._cond.wait(self._heap[0].due - now if self._heap else None)
            self._step(entry)

    def _step(self, entry: _Entry) -> None:
        fiber = entry.fiber
        try:
            if fiber is None:
                assert entry.start is not None and entry.done is not None
                fiber = Fiber(entry.start, key=entry.key, hub=self, parent=self._main)
                self._done[id(fiber)] = entry.done
                fiber.switch()
            elif entry.throw is not None:
                fiber.throw(entry.throw)
            else:
                fiber.switch()
        except BaseException:  # a fiber's own code lets nothing out; this is the last stop
            log.exception("fiber %s failed", entry.key)
        if fiber is None or fiber.dead:
            with self._cond:
                self.alive -= 1
            done = self._done.pop(id(fiber), None) if fiber is not None else entry.done
            if done is not None:
                _call(done)


def _call(done: Callable[[], None]) -> None:
    try:
        done()
    except Exception:
        log.exception("a fiber's done callback failed")


class Sleep:
    """A sleep for the backends: inside a fiber the fiber waits on its hub; elsewhere it is
    `base`. `real`: `base` waits in real time (time.sleep), so a fiber is parked for the
    same time; otherwise `base` moves a test clock on (bot.container.clusters.manual_sleep)
    and is called as it is, then the fiber lets its hub's other fibers run before going on."""

    def __init__(self, base: Callable[[float], None], *, real: bool) -> None:
        self._base = base
        self._real = real

    def __call__(self, seconds: float) -> None:
        current = getcurrent()
        if not isinstance(current, Fiber):
            self._base(seconds)
            return
        if not self._real:
            self._base(seconds)
            seconds = 0.0
        current.hub.park(current, seconds)


class Fibers:
    """`workers` hub threads carrying any number of fibers (`spawn`)."""

    def __init__(self, *, workers: int, name: str = "deploy") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._hubs: list[_Hub] | None = None
        self._workers = workers
        self._closed = False

    def sleeper(self, base: Callable[[float], None] = time.sleep) -> Sleep:
        """The sleep to give a backend whose waits happen inside fibers."""
        return Sleep(base, real=base is time.sleep)

    def _started(self) -> list[_Hub]:
        with self._lock:
            if self._hubs is None:  # threads only once there is work
                self._hubs = [_Hub(self, i) for i in range(self._workers)]
            return self._hubs

    def spawn(self, key: int, run: Callable[[], None], *, done: Callable[[], None]) -> bool:
        """Run `run()` as a fiber on the least busy hub; `done()` after it ends (or when
        shutdown drops it unstarted). False when shut down (nothing runs, `done` is not
        called)."""
        with self._lock:
            if self._closed:
                return False
        hub = min(self._started(), key=lambda h: h.alive)
        hub.spawn(key, run, done)
        return True

    def interrupt(self, make: Callable[[int], BaseException]) -> None:
        """Throw `make(key)` into every fiber parked at a wait now."""
        for hub in self._hubs or ():
            hub.interrupt(make)

    @property
    def threads(self) -> int:
        return len(self._hubs or ())

    @property
    def parked(self) -> int:
        """Fibers waiting at this moment (holding no thread)."""
        return sum(h.parked for h in self._hubs or ())

    def shutdown(self, *, wait: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            self._closed = True
            hubs = list(self._hubs or ())
        for hub in hubs:
            hub.stop(finish=wait)
        if wait:
            for hub in hubs:
                hub.thread.join(timeout)
