"""One live scheduler across worker processes: the leader runs the jobs, the others wait.

Every worker builds and starts its scheduler paused (`DeploybotScheduler.start(paused=True)`
writes the expected jobs to the shared store). `LeaderElection` then tries every `every` to
become the leader (bot.store.leadership: a PostgreSQL advisory lock held on a session of its
own); the process that holds it resumes its scheduler, and pauses it again the moment it
finds it leads no more (its session gone). A leader that dies loses the lock with its
session, and another worker takes over within `every` plus the server's notice of the dead
connection. Stopping (SIGTERM) pauses the scheduler and releases the lock at once. On SQLite
(one process) the process always leads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Leadership(Protocol):
    def acquire(self) -> bool: ...

    def holds(self) -> bool: ...

    def release(self) -> None: ...


class LeaderElection:
    def __init__(self, leadership: Leadership, *, elected: Callable[[], None],
                 deposed: Callable[[], None], every: float = 5.0) -> None:
        self._leadership = leadership
        self._elected = elected
        self._deposed = deposed
        self._every = every
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.leads = False
        self._thread = threading.Thread(target=self._loop, name="scheduler-leader",
                                        daemon=True)

    def start(self) -> LeaderElection:
        self.step()  # at once: a single process leads before serving
        self._thread.start()
        return self

    def step(self) -> bool:
        """One try (or check); whether this process leads now."""
        with self._lock:
            if self._stop.is_set():
                return False
            if not self.leads:
                if self._leadership.acquire():
                    self.leads = True
                    log.info("scheduler: this process leads; running the scheduled jobs")
                    self._elected()
            elif not self._leadership.holds():
                self.leads = False
                log.warning("scheduler: this process leads no more; jobs paused")
                self._deposed()
            return self.leads

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.step()
            except Exception:  # the thread must go on trying; the next step retries
                log.exception("scheduler: leadership check failed")

    def stop(self) -> None:
        """Stop trying; a leader pauses its jobs and gives the lock up."""
        self._stop.set()
        with self._lock:
            if self.leads:
                self.leads = False
                self._deposed()
                self._leadership.release()
        if self._thread.is_alive():
            self._thread.join(5)
