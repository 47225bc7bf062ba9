"""FreezeService on the real store (SQLite, or PostgreSQL with TEST_DATABASE_URL): adding and
removing freezes (role-checked, audited, announced), the list from every source, the status."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.backends.holiday_calendar import HolidayLibrary
from bot.clock import ManualClock
from bot.config import AppConfig
from bot.domain.freeze_commands import FreezeAddArgs
from bot.errors import Conflict, Forbidden, NotFound, RetryableError
from bot.services.access import Access
from bot.services.announcements import AnnouncementService
from bot.services.freezes import FreezeService
from bot.services.policy import PolicyService
from bot.store.db import Database
from bot.store.models import AuditRow, FreezeRow
from tests.conftest import REQUESTER, WEDNESDAY, base_config

MANAGER, GROUP_MANAGER = "U0FRANK", "U0GRACE"
NY = ZoneInfo("America/New_York")
GUIDE = {"monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
         "thursday": "anytime", "friday": {"until": "14:00"},
         "saturday": "emergency_only", "sunday": "emergency_only"}


def guide_config(**overrides: Any) -> dict[str, Any]:
    """The shipped app.yaml's rules, on the test config: freeze managers, the guide's
    production schedule, US holidays, Black Friday / Cyber Monday, a maintenance window."""
    cfg = base_config(
        roles={"deployers": [REQUESTER], "approvers": ["U0BOB"],
               "freeze_managers": [MANAGER, "S0FREEZE"]},
        environments={
            "staging": {},
            "production": {"approval": {"required": 1, "approvers": ["approvers"]},
                           "schedule": GUIDE},
        },
        freezes={
            "managers": ["freeze_managers"],
            "holidays": [{"country": "US", "environments": ["production"],
                          "names": ["New Year's Day", "Independence Day",
                                    "Thanksgiving Day", "Christmas Day"]}],
            "black_friday_cyber_monday": {"environments": ["production"]},
            "windows": [{"name": "Year-end maintenance window", "start": "2026-12-29 20:00",
                         "end": "2026-12-30 02:00", "reason": "database failover drill",
                         "environments": ["production"]}],
        },
    )
    cfg.update(overrides)
    return cfg


@pytest.fixture
def config_data() -> dict[str, Any]:
    return guide_config()


class FakeDirectory:
    def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset({GROUP_MANAGER}) if group_id == "S0FREEZE" else frozenset()


class RecordingPoster:
    """The Poster port: records what would be posted in the deployments channel."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.fail = False

    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        if self.fail:
            raise RetryableError("Slack API error ratelimited")
        self.posts.append(text)
        return "C0DEPLOYS", f"{len(self.posts)}.000"


