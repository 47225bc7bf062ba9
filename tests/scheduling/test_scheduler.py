"""The scheduler over the persistent job store in the bot's database (SQLite, or PostgreSQL
from TEST_DATABASE_URL): expected jobs with their options, stale jobs removed at start, one
job per id after a restart, jobs that are module-level functions with primitive arguments,
and the new jobs doing their work."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import ref_to_obj
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.container import Container, build_container
from bot.scheduling import jobs
from bot.scheduling.scheduler import (
    EXPECTED_JOBS,
    JOB_STORE_TABLE,
    DeploybotScheduler,
    build_scheduler,
)
from bot.store.db import make_engine
from bot.store.schema import alembic_config
from devtools.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, base_config

NY = ZoneInfo("America/New_York")
FRIDAY_CLOSE = "schedule:production:closes:2026-11-20T19:00:00Z:warn:1h"

EXPECTED_OPTIONS = {
    # id: (function, period in seconds, misfire_grace_time)
    "expire-approvals": (jobs.expire_approvals, 30, 30),
    "resume-deployments": (jobs.resume_deployments, 10, 10),
    "announce": (jobs.announce, 60, 60),
    "release-scheduled": (jobs.release_scheduled, 60, 60),
    "expire-locks": (jobs.expire_locks, 60, 60),
    "poll-github": (jobs.poll_github, 60, 60),  # github.poll_every (a no-op when off)
    "refresh-checklists": (jobs.refresh_checklists, 30, 30),
    "daily-summary": (jobs.send_daily_summary, 60, 60),  # a no-op without alerts.email
    "check-live": (jobs.check_live, 300, 300),  # drift_check_every
    "tell-interrupted": (jobs.tell_interrupted, 60, 60),  # after runner.answer_grace
}


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(environments={
        "staging": {},
        "production": {"schedule": {"monday": "anytime", "tuesday": "anytime",
                                    "wednesday": "anytime", "thursday": "anytime",
                                    "friday": {"until": "14:00"}}},
    })


@pytest.fixture
def fresh_job_store(database_url: str) -> str:
    """The shared PostgreSQL test database keeps tables the conftest does not truncate."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {JOB_STORE_TABLE}"))
    engine.dispose()
    return database_url


@pytest.fixture
def make_container(config: AppConfig, fresh_job_store: str, fake_slack: FakeSlack,
                   clock: ManualClock) -> Iterator[Any]:
    made: list[Container] = []

    def make() -> Container:
        c = build_container(config, database_url=fresh_job_store, slack_token=BOT_TOKEN,
                            slack_api_url=fake_slack.base_url, clock=clock)
        made.append(c)
        return c

    yield make
    for c in made:
        jobs.unregister_instance(c.instance)
        c.close()


@pytest.fixture
def started(make_container: Any) -> Iterator[Any]:
    """Build and start (paused: no job runs by itself) a process's scheduler."""
    running: list[DeploybotScheduler] = []

    def start(container: Container | None = None) -> tuple[Container, DeploybotScheduler]:
        c = container or make_container()
        s = build_scheduler(c)
        s.start(paused=True)
        running.append(s)
        return c, s

    yield start
    for s in running:
        if s.running:
            s.shutdown(wait=False)


def stored_ids(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text(f"SELECT id FROM {JOB_STORE_TABLE}")).scalars())
    finally:
        engine.dispose()


