"""devtools.shell.timeline: the scheduler's jobs (bot.scheduling.scheduler's, read back from
the job store) run by the shell on its ManualClock — every tick in between, in time order,
ties in the scheduler's order, on multiples of each period; the clock set to each tick and
never back, even when a tick's work moved it on; time only forward. The ticks a job says
would find nothing are skipped, its tick with work runs at its time (that the shell shows
the same either way: tests/test_shell_time.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.container import Container, build_container
from bot.scheduling.scheduler import EXPECTED_JOBS
from devtools.fake_slack import FakeSlack
from devtools.shell.timeline import TimeError, Timeline
from tests.conftest import BOT_TOKEN, REQUESTER, WEDNESDAY


@pytest.fixture
def container(config: AppConfig, database_url: str, fake_slack: FakeSlack,
              clock: ManualClock) -> Iterator[Container]:
    c = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                        slack_api_url=fake_slack.base_url, clock=clock)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def timeline(container: Container, clock: ManualClock) -> Iterator[Timeline]:
    t = Timeline(container, clock, skip_quiet=False)
    try:
        yield t
    finally:
        t.close()


Ran = list[tuple[str, datetime, datetime]]


def recorder(clock: ManualClock, ran: Ran, *, call: bool = False,
             also: Callable[[str], None] | None = None) -> Any:
    def run(job_id: str, at: datetime, job: Callable[[], Any]) -> None:
        ran.append((job_id, at, clock.now()))
        if call:
            job()
        if also is not None:
            also(job_id)
    return run


PERIODS = {"expire-approvals": 30, "resume-deployments": 10, "announce": 60,
           "release-scheduled": 60, "expire-locks": 60, "poll-github": 60,
           "refresh-checklists": 30, "daily-summary": 60, "check-live": 300,
           "tell-interrupted": 60}


def test_every_tick_runs_in_time_order_on_the_clock_ties_in_the_schedulers_order(
        timeline: Timeline, clock: ManualClock) -> None:
    assert sorted(timeline.job_ids) == sorted(EXPECTED_JOBS)
    ran: Ran = []
    target = WEDNESDAY + timedelta(minutes=10)
    assert timeline.move_to(target, recorder(clock, ran, call=True)) == len(ran)
    # Every tick of every job in (start, target], and no other.
    for job_id, period in PERIODS.items():
        ticks = [at for j, at, _ in ran if j == job_id]
        assert ticks == [WEDNESDAY + timedelta(seconds=period * k)
                         for k in range(1, 600 // period + 1)], job_id
    # In time order, ties in EXPECTED_JOBS order; the clock at each tick's time.
    keys = [(at, EXPECTED_JOBS.index(j)) for j, at, _ in ran]
    assert keys == sorted(keys)
    assert all(now == at for _, at, now in ran)
    assert clock.now() == target


def test_ticks_fall_on_multiples_of_the_period_whenever_the_session_started(
        container: Container, clock: ManualClock) -> None:
    clock.set(WEDNESDAY + timedelta(seconds=7))
    t = Timeline(container, clock, skip_quiet=False)
    try:
        ran: Ran = []
        t.move_to(WEDNESDAY + timedelta(seconds=30), recorder(clock, ran))
    finally:
        t.close()
    assert [(j, at - WEDNESDAY) for j, at, _ in ran] == [
        ("resume-deployments", timedelta(seconds=10)),
        ("resume-deployments", timedelta(seconds=20)),
        ("expire-approvals", timedelta(seconds=30)),
        ("resume-deployments", timedelta(seconds=30)),
        ("refresh-checklists", timedelta(seconds=30)),
    ]


def test_a_tick_that_moves_the_clock_on_never_sends_it_back(
        timeline: Timeline, clock: ManualClock) -> None:
    ran: Ran = []

    def bake(job_id: str) -> None:  # the first tick sets off a 5-minute bake window
        if len(ran) == 1:
            clock.advance(timedelta(minutes=5))

    timeline.move_to(WEDNESDAY + timedelta(minutes=6), recorder(clock, ran, also=bake))
    nows = [now for _, _, now in ran]
    assert nows == sorted(nows)
    # Every job whose tick was passed meanwhile ran once, at 15:05:10 (in the order of the
    # ticks passed), then on its own ticks again.
    after = WEDNESDAY + timedelta(minutes=5, seconds=10)
    assert ran[1][2] == after
    assert [j for j, at, now in ran if at == now == after] == [
        "expire-approvals", "refresh-checklists", "announce", "release-scheduled",
        "expire-locks", "poll-github", "daily-summary", "tell-interrupted", "check-live"]
    assert [at - WEDNESDAY for j, at, _ in ran if j == "resume-deployments"] == [
        timedelta(seconds=10), timedelta(minutes=5, seconds=20),
        timedelta(minutes=5, seconds=30), timedelta(minutes=5, seconds=40),
        timedelta(minutes=5, seconds=50), timedelta(minutes=6)]
    assert clock.now() == WEDNESDAY + timedelta(minutes=6)


def test_time_only_moves_forward(timeline: Timeline, clock: ManualClock) -> None:
    with pytest.raises(TimeError, match="time only moves forward: it is already Wed "
                                        "2026-11-18 10:00"):
        timeline.move_to(WEDNESDAY - timedelta(minutes=1), recorder(clock, []))
    with pytest.raises(TimeError, match="move at most 60 days"):
        timeline.move_to(WEDNESDAY + timedelta(days=61), recorder(clock, []))
    assert clock.now() == WEDNESDAY


def test_ticks_that_would_find_nothing_are_skipped_and_one_with_work_runs_at_its_time(
        container: Container, clock: ManualClock) -> None:
    # Nothing queued, awaiting approval or announced; polling, checklists and the daily
    # summary off: of the jobs, only check-live cannot tell when it has work.
    with container.database.transaction() as r:
        r.locks.acquire(environment="staging", service="api", holder=REQUESTER,
                        reason="migration", at=WEDNESDAY,
                        expires_at=WEDNESDAY + timedelta(minutes=7, seconds=30))
    t = Timeline(container, clock)
    try:
        ran: Ran = []
        assert t.move_to(WEDNESDAY + timedelta(minutes=20), recorder(clock, ran, call=True)) == 5
        ran_after = len(ran)
        t.move_to(WEDNESDAY + timedelta(minutes=30), recorder(clock, ran, call=True))
    finally:
        t.close()
    assert [(j, at - WEDNESDAY) for j, at, _ in ran] == [
        ("check-live", timedelta(minutes=5)),
        ("expire-locks", timedelta(minutes=8)),  # the first minute after it expired
        ("check-live", timedelta(minutes=10)),
        ("check-live", timedelta(minutes=15)),
        ("check-live", timedelta(minutes=20)),
        ("check-live", timedelta(minutes=25)),
        ("check-live", timedelta(minutes=30)),
    ]
    assert ran_after == 5
    assert all(now == at for _, at, now in ran)
    with container.database.transaction() as r:
        assert r.locks.active(clock.now()) == []
