"""PolicyService: every freeze source gathered, the guide's windows, the rollback rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.backends.holiday_calendar import HolidayLibrary
from bot.config import parse_config
from bot.services.policy import PolicyService
from bot.store.db import Database
from tests.conftest import base_config

NY = ZoneInfo("America/New_York")
GUIDE = {"monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
         "thursday": "anytime", "friday": {"until": "14:00"}, "saturday": "emergency_only",
         "sunday": "emergency_only"}


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def policy(database_url: str, *, ignore_windows: bool = True, **extra: Any) -> PolicyService:
    data = base_config(**extra)
    data["environments"]["production"]["schedule"] = GUIDE
    data["environments"]["production"]["rollbacks"] = {"ignore_windows": ignore_windows}
    data["freezes"] = {
        "holidays": [{"country": "US", "names": ["Thanksgiving Day", "Christmas Day"],
                      "environments": ["production"]}],
        "black_friday_cyber_monday": {"environments": ["production"]},
        "windows": [{"name": "Company offsite", "start": "2026-12-10 09:00",
                     "end": "2026-12-11 18:00", "reason": "everyone is away"}],
    }
    return PolicyService(config=parse_config(data), store=Database.from_url(database_url),
                         holidays=HolidayLibrary())


@pytest.mark.parametrize(("at", "allowed", "reason"), [
    (ny(11, 25, 10), True, None),
    (ny(11, 26, 10), False, "Thanksgiving Day"),
    (ny(11, 27, 10), False, "Black Friday / Cyber Monday freeze until Tue 2026-12-01 00:00 EST"),
    (ny(11, 30, 23, 59), False, "Black Friday / Cyber Monday"),
    (ny(12, 1, 0), True, None),
    (ny(12, 4, 13, 59), True, None),
    (ny(12, 4, 14), False, "Friday only before 14:00"),
    (ny(12, 10, 12), False, "Company offsite freeze until Fri 2026-12-11 18:00 EST"),
    (ny(12, 25, 10), False, "Christmas Day"),
])
def test_every_freeze_source_and_the_schedule(database_url: str, at: datetime, allowed: bool,
                                              reason: str | None) -> None:
    d = policy(database_url).check("production", "api", at=at)
    assert d.allowed is allowed
    if reason is not None:
        assert any(reason in r for r in d.reasons), d.reasons


def test_staging_has_no_schedule_but_unscoped_freezes_apply(database_url: str) -> None:
    p = policy(database_url)
    assert p.check("staging", "api", at=ny(11, 27, 10)).allowed  # BF/CM is production only
    offsite = p.check("staging", "api", at=ny(12, 10, 12))
    assert not offsite.allowed
    assert offsite.reasons == ("Company offsite freeze until Fri 2026-12-11 18:00 EST "
                               "(everyone is away)",)


def test_rollbacks_are_allowed_in_freezes_and_say_what_they_override(
        database_url: str) -> None:
    d = policy(database_url).check_rollback("production", "api", at=ny(11, 28, 10))
    assert d.allowed and d.emergency
    assert any("Black Friday" in r for r in d.reasons)
    assert any("weekends are for emergency fixes only" in r for r in d.reasons)


def test_the_rollback_rule_can_be_turned_off(database_url: str) -> None:
    d = policy(database_url, ignore_windows=False).check_rollback(
        "production", "api", at=ny(11, 28, 10))
    assert not d.allowed
    assert d.next_allowed_at == ny(12, 1, 0)


def test_a_rollback_in_an_open_window_overrides_nothing(database_url: str) -> None:
    d = policy(database_url).check_rollback("production", "api", at=ny(11, 25, 10))
    assert d.allowed and not d.emergency and d.reasons == ()
