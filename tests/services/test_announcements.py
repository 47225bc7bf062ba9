"""AnnouncementService on a real database (SQLite, or PostgreSQL from TEST_DATABASE_URL) and
the fake Slack Web API: each announcement is posted once — called twice, from two services on
two Database objects at once, after a failed post, and after downtime (nothing stale)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.backends.holiday_calendar import HolidayLibrary
from bot.backends.slack import SlackNotifier, make_client
from bot.clock import ManualClock
from bot.config import AppConfig
from bot.services.announcements import AnnouncementService
from bot.services.policy import PolicyService
from bot.store.db import Database
from bot.store.models import AnnouncementRow
from devtools.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, base_config

NY = ZoneInfo("America/New_York")
CHANNEL = "C0DEPLOYS"
H = timedelta(hours=1)

OFFSITE = "freeze:config:company-offsite@2026-12-10T14:00:00Z"  # 09:00 EST
DRILL = "freeze:config:failover-drill@2026-12-10T13:05:00Z"  # 08:05 EST
FRIDAY_CLOSE = "schedule:production:closes:2026-11-20T19:00:00Z:warn:1h"


def ny(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=NY)


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(
        environments={
            "staging": {},
            "production": {
                "approval": {"required": 1, "approvers": ["approvers"]},
                "schedule": {"monday": "anytime", "tuesday": "anytime",
                             "wednesday": "anytime", "thursday": "anytime",
                             "friday": {"until": "14:00"}},
            },
        },
        freezes={
            "windows": [
                {"name": "Company offsite", "start": "2026-12-10 09:00",
                 "end": "2026-12-11 18:00", "reason": "everyone is travelling",
                 "environments": ["production"]},
                {"name": "Failover drill", "start": "2026-12-10 08:05",
                 "end": "2026-12-10 08:35"},
            ],
            "black_friday_cyber_monday": {"environments": ["production"]},
        },
    )


@dataclass
class Bot:
    service: AnnouncementService
    database: Database


@pytest.fixture
def make_bot(config: AppConfig, database_url: str, fake_slack: FakeSlack,
             clock: ManualClock) -> Iterator[Any]:
    """A bot's announcement service, on its own Database object (like one process)."""
    made: list[Database] = []

    def make() -> Bot:
        database = Database.from_url(database_url)
        made.append(database)
        notifier = SlackNotifier(make_client(BOT_TOKEN, fake_slack.base_url),
                                 channel=config.slack.deployments_channel, zone=config.zone)
        policy = PolicyService(config=config, store=database, holidays=HolidayLibrary())
        service = AnnouncementService(config=config, store=database, policy=policy,
                                      poster=notifier, clock=clock)
        return Bot(service, database)

    yield make
    for d in made:
        d.dispose()


@pytest.fixture
def bot(make_bot: Any) -> Bot:
    b: Bot = make_bot()
    return b


def posted_texts(fake: FakeSlack) -> list[str]:
    return [str(m["text"]) for m in fake.messages(CHANNEL)]


def row(database: Database, key: str) -> AnnouncementRow | None:
    with database.engine.connect() as conn:
        r = conn.execute(select(AnnouncementRow.__table__).where(
            AnnouncementRow.key == key)).first()
    return None if r is None else AnnouncementRow(**r._mapping)


def test_the_friday_cut_off_warning_is_posted_once(bot: Bot, fake_slack: FakeSlack) -> None:
    at = ny(2026, 11, 20, 13, 0, 20)
    assert bot.service.post_due(at=at) == [FRIDAY_CLOSE]
    assert bot.service.post_due(at=at) == []
    assert bot.service.post_due(at=at + timedelta(minutes=5)) == []
    assert posted_texts(fake_slack) == [
        "⏰ production closes for normal deploys in 1 hour (Fri 2026-11-20 14:00 EST); "
        "next window Mon 2026-11-23 00:00 EST."]
    recorded = row(bot.database, FRIDAY_CLOSE)
    assert recorded is not None
    message = fake_slack.messages(CHANNEL)[0]
    assert (recorded.channel, recorded.ts) == (CHANNEL, message["ts"])
    assert recorded.due_at == ny(2026, 11, 20, 13, 0)


