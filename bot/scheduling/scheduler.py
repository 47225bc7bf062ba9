"""APScheduler wiring: one BackgroundScheduler per process, jobs with deterministic ids.

Both jobs are safe to run in every replica at once (they act through conditional updates);
the leader election for announcements comes with the schedule and freeze announcements.
"""

from __future__ import annotations

from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler

from bot.container import Container
from bot.scheduling import jobs


def build_scheduler(container: Container) -> BackgroundScheduler:
    cfg = container.config
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,  # after a pause, run once, not once per missed tick
            "max_instances": 1,
            # Periodic sweeps: a tick more than one period late is pointless, the next
            # one does the same work.
            "misfire_grace_time": 30,
        },
    )
    jobs.register_instance(container)
    scheduler.add_job(
        jobs.expire_approvals, "interval", id="expire-approvals",
        seconds=cfg.expiry_check_every.total_seconds(), args=[container.instance],
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.resume_deployments, "interval", id="resume-deployments",
        seconds=cfg.runner.poll_every.total_seconds(), args=[container.instance],
        replace_existing=True,
    )
    return scheduler
