"""Readiness (GET /readyz): may this process take traffic — does the database answer, does
Slack?

Each dependency is asked on a small thread pool and given `timeout` seconds; one that does
not answer in time is down ("did not answer within 2s"), and is not asked again while that
look is still hanging (no pile-up of stuck threads). A dependency with a `cache` period
(Slack: probes run every few seconds, auth.test need not) is asked at most once per period;
its last answer, up or down, stands until then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import DeploybotError
from bot.ports import Clock, Dependency

log = logging.getLogger(__name__)

OK = "ok"


@dataclass(frozen=True)
class Readiness:
    """The answer: every dependency's state, "ok" or why it is down."""

    checks: Mapping[str, str]

    @property
    def ready(self) -> bool:
        return all(v == OK for v in self.checks.values())

    @property
    def down(self) -> list[str]:
        return [name for name, v in self.checks.items() if v != OK]


@dataclass
class _Cached:
    result: str
    at: datetime


class ReadinessCheck:
    def __init__(self, dependencies: Sequence[Dependency], *, clock: Clock,
                 timeout: timedelta = timedelta(seconds=2),
                 cache: Mapping[str, timedelta] | None = None) -> None:
        """`cache`: dependency name → how long its answer stands (absent: asked each time)."""
        self._deps = list(dependencies)
        self._clock = clock
        self._timeout = timeout.total_seconds()
        self._cache_for = dict(cache or {})
        self._cached: dict[str, _Cached] = {}
        self._pending: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self._deps)) + 1,
                                        thread_name_prefix="readyz")

    def check(self) -> Readiness:
        at = self._clock.now()
        started: dict[str, Future[None] | str] = {}
        for dep in self._deps:
            started[dep.name] = self._cached_result(dep.name, at) or self._start(dep)
        results: dict[str, str] = {}
        for name, job in started.items():
            results[name] = job if isinstance(job, str) else self._wait(name, job, at)
        return Readiness(results)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _cached_result(self, name: str, at: datetime) -> str | None:
        ttl = self._cache_for.get(name)
        with self._lock:
            hit = self._cached.get(name)
        if ttl is None or hit is None or at - hit.at >= ttl:
            return None
        return hit.result

    def _start(self, dep: Dependency) -> Future[None] | str:
        with self._lock:
            pending = self._pending.get(dep.name)
            if pending is not None and not pending.done():
                return f"did not answer within {self._timeout:g}s (still waiting)"
            job = self._pool.submit(dep.check)
            self._pending[dep.name] = job
            return job

    def _wait(self, name: str, job: Future[None], at: datetime) -> str:
        try:
            job.result(timeout=self._timeout)
            result = OK
        except FutureTimeout:
            result = f"did not answer within {self._timeout:g}s"
        except DeploybotError as e:
            result = str(e) or type(e).__name__
        except Exception as e:  # a check must say "down", never break the probe
            log.warning("readiness check %s failed", name, exc_info=True)
            result = f"{type(e).__name__}: {e}"
        if result != OK:
            log.warning("not ready: %s: %s", name, result)
        with self._lock:
            self._cached[name] = _Cached(result[:300], at)
        return result[:300]