def test_a_freeze_from_warning_to_end(bot: Bot, fake_slack: FakeSlack) -> None:
    """Every 5 minutes through the offsite: four announcements, each once, on time."""
    t, end = ny(2026, 12, 9, 8, 0), ny(2026, 12, 11, 18, 30)
    posted: dict[str, datetime] = {}
    while t < end:
        for key in bot.service.post_due(at=t):
            assert key not in posted
            posted[key] = t
        t += timedelta(minutes=5)
    offsite = {k: v for k, v in posted.items() if k.startswith(OFFSITE)}
    assert offsite == {
        f"{OFFSITE}:warn:24h": ny(2026, 12, 9, 9, 0),
        f"{OFFSITE}:warn:1h": ny(2026, 12, 10, 8, 0),
        f"{OFFSITE}:start": ny(2026, 12, 10, 9, 0),
        f"{OFFSITE}:end": ny(2026, 12, 11, 18, 0),
    }
    # The drill (all environments) too; Friday's 14:00 close is inside the offsite: silent.
    assert sorted(k for k in posted if not k.startswith(OFFSITE)) == sorted(
        f"{DRILL}:{s}" for s in ("warn:24h", "warn:1h", "start", "end"))
    texts = posted_texts(fake_slack)
    assert len(texts) == 8
    offsite_texts = [t for t in texts if "Company offsite" in t]
    assert "starts in 24 hours (Thu 2026-12-10 09:00 EST)" in offsite_texts[0]
    assert all("production" in t and "all environments" not in t for t in offsite_texts)
    assert any("*Failover drill* freeze starts in 1 hour" in t and "all environments" in t
               for t in texts)


def test_runtime_freezes_are_announced(bot: Bot, fake_slack: FakeSlack) -> None:
    with bot.database.transaction() as r:
        f = r.freezes.add(name="Database upgrade", start=ny(2026, 11, 19, 10),
                          end=ny(2026, 11, 19, 12), reason="postgres 17",
                          environments=["staging"], created_by="U0CAROL",
                          at=ny(2026, 11, 18, 10))
    key = f"freeze:{f.freeze.id}@2026-11-19T15:00:00Z:warn:1h"
    assert bot.service.post_due(at=ny(2026, 11, 19, 9, 1)) == [key]
    assert posted_texts(fake_slack) == [
        "⚠️ The *Database upgrade* freeze (postgres 17) starts in 1 hour (Thu 2026-11-19 "
        "10:00 EST) and lasts until Thu 2026-11-19 12:00 EST: no normal deploys to staging "
        "during it. Ship what must go out before then."]


def test_two_processes_at_once_post_each_announcement_once(
    make_bot: Any, fake_slack: FakeSlack
) -> None:
    bots = [make_bot(), make_bot()]
    at = ny(2026, 12, 10, 8, 6)  # offsite 1h warning (08:00) and drill start (08:05) due
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)
    lock = threading.Lock()

    def work(b: Bot) -> None:
        try:
            barrier.wait()
            for i in range(3):
                keys = b.service.post_due(at=at + timedelta(seconds=i))
                with lock:
                    results.append(keys)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(b,)) for b in bots for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    keys = [k for r in results for k in r]
    assert sorted(keys) == sorted([f"{OFFSITE}:warn:1h", f"{DRILL}:start"])
    assert len(fake_slack.calls("chat.postMessage")) == 2
    assert len(posted_texts(fake_slack)) == 2
    # The drill's warnings were due long ago (the bot was not running): skipped, not posted.
    assert bots[0].service.post_due(at=at + timedelta(minutes=1)) == []
    assert row(bots[1].database, f"{DRILL}:warn:1h") is not None


