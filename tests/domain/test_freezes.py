"""Freezes: validation, the half-open range, environment/service filters, whole local days
(DST included), Black Friday / Cyber Monday 2025-2030, holidays, active and upcoming."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.freezes import (
    BFCM_NAME,
    Freeze,
    active,
    black_friday_cyber_monday,
    holiday_freezes,
    slug,
    thanksgiving,
    upcoming,
    whole_days,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


def freeze(start: datetime = T0, hours: float = 2, **kw: object) -> Freeze:
    return Freeze(name=str(kw.pop("name", "Maintenance")), start=start,
                  end=start + timedelta(hours=hours), **kw)  # type: ignore[arg-type]


# --- the value --------------------------------------------------------------------------------

def test_start_and_end_are_stored_in_utc() -> None:
    f = Freeze("All-hands", datetime(2026, 11, 18, 10, tzinfo=NY),
               datetime(2026, 11, 18, 12, tzinfo=NY))
    assert f.start == datetime(2026, 11, 18, 15, tzinfo=UTC) and f.start.tzinfo is UTC
    assert f.end == datetime(2026, 11, 18, 17, tzinfo=UTC) and f.end.tzinfo is UTC


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"start": datetime(2026, 11, 18, 10)}, "start must be an aware datetime"),
        ({"end": datetime(2026, 11, 18, 10)}, "end must be an aware datetime"),
        ({"end": T0}, "end must be after start"),
        ({"end": T0 - timedelta(seconds=1)}, "end must be after start"),
        ({"environments": frozenset()}, "environments must be None (all) or name at least one"),
        ({"services": frozenset()}, "services must be None (all) or name at least one"),
        ({"source": "calendar"}, "unknown source 'calendar'"),
    ],
)
def test_invalid_freezes_are_refused(kw: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"name": "x", "start": T0, "end": T0 + timedelta(hours=1)}
    args.update(kw)
    with pytest.raises(ValueError) as e:
        Freeze(**args)  # type: ignore[arg-type]
    assert message in str(e.value)


@pytest.mark.parametrize(
    ("name", "source", "given", "expected"),
    [
        ("Q4 All-Hands (Berlin)", "config", "", "config:q4-all-hands-berlin"),
        ("Database maintenance", "config", "", "config:database-maintenance"),
        ("Whatever", "runtime", "runtime:42", "runtime:42"),
        ("!!!", "config", "", "config:freeze"),
    ],
)
def test_ids_are_stable(name: str, source: str, given: str, expected: str) -> None:
    f = Freeze(name, T0, T0 + timedelta(hours=1), source=source, id=given)  # type: ignore[arg-type]
    assert f.id == expected
    again = Freeze(name, T0, T0 + timedelta(hours=1), source=source, id=given)  # type: ignore[arg-type]
    assert again.id == f.id and again == f and hash(again) == hash(f)


def test_slug() -> None:
    assert slug("  Black Friday / Cyber Monday ") == "black-friday-cyber-monday"


@pytest.mark.parametrize(
    ("offset", "inside"),
    [
        (timedelta(seconds=-1), False),
        (timedelta(0), True),
        (timedelta(hours=1), True),
        (timedelta(hours=2) - timedelta(microseconds=1), True),
        (timedelta(hours=2), False),
    ],
)
def test_the_range_is_half_open(offset: timedelta, inside: bool) -> None:
    assert freeze().applies("production", "api", T0 + offset) is inside


FILTERS = freeze(environments=frozenset({"production"}), services=frozenset({"api", "worker"}))


@pytest.mark.parametrize(
    ("f", "environment", "service", "expected"),
    [
        (FILTERS, "production", "api", True),
        (FILTERS, "production", "worker", True),
        (FILTERS, "production", "web", False),
        (FILTERS, "staging", "api", False),
        (freeze(), "production", "api", True),  # None = all environments and services
        (freeze(), "staging", "web", True),
        (freeze(), "development", "anything", True),
        (freeze(environments=frozenset({"staging"})), "staging", "web", True),
        (freeze(environments=frozenset({"staging"})), "production", "web", False),
        (freeze(services=frozenset({"web"})), "development", "web", True),
        (freeze(services=frozenset({"web"})), "development", "api", False),
    ],
)
def test_environment_and_service_filters(
    f: Freeze, environment: str, service: str, expected: bool
) -> None:
    assert f.applies(environment, service, T0 + timedelta(minutes=1)) is expected
    assert not f.applies(environment, service, T0 - timedelta(minutes=1))


def test_a_single_string_is_one_name_not_letters() -> None:
    f = freeze(environments="production")
    assert f.environments == frozenset({"production"})


# --- whole local days -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("first", "last", "zone", "start", "end", "hours"),
    [
        (date(2026, 12, 25), date(2026, 12, 25), NY,
         datetime(2026, 12, 25, 5, tzinfo=UTC), datetime(2026, 12, 26, 5, tzinfo=UTC), 24),
        (date(2026, 7, 4), date(2026, 7, 4), NY,
         datetime(2026, 7, 4, 4, tzinfo=UTC), datetime(2026, 7, 5, 4, tzinfo=UTC), 24),
        # month boundary
        (date(2026, 11, 30), date(2026, 12, 2), NY,
         datetime(2026, 11, 30, 5, tzinfo=UTC), datetime(2026, 12, 3, 5, tzinfo=UTC), 72),
        # DST: the spring-forward day has 23 hours, the fall-back day 25
        (date(2026, 3, 8), date(2026, 3, 8), NY,
         datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC), 23),
        (date(2026, 11, 1), date(2026, 11, 1), NY,
         datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 2, 5, tzinfo=UTC), 25),
        (date(2026, 10, 25), date(2026, 10, 25), BERLIN,
         datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC), 25),
        # Santiago skips midnight on 2026-09-06: the day starts at 01:00 local
        (date(2026, 9, 6), date(2026, 9, 6), ZoneInfo("America/Santiago"),
         datetime(2026, 9, 6, 4, tzinfo=UTC), datetime(2026, 9, 7, 3, tzinfo=UTC), 23),
    ],
)
def test_whole_days(first: date, last: date, zone: ZoneInfo, start: datetime, end: datetime,
                    hours: int) -> None:
    f = whole_days("Event", first, last, zone)
    assert (f.start, f.end) == (start, end)
    assert f.end - f.start == timedelta(hours=hours)
    assert f.id == "config:event" and f.source == "config"


def test_whole_days_refuses_a_backwards_range() -> None:
    with pytest.raises(ValueError, match="last day 2026-12-01 is before first day 2026-12-02"):
        whole_days("Event", date(2026, 12, 2), date(2026, 12, 1), NY)


# --- Black Friday / Cyber Monday --------------------------------------------------------------

@pytest.mark.parametrize(
    ("year", "first", "end"),
    [
        (2025, date(2025, 11, 28), date(2025, 12, 2)),
        (2026, date(2026, 11, 27), date(2026, 12, 1)),
        (2027, date(2027, 11, 26), date(2027, 11, 30)),
        (2028, date(2028, 11, 24), date(2028, 11, 28)),
        (2029, date(2029, 11, 23), date(2029, 11, 27)),
        (2030, date(2030, 11, 29), date(2030, 12, 3)),
    ],
)
@pytest.mark.parametrize("zone", [NY, BERLIN, ZoneInfo("America/Los_Angeles")])
def test_black_friday_cyber_monday(year: int, first: date, end: date, zone: ZoneInfo) -> None:
    f = black_friday_cyber_monday(year, zone)
    start_local, end_local = f.start.astimezone(zone), f.end.astimezone(zone)
    assert start_local.date() == first and start_local.time() == time(0)
    assert end_local.date() == end and end_local.time() == time(0)
    assert start_local.strftime("%A") == "Friday" and end_local.strftime("%A") == "Tuesday"
    assert f.end - f.start == timedelta(days=4)  # no DST change in late November
    assert (f.name, f.id, f.source, f.reason) == (BFCM_NAME, f"rule:bfcm:{year}", "rule",
                                                  "peak traffic")
    assert f.environments is None


def test_black_friday_in_utc_for_new_york_2026() -> None:
    f = black_friday_cyber_monday(2026, NY, environments=["production"])
    assert f.start == datetime(2026, 11, 27, 5, tzinfo=UTC)
    assert f.end == datetime(2026, 12, 1, 5, tzinfo=UTC)
    assert f.applies("production", "api", datetime(2026, 11, 30, 12, tzinfo=NY))  # Cyber Monday
    assert not f.applies("staging", "api", datetime(2026, 11, 30, 12, tzinfo=NY))
    assert not f.applies("production", "api", datetime(2026, 11, 26, 23, 59, tzinfo=NY))


@pytest.mark.parametrize("year", range(1950, 2101))
def test_thanksgiving_is_the_fourth_thursday_of_november(year: int) -> None:
    day = thanksgiving(year)
    assert day.month == 11 and day.weekday() == 3 and 22 <= day.day <= 28


# --- holidays ----------------------------------------------------------------------------------

def test_holiday_freezes_are_whole_local_days() -> None:
    fs = holiday_freezes(
        [(date(2026, 12, 25), "Christmas Day"), (date(2026, 1, 1), "New Year's Day")],
        country="US", zone=NY, environments=["production"],
    )
    assert [f.id for f in fs] == ["holiday:US:2026-01-01", "holiday:US:2026-12-25"]
    christmas = fs[1]
    assert (christmas.start, christmas.end) == (datetime(2026, 12, 25, 5, tzinfo=UTC),
                                                datetime(2026, 12, 26, 5, tzinfo=UTC))
    assert christmas.name == "Christmas Day"
    assert christmas.reason == "public holiday in US"
    assert christmas.source == "holiday"
    assert christmas.environments == frozenset({"production"})


def test_two_holidays_on_one_date_make_one_freeze() -> None:
    fs = holiday_freezes(
        [(date(2008, 5, 1), "Christi Himmelfahrt"), (date(2008, 5, 1), "Erster Mai"),
         (date(2008, 5, 1), "Erster Mai")],
        country="DE", zone=BERLIN, environments=None,
    )
    assert len(fs) == 1
    assert fs[0].name == "Christi Himmelfahrt; Erster Mai"
    assert fs[0].id == "holiday:DE:2008-05-01"
    assert fs[0].environments is None


# --- active and upcoming -----------------------------------------------------------------------

def test_active_lists_the_applying_freezes_by_start() -> None:
    late = freeze(T0 - timedelta(hours=1), hours=3, name="B")
    early = freeze(T0 - timedelta(hours=5), hours=10, name="A")
    staging_only = freeze(T0 - timedelta(hours=1), environments=frozenset({"staging"}), name="C")
    over = freeze(T0 - timedelta(hours=3), hours=1, name="D")
    assert active([late, staging_only, over, early], "production", "api", T0) == [early, late]
    # same start: the one that ends first comes first
    assert active([late, staging_only, over, early], "staging", "api", T0) == [
        early, staging_only, late]
    assert active([], "production", "api", T0) == []


def test_upcoming_lists_freezes_starting_within_the_window_by_start() -> None:
    running = freeze(T0 - timedelta(hours=1), name="running")
    soon = freeze(T0 + timedelta(days=2), name="soon")
    sooner = freeze(T0 + timedelta(hours=1), name="sooner", services=frozenset({"web"}))
    now = freeze(T0, name="now")
    far = freeze(T0 + timedelta(days=8), name="far")
    other_env = freeze(T0 + timedelta(hours=3), name="staging", environments=frozenset({"staging"}))
    got = upcoming([far, soon, running, other_env, sooner, now], "production", T0,
                   timedelta(days=7))
    assert [f.name for f in got] == ["now", "sooner", "soon"]


@pytest.mark.parametrize("seed", range(20))
def test_active_agrees_with_applies(seed: int) -> None:
    rng = random.Random(seed)
    envs = ["production", "staging"]
    services = ["api", "web"]
    fs = [
        freeze(T0 + timedelta(hours=rng.randrange(-48, 48)), hours=rng.randrange(1, 72),
               name=f"f{i}",
               environments=None if rng.random() < 0.5 else frozenset(rng.sample(envs, 1)),
               services=None if rng.random() < 0.5 else frozenset(rng.sample(services, 1)))
        for i in range(8)
    ]
    for _ in range(20):
        at = T0 + timedelta(minutes=rng.randrange(-72 * 60, 72 * 60))
        env, svc = rng.choice(envs), rng.choice(services)
        got = active(fs, env, svc, at)
        assert set(got) == {f for f in fs if f.start <= at < f.end
                            and (f.environments is None or env in f.environments)
                            and (f.services is None or svc in f.services)}
        assert [f.start for f in got] == sorted(f.start for f in got)
