"""Scheduler metrics: how late each job ran (or was given up) against its scheduled time,
and how its runs ended, through an APScheduler event listener.

On EVENT_JOB_EXECUTED / EVENT_JOB_ERROR (outcome "executed" / "error") the lag is the time
from the run's `scheduled_run_time` (the latest one when runs were coalesced) to the end of
the run, so it includes the job's own run time (the sweeps take milliseconds to seconds);
the scheduler's submission event is no substitute: it comes for missed runs too, and may
arrive after the run ended. On EVENT_JOB_MISSED (a run later than its misfire_grace_time,
given up) the lag is how late it was when given up (outcome "missed"). Job ids outside the
expected set are labelled "other" (labels stay bounded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, Protocol

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)

from bot.clock import SystemClock

log = logging.getLogger(__name__)

OTHER = "other"


class JobMetrics(Protocol):
    def job_lag(self, job: str, outcome: str, seconds: float) -> None: ...

    def job_ran(self, job: str, outcome: str) -> None: ...


def watch_lag(scheduler: Any, metrics: JobMetrics, *, expected: Collection[str],
              now: Callable[[], datetime] | None = None) -> Callable[[Any], None]:
    """Add the listener to `scheduler` (an APScheduler 3 scheduler); returns it. `now`: the
    wall time the scheduler itself runs on (the system clock)."""
    known = frozenset(expected)
    wall = now or SystemClock().now

    def name(job_id: str) -> str:
        return job_id if job_id in known else OTHER

    def listener(event: Any) -> None:
        if not isinstance(event, JobExecutionEvent):
            return
        outcome = {EVENT_JOB_MISSED: "missed", EVENT_JOB_ERROR: "error"}.get(event.code,
                                                                             "executed")
        try:
            job = name(event.job_id)
            metrics.job_lag(job, outcome, (wall() - event.scheduled_run_time).total_seconds())
            metrics.job_ran(job, outcome)
        except Exception:  # a metric must never break the scheduler's thread
            log.warning("could not record a scheduler metric", exc_info=True)

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return listener
