"""DailySummary on a real database (SQLite, or PostgreSQL from TEST_DATABASE_URL) and a
real local SMTP server (aiosmtpd): at the configured time, in the team's time zone, one
email with the day's deployments per environment and the low-severity events — and not a
second one, run again or by another process; the server down is retried and logged, and
the next run sends it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.backends.smtp import SmtpMailer, SmtpSettings
from bot.clock import ManualClock
from bot.config import AppConfig
from bot.domain.deployment import Kind, NewDeployment
from bot.domain.states import State
from bot.services.daily_summary import DailySummary, summary_key
from bot.store.db import Database
from tests.backends.fake_smtp import FakeSmtp, free_port
from tests.conftest import base_config
from tests.ended import ended

NY = ZoneInfo("America/New_York")
SEND_AT = datetime(2026, 11, 18, 17, 30, tzinfo=NY)


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(alerts={
        "routes": {"critical": ["slack:#ops-alerts"], "low": ["summary"]},
        "attempts": 3, "backoff": 0.01,
        "email": {"to": ["ops@acme.test", "cto@acme.test"], "from": "deploybot@acme.test",
                  "send_at": "17:30", "subject": "Deploys"}})


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


class Summaries:
    def __init__(self, config: AppConfig, database_url: str, clock: ManualClock) -> None:
        self.config, self.url, self.clock = config, database_url, clock
        self.databases: list[Database] = []
        self.sleeps: list[float] = []

    def make(self, port: int) -> DailySummary:
        """One process's summary service, on its own Database object."""
        database = Database.from_url(self.url)
        self.databases.append(database)
        settings = SmtpSettings.from_env({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)})
        assert settings is not None
        return DailySummary(config=self.config, store=database, clock=self.clock,
                            mailer=SmtpMailer(settings, timeout=5), sleep=self.sleeps.append)


@pytest.fixture
def summaries(config: AppConfig, database_url: str, clock: ManualClock) -> Iterator[Summaries]:
    made = Summaries(config, database_url, clock)
    yield made
    for db in made.databases:
        db.dispose()


def add(database: Database, state: State, environment: str, at: datetime, *,
        version: str = "v1.2.3", kind: Kind = Kind.DEPLOY, error: str | None = None) -> int:
    with database.transaction() as r:
        return ended(r, NewDeployment(
            service="api", environment=environment, version=version, previous_version="v1",
            state=state, requested_by="U0ALICE", requested_at=at - timedelta(minutes=5),
            approvals_required=0, expires_at=None, kind=kind), at=at, finished_at=at,
            error=error).id


def seed(database: Database) -> list[int]:
    day = datetime(2026, 11, 18, tzinfo=NY)
    return [
        add(database, State.SUCCEEDED, "staging", day.replace(hour=9)),
        add(database, State.SUCCEEDED, "production", day.replace(hour=11), version="v1.2.3"),
        add(database, State.FAILED, "production", day.replace(hour=14), version="v1.2.4-bad",
            error="rollout failed"),
        add(database, State.SUCCEEDED, "production", SEND_AT + timedelta(minutes=1),
            version="tomorrows"),  # after the send time: tomorrow's summary
        add(database, State.SUCCEEDED, "staging", SEND_AT - timedelta(days=1, minutes=1),
            version="yesterdays"),  # before the window: yesterday's
    ]