def test_a_failed_post_releases_the_claim_and_a_later_run_posts_it(
    bot: Bot, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.fail_next("chat.postMessage")
    at = ny(2026, 11, 20, 13, 0, 20)
    with caplog.at_level(logging.WARNING, logger="bot.services.announcements"):
        assert bot.service.post_due(at=at) == []
    assert "could not be posted" in caplog.text
    assert posted_texts(fake_slack) == []
    assert row(bot.database, FRIDAY_CLOSE) is None  # released
    assert bot.service.post_due(at=at + timedelta(minutes=1)) == [FRIDAY_CLOSE]
    assert len(posted_texts(fake_slack)) == 1
    assert bot.service.post_due(at=at + timedelta(minutes=2)) == []
    assert len(fake_slack.calls("chat.postMessage")) == 2  # the failed one and the post


def test_a_post_failing_until_the_grace_is_over_is_given_up(
    bot: Bot, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", error="not_in_channel", times=11)
    due = ny(2026, 11, 20, 13, 0)
    for minute in range(11):  # 13:00 to 13:10: still within the 10 minutes of grace
        assert bot.service.post_due(at=due + timedelta(minutes=minute)) == []
    assert bot.service.post_due(at=due + timedelta(minutes=10, seconds=1)) == []
    assert posted_texts(fake_slack) == []
    assert len(fake_slack.calls("chat.postMessage")) == 11
    recorded = row(bot.database, FRIDAY_CLOSE)
    assert recorded is not None and recorded.ts is None  # skipped for good


def test_a_restart_after_downtime_posts_nothing_stale(
    make_bot: Any, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    due = ny(2026, 11, 20, 13, 0)
    restarted = make_bot()  # a new process, after being down over the warning
    with caplog.at_level(logging.WARNING, logger="bot.services.announcements"):
        assert restarted.service.post_due(at=due + H) == []
    assert posted_texts(fake_slack) == []
    assert f"announcement {FRIDAY_CLOSE} skipped" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.services.announcements"):
        assert make_bot().service.post_due(at=due + H + timedelta(minutes=1)) == []
    assert "skipped" not in caplog.text  # said once
    assert posted_texts(fake_slack) == []


def test_the_grace_is_inclusive(bot: Bot, fake_slack: FakeSlack) -> None:
    due = ny(2026, 11, 20, 13, 0)
    assert bot.service.post_due(at=due + timedelta(minutes=10)) == [FRIDAY_CLOSE]
    assert len(posted_texts(fake_slack)) == 1


def test_nothing_is_posted_before_it_is_due(bot: Bot, fake_slack: FakeSlack) -> None:
    assert bot.service.post_due(at=ny(2026, 11, 20, 12, 59, 59)) == []
    assert fake_slack.calls("chat.postMessage") == []


def test_plan_lists_keys_due_times_and_texts(bot: Bot) -> None:
    planned = bot.service.plan(start=ny(2026, 11, 26), end=ny(2026, 12, 2))
    assert [(a.key, a.due_at) for a in planned] == [
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:warn:24h", ny(2026, 11, 26, 0, 0)),
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:warn:1h", ny(2026, 11, 26, 23, 0)),
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:start", ny(2026, 11, 27, 0, 0)),
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:end", ny(2026, 12, 1, 0, 0)),
    ]
    assert planned[2].text.startswith(
        "🧊 The *Black Friday / Cyber Monday* freeze (peak traffic) has started: normal "
        "deploys to production are blocked until Tue 2026-12-01 00:00 EST.")
    assert all(a.due_at.tzinfo is not None and a.due_at.utcoffset() == timedelta(0)
               for a in planned)
    assert planned[0].due_at == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


def test_a_session_begun_late_lets_go_of_what_is_stale_quietly_once(
    bot: Bot, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """`deploybot shell --at` begins after the Friday warning was due: skip_stale claims it
    without the warning (the shell says it in a line of its own); post_due then neither
    posts it nor warns; a second call finds nothing. An announcement still within the grace
    is left for post_due, which posts it (late, as after a short outage)."""
    due = ny(2026, 11, 20, 13, 0)
    with caplog.at_level(logging.WARNING, logger="bot.services.announcements"):
        stale = bot.service.skip_stale(at=due + timedelta(minutes=30))
        assert [a.key for a in stale] == [FRIDAY_CLOSE]
        assert stale[0].due_at == due and stale[0].text.startswith("⏰ production closes")
        assert bot.service.post_due(at=due + timedelta(minutes=31)) == []
        assert bot.service.skip_stale(at=due + timedelta(minutes=32)) == []
    assert caplog.records == []
    assert posted_texts(fake_slack) == []
    recorded = row(bot.database, FRIDAY_CLOSE)
    assert recorded is not None and recorded.ts is None

    within = ny(2026, 12, 4, 13, 0)  # a later Friday's warning, 5 minutes ago
    assert bot.service.skip_stale(at=within + timedelta(minutes=5)) == []
    posted = bot.service.post_due(at=within + timedelta(minutes=5))
    assert posted == ["schedule:production:closes:2026-12-04T19:00:00Z:warn:1h"]
