"""APScheduler wiring: one BackgroundScheduler per process over a persistent job store.

Job store: APScheduler 3's `SQLAlchemyJobStore` in the bot's own database (engine of the
container's Database, table `apscheduler_jobs`: created by schema revision 0014 with APScheduler's
schema, so that workers starting together do not race to create it, and excluded from
Alembic's drift check in migrations/env.py). Jobs are module-level functions in
bot.scheduling.jobs with primitive arguments (the instance name), so they pickle by
reference, and have deterministic ids (`EXPECTED_JOBS`).

Reconciled at start (`DeploybotScheduler.start`): every expected job is written with
`replace_existing=True` (whatever an older version or config stored under that id is
overwritten, next run time included: a restart does not replay missed ticks), then every
stored job whose id is not expected is removed (jobs of older versions or configs). A
stored job whose function no longer exists is dropped by the job store when it loads it.

Every job has `coalesce=True` (after a stall, run once, not once per missed tick),
`max_instances=1` (per process) and a deliberate `misfire_grace_time` (see each job).

Several processes on one database: APScheduler 3 does not coordinate schedulers that share a
job store (its documentation advises against sharing one), so one process leads
(bot.scheduling.leader, a PostgreSQL advisory lock): every worker starts its scheduler paused
(the expected jobs written, stale ones removed), and only the leader's runs; another takes
over when the leader stops or dies. Every job is idempotent against the database all the
same (an announcement is claimed by its unique key before it is posted, a scheduled deploy's
prompt by a conditional UPDATE, an expired lock's release by a conditional UPDATE, expiry by
conditional state transitions, resumption by leases), so a tick run twice while the lead
changes hands posts nothing twice. While versions with different job sets run side by side
(a rolling upgrade), the newer one removes the older one's stale jobs; the older scheduler
then logs an error for that job and carries on (`_process_jobs` below).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.container import Container
from bot.scheduling import jobs
from bot.scheduling.lag import watch_lag

log = logging.getLogger(__name__)

JOB_STORE_TABLE = "apscheduler_jobs"  # excluded from Alembic's drift check (migrations/env.py)
EXPECTED_JOBS = ("expire-approvals", "resume-deployments", "announce", "release-scheduled",
                 "expire-locks", "poll-github", "refresh-checklists", "daily-summary",
                 "check-live", "tell-interrupted")
RELEASE_EVERY = timedelta(minutes=1)
LOCKS_EVERY = timedelta(minutes=1)
INTERRUPTED_EVERY = timedelta(minutes=1)  # after runner.answer_grace (5m): told within 6m
CHECKLISTS_EVERY = timedelta(seconds=30)  # each checklist says when it is due (back-off)


class DeploybotScheduler(BackgroundScheduler):  # type: ignore[misc]  # APScheduler 3: untyped
    """A BackgroundScheduler that reconciles its persistent job store when it starts."""

    def __init__(self, *, expected: Collection[str], **options: Any) -> None:
        super().__init__(**options)
        self.expected = frozenset(expected)

    def start(self, paused: bool = False) -> None:
        # Paused first: the pending (expected) jobs are written to the store, stale ones are
        # removed, and only then does any job run.
        super().start(paused=True)
        try:
            self.reconcile()
        except BaseException:
            self.shutdown(wait=False)
            raise
        if not paused:
            self.resume()

    def reconcile(self) -> list[str]:
        """Remove every stored job whose id is not expected; returns the ids removed."""
        removed: list[str] = []
        for job in self.get_jobs():
            if job.id in self.expected:
                continue
            try:
                self.remove_job(job.id)
            except JobLookupError:
                continue  # another process removed it first
            log.info("scheduler: removed stale job %s (%s)", job.id, job.func_ref)
            removed.append(job.id)
        return removed

    def _process_jobs(self) -> float | None:
        # APScheduler 3 catches job store errors only while reading due jobs; one while
        # writing a next run time (the database blips, or another process removed the job)
        # would end this scheduler's thread for good. Log it and try again shortly.
        try:
            result: float | None = super()._process_jobs()
        except Exception:
            log.exception("scheduler: processing jobs failed; retrying in %ss",
                          self.jobstore_retry_interval)
            return float(self.jobstore_retry_interval)
        return result


def _seconds(d: timedelta) -> int:
    return max(1, round(d.total_seconds()))


def build_scheduler(container: Container) -> DeploybotScheduler:
    """The process's scheduler over the persistent job store in the bot's database, with the
    expected jobs pending; `start()` reconciles the store and begins running them."""
    cfg = container.config
    scheduler = DeploybotScheduler(
        expected=EXPECTED_JOBS,
        timezone=UTC,
        jobstores={"default": SQLAlchemyJobStore(engine=container.database.engine,
                                                 tablename=JOB_STORE_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    jobs.register_instance(container)
    # /metrics: how late each job runs, and how its runs end.
    watch_lag(scheduler, container.metrics, expected=EXPECTED_JOBS)

    def every(func: Callable[[str], int], job_id: str, period: timedelta, *,
              misfire_grace: timedelta) -> None:
        scheduler.add_job(
            func, "interval", id=job_id, seconds=period.total_seconds(),
            args=[container.instance], coalesce=True, max_instances=1,
            misfire_grace_time=_seconds(misfire_grace), replace_existing=True,
        )

    # Periodic sweeps: a tick more than one period late is pointless, the next one does the
    # same work (and coalescing runs a stalled job once, not once per missed tick).
    every(jobs.expire_approvals, "expire-approvals", cfg.expiry_check_every,
          misfire_grace=cfg.expiry_check_every)
    every(jobs.resume_deployments, "resume-deployments", cfg.runner.poll_every,
          misfire_grace=cfg.runner.poll_every)
    # Announcements: a late tick still posts what is due (post_due looks back
    # `announcements.grace` itself, and decides what is too stale to post), so allow a
    # whole period; later than that, the next tick does the same.
    every(jobs.announce, "announce", cfg.announcements.check_every,
          misfire_grace=cfg.announcements.check_every)
    # Queued deploys whose window opened: prompt_due catches up on everything due, so a
    # tick missed by more than a period loses nothing.
    every(jobs.release_scheduled, "release-scheduled", RELEASE_EVERY,
          misfire_grace=RELEASE_EVERY)
    # Expired deploy locks: expire_due releases every lock whose time is up, however late,
    # so a tick missed by more than a period loses nothing (the next one catches up).
    every(jobs.expire_locks, "expire-locks", LOCKS_EVERY, misfire_grace=LOCKS_EVERY)
    # GitHub polling (a no-op unless polling is on: the job set is the same in every
    # process). A look compares with what was claimed before, however late, so a tick
    # missed by more than a period loses nothing (the next one sees the same heads).
    every(jobs.poll_github, "poll-github", cfg.github.poll_every,
          misfire_grace=cfg.github.poll_every)
    # Pre-deployment checklists whose checks were pending (or whose GitHub could not be
    # asked: backing off): refresh_due takes every one due, however late, so a tick missed
    # by more than a period loses nothing. A no-op without `checklist:`.
    every(jobs.refresh_checklists, "refresh-checklists", CHECKLISTS_EVERY,
          misfire_grace=CHECKLISTS_EVERY)
    # The daily summary email (a no-op without alerts.email): send_due sends the day's
    # summary on any tick after its send time until midnight, so a tick missed by more than
    # a period loses nothing (the next one sends it; the day's key keeps it to one email).
    # Looked for as often as the announcements (announcements.check_every, 1m by default).
    every(jobs.send_daily_summary, "daily-summary", cfg.announcements.check_every,
          misfire_grace=cfg.announcements.check_every)
    # Drift: check() reads every pair now and announces what is new (claimed per version),
    # so a tick missed by more than a period loses nothing (the next one sees the same).
    every(jobs.check_live, "check-live", cfg.drift_check_every,
          misfire_grace=cfg.drift_check_every)
    # Acknowledged requests a stopped process left unanswered: sweep takes every row older
    # than runner.answer_grace, however late, so a tick missed by more than a period loses
    # nothing (the next one finds the same rows; each is claimed, so told once).
    every(jobs.tell_interrupted, "tell-interrupted", INTERRUPTED_EVERY,
          misfire_grace=INTERRUPTED_EVERY)
    return scheduler