def add_old_jobs(url: str) -> None:
    """What an older version left in the store: a job this version no longer has, and one
    whose function no longer exists."""
    engine = make_engine(url)
    old = BackgroundScheduler(timezone=UTC, jobstores={
        "default": SQLAlchemyJobStore(engine=engine, tablename=JOB_STORE_TABLE)})
    old.start(paused=True)
    old.add_job("bot.scheduling.jobs:expire_approvals", "interval", id="old-sweep",
                minutes=5, args=["old-process"])
    old.add_job("bot.scheduling.jobs:expire_approvals", "interval", id="daily-report",
                hours=24, args=["old-process"])
    old.shutdown(wait=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        state = pickle.loads(conn.execute(
            text(f"SELECT job_state FROM {JOB_STORE_TABLE} WHERE id = 'daily-report'")
        ).scalar_one())
        state["func"] = "bot.scheduling.jobs:send_daily_report"  # gone in this version
        conn.execute(text(f"UPDATE {JOB_STORE_TABLE} SET job_state = :s "
                          "WHERE id = 'daily-report'"), {"s": pickle.dumps(state)})
    engine.dispose()


def test_the_expected_jobs_are_in_the_persistent_store_with_their_options(
    started: Any, fresh_job_store: str
) -> None:
    container, scheduler = started()
    assert stored_ids(fresh_job_store) == sorted(EXPECTED_JOBS)
    stored = {j.id: j for j in scheduler.get_jobs()}  # read back from the database
    assert set(stored) == set(EXPECTED_OPTIONS)
    for job_id, (func, period, misfire) in EXPECTED_OPTIONS.items():
        job = stored[job_id]
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == misfire
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(seconds=period)
        # A module-level function, by reference, with primitive arguments only.
        assert job.func_ref == f"bot.scheduling.jobs:{func.__name__}"
        assert ref_to_obj(job.func_ref) is func
        assert job.args == (container.instance,)
        assert all(isinstance(a, str | int | float | bool) for a in job.args)
        assert job.kwargs == {}


def test_stale_jobs_are_removed_at_start(
    started: Any, fresh_job_store: str, caplog: pytest.LogCaptureFixture
) -> None:
    add_old_jobs(fresh_job_store)
    assert stored_ids(fresh_job_store) == ["daily-report", "old-sweep"]
    with caplog.at_level(logging.INFO):
        _, scheduler = started()
    assert stored_ids(fresh_job_store) == sorted(EXPECTED_JOBS)
    assert sorted(j.id for j in scheduler.get_jobs()) == sorted(EXPECTED_JOBS)
    assert "removed stale job old-sweep" in caplog.text
    assert 'Unable to restore job "daily-report" -- removing it' in caplog.text


def test_a_restart_leaves_one_job_per_id(
    started: Any, make_container: Any, fresh_job_store: str
) -> None:
    first, s1 = started()
    s1.shutdown(wait=False)
    second, s2 = started()  # a restart: a new process (instance) on the same database
    assert stored_ids(fresh_job_store) == sorted(EXPECTED_JOBS)
    assert {j.args for j in s2.get_jobs()} == {(second.instance,)}
    # Two processes at once share the store: still one job per id.
    third, _ = started()
    assert stored_ids(fresh_job_store) == sorted(EXPECTED_JOBS)
    assert first.instance != second.instance != third.instance


def test_a_restart_does_not_replay_missed_ticks(started: Any) -> None:
    _, s1 = started()
    s1.shutdown(wait=False)
    _, s2 = started()
    now = datetime.now(UTC)  # APScheduler plans in real time
    for job in s2.get_jobs():
        assert job.next_run_time > now - timedelta(seconds=5)


def test_the_stored_jobs_run_in_any_process_and_do_their_work(
    started: Any, clock: ManualClock, fake_slack: FakeSlack
) -> None:
    _, scheduler = started()
    announce = scheduler.get_job("announce")  # unpickled from the database
    clock.set(datetime(2026, 11, 20, 13, 0, 30, tzinfo=NY))
    assert announce.func(*announce.args) == 1
    assert [m["text"] for m in fake_slack.messages("C0DEPLOYS")] == [
        "⏰ production closes for normal deploys in 1 hour (Fri 2026-11-20 14:00 EST); "
        "next window Mon 2026-11-23 00:00 EST."]
    assert announce.func(*announce.args) == 0  # once
    # Written by another process (another instance name): run with this process's bot.
    clock.set(datetime(2026, 11, 27, 13, 0, 30, tzinfo=NY))
    assert jobs.announce("other-host:123:abcdef") == 1
    release = scheduler.get_job("release-scheduled")
    assert release.func(*release.args) == 0  # nothing queued for a window


def test_the_job_store_table_is_not_schema_drift(started: Any, fresh_job_store: str) -> None:
    started()
    assert stored_ids(fresh_job_store) == sorted(EXPECTED_JOBS)  # the table is there
    command.check(alembic_config(fresh_job_store))  # raises on drift


def test_the_scheduler_starts_running_and_stops(make_container: Any) -> None:
    scheduler = build_scheduler(make_container())
    scheduler.start()
    try:
        assert scheduler.running and scheduler.state == 1  # STATE_RUNNING, not paused
    finally:
        scheduler.shutdown(wait=False)