def test_one_email_with_the_days_deployments_at_the_configured_time(
        summaries: Summaries, smtp: FakeSmtp) -> None:
    service = summaries.make(smtp.port)
    ids = seed(summaries.databases[0])
    assert service.send_due(at=SEND_AT - timedelta(minutes=1)) is None  # 17:29: not yet
    assert smtp.messages == []
    assert service.send_due(at=SEND_AT) == SEND_AT.date()
    (mail,) = smtp.messages
    assert mail.recipients == ("ops@acme.test", "cto@acme.test")
    assert mail.sender == "deploybot@acme.test"
    assert mail.message["Subject"] == "Deploys — Wed 18 Nov 2026: 3 deployments"
    body = mail.body
    assert "Deployments from Tue 17 Nov 17:30 to Wed 18 Nov 17:30 (America/New_York):" in body
    assert "staging: 1 deployment, 1 succeeded, 0 failed" in body
    assert "production: 2 deployments, 1 succeeded, 1 failed" in body
    assert f"  #{ids[1]} Wed 11:00 api deploy v1.2.3: succeeded (by U0ALICE)" in body
    assert f"  #{ids[2]} Wed 14:00 api deploy v1.2.4-bad: failed (by U0ALICE) — rollout failed" \
        in body
    assert "tomorrows" not in body and "yesterdays" not in body
    # the two routine successes are the low-severity events (the failure is critical)
    assert "Low-severity events (2):" in body
    assert f"[low] api v1.2.3 is live in staging (#{ids[0]})" in body
    assert f"[low] api v1.2.3 is live in production (#{ids[1]})" in body


def test_not_a_second_one_run_again_or_by_another_process(summaries: Summaries,
                                                          smtp: FakeSmtp) -> None:
    first, second = summaries.make(smtp.port), summaries.make(smtp.port)
    assert first.send_due(at=SEND_AT) == SEND_AT.date()
    assert first.send_due(at=SEND_AT + timedelta(minutes=1)) is None
    assert second.send_due(at=SEND_AT + timedelta(minutes=2)) is None
    assert second.send_due(at=SEND_AT + timedelta(hours=6)) is None  # 23:30, same day
    assert len(smtp.messages) == 1
    # the next day's is due the next day
    assert second.send_due(at=SEND_AT + timedelta(days=1)) == (SEND_AT + timedelta(days=1)
                                                               ).date()
    assert len(smtp.messages) == 2


def test_smtp_down_is_retried_logged_and_sent_by_a_later_run(
        summaries: Summaries, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nobody listens there yet
    service = summaries.make(port)
    with caplog.at_level(logging.WARNING, logger="bot.services.daily_summary"):
        assert service.send_due(at=SEND_AT) is None
    assert summaries.sleeps == [0.01, 0.02]  # 3 attempts, backoff doubled
    assert "could not send it after 3 attempts" in caplog.text
    assert "unreachable" in caplog.text
    with summaries.databases[0].transaction() as r:
        assert not r.announcements.claimed(summary_key(SEND_AT.date()))  # released
    with FakeSmtp(port=port) as up:  # the server is back
        assert service.send_due(at=SEND_AT + timedelta(minutes=1)) == SEND_AT.date()
        assert len(up.messages) == 1


def test_a_server_saying_try_later_once_is_retried_in_the_same_run(
        summaries: Summaries, smtp: FakeSmtp) -> None:
    smtp.fail(1)
    assert summaries.make(smtp.port).send_due(at=SEND_AT) == SEND_AT.date()
    assert smtp.refused == 1 and len(smtp.messages) == 1


def test_a_refusal_is_logged_and_not_retried_all_day(summaries: Summaries, smtp: FakeSmtp,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    smtp.fail(1, "554 5.7.1 relay denied")
    service = summaries.make(smtp.port)
    with caplog.at_level(logging.ERROR, logger="bot.services.daily_summary"):
        assert service.send_due(at=SEND_AT) is None
        assert service.send_due(at=SEND_AT + timedelta(minutes=1)) is None
    assert smtp.refused == 1 and smtp.messages == []
    assert "not sent: SMTP server 127.0.0.1" in caplog.text and "554" in caplog.text


def test_two_processes_at_the_same_moment_send_one(summaries: Summaries,
                                                   smtp: FakeSmtp) -> None:
    services = [summaries.make(smtp.port) for _ in range(4)]
    barrier = threading.Barrier(len(services))

    def run(service: DailySummary) -> object:
        barrier.wait()
        return service.send_due(at=SEND_AT)

    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        results = list(pool.map(run, services))
    assert results.count(SEND_AT.date()) == 1 and results.count(None) == 3
    assert len(smtp.messages) == 1