class World:
    def __init__(self, config: AppConfig, database: Database, clock: ManualClock) -> None:
        self.config, self.db, self.clock = config, database, clock
        self.poster = RecordingPoster()
        self.policy = PolicyService(config=config, store=database, holidays=HolidayLibrary())
        self.service = FreezeService(config=config, store=database, policy=self.policy,
                                     access=Access(config, FakeDirectory()), clock=clock,
                                     poster=self.poster)

    def args(self, text: str) -> FreezeAddArgs:
        parsed = self.service.parse("add " + text)
        assert isinstance(parsed, FreezeAddArgs)
        return parsed

    def rows(self) -> list[FreezeRow]:
        with Session(self.db.engine) as s:
            return list(s.scalars(select(FreezeRow).order_by(FreezeRow.id)))

    def audit(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self.db.engine.connect() as conn:
            return [(r.action, r.actor, r.details) for r in
                    conn.execute(select(AuditRow).order_by(AuditRow.id))]


@pytest.fixture
def world(config: AppConfig, database_url: str, clock: ManualClock) -> Iterator[World]:
    database = Database.from_url(database_url)
    try:
        yield World(config, database, clock)
    finally:
        database.dispose()


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


OFFSITE = '"Company offsite" 2026-12-10 09:00 to 2026-12-11 18:00'


# -- add ------------------------------------------------------------------------------------

def test_a_manager_adds_a_freeze_stored_audited_and_announced(world: World) -> None:
    change = world.service.add(world.args(OFFSITE + ' production --reason "all hands"'),
                               user_id=MANAGER)

    rf = change.freeze
    assert (change.by, change.announced) == (MANAGER, True)
    assert rf.number >= 1 and rf.freeze.id == f"runtime:{rf.number}"
    assert (rf.freeze.name, rf.freeze.start, rf.freeze.end) == (
        "Company offsite", ny(2026, 12, 10, 9, 0), ny(2026, 12, 11, 18, 0))
    assert rf.freeze.environments == frozenset({"production"})
    assert (rf.freeze.reason, rf.created_by, rf.created_at) == ("all hands", MANAGER, WEDNESDAY)
    with world.db.transaction() as r:
        assert [x.number for x in r.freezes.current(WEDNESDAY)] == [rf.number]
    assert world.audit() == [("freeze.added", MANAGER, {
        "number": rf.number, "name": "Company offsite",
        "start": "2026-12-10T14:00:00+00:00", "end": "2026-12-11T23:00:00+00:00",
        "reason": "all hands", "environments": ["production"]})]
    (post,) = world.poster.posts
    assert post.startswith(f"🧊 <@{MANAGER}> added freeze #{rf.number}: *Company offsite* freeze")
    assert "Thu 2026-12-10 09:00 EST → Fri 2026-12-11 18:00 EST · production — all hands" in post


def test_a_member_of_the_managers_user_group_may_add(world: World) -> None:
    change = world.service.add(world.args(OFFSITE), user_id=GROUP_MANAGER)
    assert change.freeze.created_by == GROUP_MANAGER
    assert change.freeze.freeze.environments is None  # all environments
    assert len(world.rows()) == 1


def test_a_non_member_is_refused_naming_the_role_and_nothing_is_stored(world: World) -> None:
    with pytest.raises(Forbidden) as e:
        world.service.add(world.args(OFFSITE), user_id=REQUESTER)
    assert "You may not add freezes: that needs the `freeze_managers` role" in e.value.message
    assert world.rows() == []
    assert world.audit() == []
    assert world.poster.posts == []


def test_a_freeze_that_ended_while_waiting_is_refused(world: World) -> None:
    args = world.args('"Short" 2026-11-18 10:00 to 2026-11-18 10:30')
    world.clock.set(ny(2026, 11, 18, 10, 30))
    with pytest.raises(Conflict, match="over already: it ended Wed 2026-11-18 10:30 EST"):
        world.service.add(args, user_id=MANAGER)
    assert world.rows() == []


def test_a_failed_announcement_keeps_the_freeze_and_says_so(world: World) -> None:
    world.poster.fail = True
    change = world.service.add(world.args(OFFSITE), user_id=MANAGER)
    assert change.announced is False
    assert [row.name for row in world.rows()] == ["Company offsite"]
    assert [a[0] for a in world.audit()] == ["freeze.added"]


def test_numbers_are_distinct_and_increasing(world: World) -> None:
    a = world.service.add(world.args(OFFSITE), user_id=MANAGER).freeze.number
    b = world.service.add(world.args('"Second" 2026-12-12 to 2026-12-12'),
                          user_id=MANAGER).freeze.number
    assert b > a


# -- remove ---------------------------------------------------------------------------------

def test_a_manager_removes_a_freeze_audited_and_announced(world: World) -> None:
    n = world.service.add(world.args(OFFSITE), user_id=MANAGER).freeze.number
    world.clock.advance(timedelta(hours=1))

    change = world.service.remove(n, GROUP_MANAGER)

    assert (change.freeze.number, change.by, change.announced) == (n, GROUP_MANAGER, True)
    (row,) = world.rows()
    assert (row.removed_by, row.removed_at) == (GROUP_MANAGER, WEDNESDAY + timedelta(hours=1))
    with world.db.transaction() as r:
        assert r.freezes.get(n) is None
        assert list(r.freezes.current(WEDNESDAY)) == []
    assert [(a, who) for a, who, _ in world.audit()] == [("freeze.added", MANAGER),
                                                          ("freeze.removed", GROUP_MANAGER)]
    removed = world.audit()[1][2]
    assert removed["number"] == n and removed["created_by"] == MANAGER
    assert world.poster.posts[1].startswith(f"🔓 <@{GROUP_MANAGER}> removed freeze #{n}: "
                                            "*Company offsite* freeze")


def test_removing_twice_or_an_unknown_number_is_not_found(world: World) -> None:
    n = world.service.add(world.args(OFFSITE), user_id=MANAGER).freeze.number
    world.service.remove(n, MANAGER)
    with pytest.raises(NotFound, match=f"There is no freeze #{n} to remove"):
        world.service.remove(n, MANAGER)
    with pytest.raises(NotFound, match="There is no freeze #999 to remove"):
        world.service.remove(999, MANAGER)
    assert [a for a, _, _ in world.audit()] == ["freeze.added", "freeze.removed"]
    assert len(world.poster.posts) == 2


def test_a_non_member_cannot_remove(world: World) -> None:
    n = world.service.add(world.args(OFFSITE), user_id=MANAGER).freeze.number
    with pytest.raises(Forbidden, match="You may not remove freezes: that needs the "
                                        "`freeze_managers` role"):
        world.service.remove(n, REQUESTER)
    (row,) = world.rows()
    assert row.removed_at is None
    assert [a for a, _, _ in world.audit()] == ["freeze.added"]


def test_a_freeze_that_is_over_cannot_be_removed(world: World) -> None:
    n = world.service.add(world.args('"Short" 2026-11-18 11:00 to 2026-11-18 12:00'),
                          user_id=MANAGER).freeze.number
    world.clock.set(ny(2026, 11, 18, 12, 0))
    with pytest.raises(Conflict, match=f"Freeze #{n} \\(Short\\) is over already"):
        world.service.remove(n, MANAGER)
    (row,) = world.rows()
    assert row.removed_at is None


def test_a_runtime_freeze_blocks_deploys_until_removed(world: World) -> None:
    inside = ny(2026, 12, 10, 12, 0)  # a Thursday: the schedule is open
    assert world.policy.check("production", "api", at=inside).allowed
    n = world.service.add(world.args(OFFSITE), user_id=MANAGER).freeze.number

    d = world.policy.check("production", "api", at=inside)
    assert not d.allowed
    assert d.blocked_by == (f"freeze:runtime:{n}",)
    assert d.reasons == ("Company offsite freeze until Fri 2026-12-11 18:00 EST",)
    assert d.next_allowed_at == ny(2026, 12, 14, 0, 0)  # Friday 18:00 is past the cut-off
    staging = world.policy.check("staging", "api", at=inside)  # all environments: staging too
    assert not staging.allowed and staging.next_allowed_at == ny(2026, 12, 11, 18, 0)

    world.service.remove(n, MANAGER)
    assert world.policy.check("production", "api", at=inside).allowed


# -- list -----------------------------------------------------------------------------------

def test_the_list_has_every_source_for_the_next_30_days(world: World) -> None:
    offsite = world.service.add(world.args(OFFSITE), user_id=MANAGER).freeze.number
    world.service.add(world.args('"Too far" 2026-12-19 to 2026-12-20'), user_id=MANAGER)
    gone = world.service.add(world.args('"Removed" 2026-12-01 to 2026-12-02'),
                             user_id=MANAGER).freeze.number
    world.service.remove(gone, MANAGER)

    listing = world.service.list()

    assert listing.at == WEDNESDAY and listing.within == timedelta(days=30)
    got = [(e.freeze.name, e.freeze.source, e.number, e.created_by, e.active)
           for e in listing.entries]
    assert got == [
        ("Thanksgiving Day", "holiday", None, None, False),
        ("Black Friday / Cyber Monday", "rule", None, None, False),
        ("Company offsite", "runtime", offsite, MANAGER, False),
    ]  # Christmas, the year-end window and "Too far" start after 2026-12-18 10:00


def test_the_list_marks_what_is_active_and_drops_what_is_over(world: World) -> None:
    world.clock.set(ny(2026, 11, 28, 12, 0))  # Saturday of the Black Friday weekend
    got = [(e.freeze.name, e.active) for e in world.service.list().entries]
    assert got == [("Black Friday / Cyber Monday", True), ("Christmas Day", False)]
    world.clock.set(ny(2026, 12, 1, 0, 0))  # the freeze ends at this instant: not listed
    assert [e.freeze.name for e in world.service.list().entries] == [
        "Christmas Day", "Year-end maintenance window"]


# -- status ---------------------------------------------------------------------------------

def test_status_per_environment_open_now_and_the_next_change(world: World) -> None:
    n = world.service.add(world.args(OFFSITE), user_id=MANAGER).freeze.number
    st = world.service.status()
    staging, prod = st.environments
    assert (prod.environment, staging.environment) == ("production", "staging")
    assert prod.decision.allowed and not prod.decision.blocked
    assert prod.next_change == ny(2026, 11, 20, 14, 0)  # the Friday cut-off
    assert [f.id for f in prod.upcoming] == ["holiday:US:2026-11-26", "rule:bfcm:2026",
                                             f"runtime:{n}"]
    assert staging.decision.allowed
    assert staging.next_change is None  # the offsite is more than 14 days ahead
    assert [f.id for f in staging.upcoming] == [f"runtime:{n}"]

    world.clock.set(ny(2026, 12, 1, 12, 0))
    staging, prod = world.service.status().environments
    assert staging.next_change == ny(2026, 12, 10, 9, 0)  # the offsite freezes everything
    assert prod.next_change == ny(2026, 12, 4, 14, 0)  # Friday's cut-off comes first


def test_status_when_closed_says_why_and_when_it_opens(world: World) -> None:
    world.clock.set(ny(2026, 11, 20, 14, 5))
    staging, prod = world.service.status().environments
    assert prod.decision.blocked
    assert prod.decision.reasons == (
        "deploys to production are allowed Friday only before 14:00 (America/New_York)",)
    assert prod.next_change == prod.decision.next_allowed_at == ny(2026, 11, 23, 0, 0)
    assert not staging.decision.blocked and staging.next_change is None


def test_a_freeze_added_less_than_a_warning_ahead_is_not_logged_as_missed(
    world: World, caplog: pytest.LogCaptureFixture,
) -> None:
    """Added 30 minutes before it starts, the freeze's 24 h and 1 h warnings were due before
    it existed: the announcement job logged each as 'skipped … (was the bot down?)' — a
    WARNING about downtime nobody had, at every freeze added at short notice — or, added
    within the grace after a warning's time, posted 'starts in 1 hour' 55 minutes before.
    The add's own announcement says when it starts: what was due by then is let go, quietly;
    what is due later (its start, its end) is posted as usual."""
    start = WEDNESDAY + timedelta(minutes=30)
    local_start = start.astimezone(NY)
    end = local_start + timedelta(hours=2)
    change = world.service.add(world.args(
        f'"DB upgrade" {local_start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} production'),
        user_id=MANAGER)
    announcements = AnnouncementService(config=world.config, store=world.db,
                                        policy=world.policy, poster=world.poster,
                                        clock=world.clock)
    with caplog.at_level(logging.WARNING, logger="bot.services.announcements"):
        posted = announcements.post_due(at=WEDNESDAY + timedelta(minutes=1))
        started = announcements.post_due(at=start)
    assert caplog.records == []
    assert posted == []
    assert started == [f"freeze:{change.freeze.freeze.id}@{start:%Y-%m-%dT%H:%M:%SZ}:start"]
