"""Weekly schedules: the guide's production week hour by hour, DST change days in two zones,
next_open (checked against a brute-force scan), and parsing what app.yaml holds."""

from __future__ import annotations

import functools
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedule import (
    ANYTIME,
    EMERGENCY_ONLY,
    WEEKDAYS,
    DayRule,
    Schedule,
    Window,
    first_instant,
    guide_schedule,
)
from bot.domain.schedule_parsing import parse_day_rule, parse_schedule

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
GUIDE = guide_schedule(NY)
MONDAY = datetime(2026, 11, 16, tzinfo=NY)  # a plain week: no DST change, no holiday


def guide_expects(local: datetime) -> bool:
    """The guide, restated: Monday-Thursday anytime, Friday before 2 PM, weekends closed."""
    return local.weekday() <= 3 or (local.weekday() == 4 and local.hour < 14)


# --- the guide's production week --------------------------------------------------------

@pytest.mark.parametrize("hour", range(7 * 24))
def test_every_hour_of_the_guide_week(hour: int) -> None:
    local = MONDAY + timedelta(hours=hour)
    assert GUIDE.open_at(local.astimezone(UTC)) is guide_expects(local)
    assert GUIDE.open_at(local) is guide_expects(local)  # any aware zone in, same answer


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 20, 13, 59, 59, tzinfo=NY), True),
        (datetime(2026, 11, 20, 13, 59, 59, 999999, tzinfo=NY), True),
        (datetime(2026, 11, 20, 14, 0, 0, tzinfo=NY), False),
        (datetime(2026, 11, 16, 0, 0, tzinfo=NY), True),
        (datetime(2026, 11, 22, 23, 59, tzinfo=NY), False),
        (datetime(2026, 11, 19, 23, 59, 59, tzinfo=NY), True),
        (datetime(2026, 11, 20, 0, 0, tzinfo=NY), True),
        (datetime(2026, 11, 21, 0, 0, tzinfo=NY), False),
    ],
)
def test_guide_edges(local: datetime, expected: bool) -> None:
    assert GUIDE.open_at(local) is expected


def test_the_zone_not_utc_decides_the_day() -> None:
    # Friday 20:00 UTC is Friday 15:00 in New York (closed) but Friday 10:00 in Honolulu.
    at = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    assert not GUIDE.open_at(at)
    assert guide_schedule(ZoneInfo("Pacific/Honolulu")).open_at(at)  # Friday 10:00 there


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        GUIDE.open_at(datetime(2026, 11, 20, 12, 0))
    with pytest.raises(ValueError, match="aware"):
        GUIDE.next_open(datetime(2026, 11, 20, 12, 0))


def test_missing_days_are_emergency_only() -> None:
    s = Schedule(NY, {0: ANYTIME})
    assert s.rule(3) == EMERGENCY_ONLY
    assert not s.open_at(datetime(2026, 11, 19, 12, tzinfo=NY))
    assert s.open_at(datetime(2026, 11, 16, 12, tzinfo=NY))


def test_days_are_validated_and_copied() -> None:
    with pytest.raises(ValueError, match="0 \\(Monday\\) to 6"):
        Schedule(NY, {7: ANYTIME})
    days = {0: ANYTIME}
    s = Schedule(NY, days)
    days[1] = ANYTIME
    assert s.rule(1) == EMERGENCY_ONLY


@pytest.mark.parametrize(
    ("local", "text"),
    [
        (datetime(2026, 11, 20, 14, 5, tzinfo=NY),
         "deploys to production are allowed Friday only before 14:00 (America/New_York)"),
        (datetime(2026, 11, 21, 9, 0, tzinfo=NY),
         "weekends are for emergency fixes only in production (America/New_York)"),
        (datetime(2026, 11, 22, 23, 59, tzinfo=NY),
         "weekends are for emergency fixes only in production (America/New_York)"),
        (datetime(2026, 11, 18, 9, 0, tzinfo=NY), ""),
    ],
)
def test_describe_closed(local: datetime, text: str) -> None:
    assert GUIDE.describe_closed(local, environment="production") == text


def test_describe_closed_other_shapes() -> None:
    s = Schedule(BERLIN, {
        1: EMERGENCY_ONLY,
        2: parse_day_rule([{"from": "09:00", "until": "12:00"}, {"from": "13:00"}]),
    })
    assert s.describe_closed(datetime(2026, 11, 17, 10, tzinfo=BERLIN)) == (
        "Tuesdays are for emergency fixes only (Europe/Berlin)"
    )
    assert s.describe_closed(datetime(2026, 11, 18, 12, 30, tzinfo=BERLIN)) == (
        "deploys are allowed Wednesday only 09:00 to 12:00 and from 13:00 (Europe/Berlin)"
    )


def test_describe_the_week() -> None:
    assert GUIDE.describe() == (
        "Monday to Thursday anytime; Friday before 14:00; Saturday and Sunday emergency fixes "
        "only (America/New_York)"
    )


# --- next_open -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Friday 14:05 → Monday 00:00 local
        (datetime(2026, 11, 20, 14, 5, tzinfo=NY), datetime(2026, 11, 23, 5, 0, tzinfo=UTC)),
        # Saturday noon → Monday 00:00 local
        (datetime(2026, 11, 21, 12, 0, tzinfo=NY), datetime(2026, 11, 23, 5, 0, tzinfo=UTC)),
        # open now → now
        (datetime(2026, 11, 18, 12, 0, tzinfo=NY), datetime(2026, 11, 18, 17, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 13, 59, tzinfo=NY), datetime(2026, 11, 20, 18, 59, tzinfo=UTC)),
    ],
)
def test_next_open_of_the_guide(at: datetime, expected: datetime) -> None:
    result = GUIDE.next_open(at)
    assert result == expected
    assert result is not None and result.tzinfo is UTC


def test_next_open_is_none_when_never_open() -> None:
    assert Schedule(NY, {}).next_open(datetime(2026, 11, 20, 12, tzinfo=NY)) is None


def test_next_open_gives_up_after_14_days_only() -> None:
    # A schedule open only on Mondays, asked on a Tuesday: 6 days away → found.
    mondays = Schedule(NY, {0: parse_day_rule({"from": "10:00", "until": "11:00"})})
    assert mondays.next_open(datetime(2026, 11, 17, 12, tzinfo=NY)) == datetime(
        2026, 11, 23, 15, 0, tzinfo=UTC
    )


# --- DST change weekends --------------------------------------------------------------------

# (zone, change day (a Sunday), the Friday before, next Monday 00:00 local in UTC after it)
DST_CHANGES = [
    pytest.param(NY, date(2026, 3, 8), datetime(2026, 3, 9, 4, 0, tzinfo=UTC), id="NY-spring"),
    pytest.param(NY, date(2026, 11, 1), datetime(2026, 11, 2, 5, 0, tzinfo=UTC), id="NY-fall"),
    pytest.param(BERLIN, date(2026, 3, 29), datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
                 id="Berlin-spring"),
    pytest.param(BERLIN, date(2026, 10, 25), datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
                 id="Berlin-fall"),
]


@pytest.mark.parametrize(("zone", "change_day", "monday"), DST_CHANGES)
def test_friday_after_two_opens_monday_midnight_across_the_change(
    zone: ZoneInfo, change_day: date, monday: datetime
) -> None:
    friday = datetime.combine(change_day - timedelta(days=2), time(14, 5), tzinfo=zone)
    s = guide_schedule(zone)
    assert not s.open_at(friday)
    assert s.next_open(friday) == monday
    assert monday.astimezone(zone).replace(tzinfo=None) == datetime.combine(
        change_day + timedelta(days=1), time()
    )


@pytest.mark.parametrize(
    ("zone", "change_day", "last_open", "first_closed"),
    [
        # until 14:00 on the change day: the boundary sits at 14:00 of the *new* offset
        (NY, date(2026, 3, 8), datetime(2026, 3, 8, 17, 59, 59, tzinfo=UTC),
         datetime(2026, 3, 8, 18, 0, tzinfo=UTC)),
        (NY, date(2026, 11, 1), datetime(2026, 11, 1, 18, 59, 59, tzinfo=UTC),
         datetime(2026, 11, 1, 19, 0, tzinfo=UTC)),
        (BERLIN, date(2026, 3, 29), datetime(2026, 3, 29, 11, 59, 59, tzinfo=UTC),
         datetime(2026, 3, 29, 12, 0, tzinfo=UTC)),
        (BERLIN, date(2026, 10, 25), datetime(2026, 10, 25, 12, 59, 59, tzinfo=UTC),
         datetime(2026, 10, 25, 13, 0, tzinfo=UTC)),
    ],
)
def test_until_two_pm_on_the_change_day(
    zone: ZoneInfo, change_day: date, last_open: datetime, first_closed: datetime
) -> None:
    s = Schedule(zone, {change_day.weekday(): parse_day_rule({"until": "14:00"})})
    assert s.open_at(datetime.combine(change_day, time(0), tzinfo=zone))
    assert s.open_at(last_open)
    assert not s.open_at(first_closed)
    assert first_closed.astimezone(zone).time() == time(14)


@pytest.mark.parametrize(
    ("zone", "change_day", "opens"),
    [
        # spring forward: 02:30 does not exist; the window opens at 03:00 new time
        (NY, date(2026, 3, 8), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (BERLIN, date(2026, 3, 29), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # fall back: NY repeats 01:00-02:00, so 02:30 is once, in EST
        (NY, date(2026, 11, 1), datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
        # fall back: Berlin repeats 02:00-03:00, so 02:30 first happens in CEST
        (BERLIN, date(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_from_half_past_two_on_the_change_day(
    zone: ZoneInfo, change_day: date, opens: datetime
) -> None:
    s = Schedule(zone, {change_day.weekday(): parse_day_rule({"from": "02:30"})})
    midnight = datetime.combine(change_day, time(0), tzinfo=zone)
    assert s.next_open(midnight) == opens
    assert s.open_at(opens)
    assert not s.open_at(opens - timedelta(microseconds=1))


def test_spring_gap_time_maps_to_the_transition() -> None:
    assert first_instant(datetime(2026, 3, 8, 2, 30), NY) == datetime(2026, 3, 8, 7, tzinfo=UTC)
    assert first_instant(datetime(2026, 3, 8, 2, 0), NY) == datetime(2026, 3, 8, 7, tzinfo=UTC)
    assert first_instant(datetime(2026, 3, 8, 3, 0), NY) == datetime(2026, 3, 8, 7, tzinfo=UTC)
    assert first_instant(datetime(2026, 3, 8, 1, 59), NY) == datetime(2026, 3, 8, 6, 59,
                                                                      tzinfo=UTC)
    # a repeated wall time → its first occurrence
    assert first_instant(datetime(2026, 11, 1, 1, 30), NY) == datetime(2026, 11, 1, 5, 30,
                                                                       tzinfo=UTC)
    # Santiago skips midnight itself (00:00 → 01:00 on 2026-09-06)
    assert first_instant(datetime(2026, 9, 6), SANTIAGO) == datetime(2026, 9, 6, 4, tzinfo=UTC)


def test_berlin_repeated_hour_is_judged_by_the_wall_clock() -> None:
    # from 02:30 on 2026-10-25: 02:30 CEST opens; at 03:00 CEST the clock reads 02:00 CET
    # again, which is before 02:30 → closed; 02:30 CET opens again.
    s = Schedule(BERLIN, {6: parse_day_rule({"from": "02:30"})})
    expected = {
        datetime(2026, 10, 25, 0, 29, tzinfo=UTC): False,  # 02:29 CEST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC): True,  # 02:30 CEST
        datetime(2026, 10, 25, 0, 59, tzinfo=UTC): True,  # 02:59 CEST
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC): False,  # 02:00 CET
        datetime(2026, 10, 25, 1, 29, tzinfo=UTC): False,  # 02:29 CET
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC): True,  # 02:30 CET
    }
    assert {at: s.open_at(at) for at in expected} == expected
    assert s.next_open(datetime(2026, 10, 25, 1, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC
    )


def test_new_york_repeated_hour_reopens_when_the_clock_goes_back() -> None:
    # until 01:30 on 2026-11-01: both 01:30s are closed, both 01:00-01:29s are open.
    s = Schedule(NY, {6: parse_day_rule({"until": "01:30"})})
    first_130 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert first_130.astimezone(NY).time() == second_130.astimezone(NY).time() == time(1, 30)
    assert not s.open_at(first_130) and not s.open_at(second_130)
    assert s.open_at(first_130 - timedelta(seconds=1))
    assert s.open_at(second_130 - timedelta(seconds=1))
    # closed at 01:45 EDT; the clock falls back to 01:00 EST at 06:00 UTC, which is open
    assert s.next_open(datetime(2026, 11, 1, 5, 45, tzinfo=UTC)) == datetime(
        2026, 11, 1, 6, 0, tzinfo=UTC
    )


def test_santiago_fall_back_at_midnight_returns_to_saturday() -> None:
    # On 2026-04-05 at 00:00 -03 Chile goes back to Saturday 23:00 -04. With Saturday open and
    # Sunday closed, the first Sunday minute is closed and the repeated Saturday hour is open.
    s = Schedule(SANTIAGO, {5: ANYTIME})
    sunday_first = datetime(2026, 4, 5, 3, 0, tzinfo=UTC) - timedelta(minutes=1)
    assert s.open_at(sunday_first)  # 23:59 -03, still Saturday
    assert s.open_at(datetime(2026, 4, 5, 3, 0, tzinfo=UTC))  # 23:00 -04, Saturday again
    assert not s.open_at(datetime(2026, 4, 5, 4, 0, tzinfo=UTC))  # Sunday 00:00 -04


# --- property: next_open agrees with a brute-force scan --------------------------------------

GRID = timedelta(minutes=15)


def _random_rule(rng: random.Random) -> DayRule:
    kind = rng.choice(["anytime", "emergency_only", "windows", "windows"])
    if kind != "windows":
        return DayRule(kind)  # type: ignore[arg-type]
    # quarter-hour marks; half the time crowded into 00:15-04:00, where DST changes happen
    marks = sorted(rng.sample(range(1, rng.choice([17, 96])), rng.choice([2, 4])))
    windows = [
        Window(time(a // 4, a % 4 * 15), time(b // 4, b % 4 * 15))
        for a, b in zip(marks[::2], marks[1::2], strict=True)
    ]
    if rng.random() < 0.3:
        windows[0] = Window(None, windows[0].end)
    if rng.random() < 0.3:
        windows[-1] = Window(windows[-1].start, None)
    return DayRule("windows", tuple(windows))


def _scan(s: Schedule, at: datetime, until: datetime) -> datetime | None:
    """The first open instant >= at found by checking `at` and every 15-minute UTC grid point
    (all window edges and DST changes in these zones fall on that grid)."""
    if s.open_at(at):
        return at
    t = datetime.fromtimestamp((at.timestamp() // 900 + 1) * 900, UTC)
    while t <= until:
        if s.open_at(t):
            return t
        t += GRID
    return None


@functools.cache
def _offset_changes(zone: ZoneInfo) -> list[datetime]:
    """The hours of 2026 (UTC) at whose end the zone's UTC offset has changed."""
    t, end, found = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), []
    while t < end:
        if t.astimezone(zone).utcoffset() != (t + timedelta(hours=1)).astimezone(zone).utcoffset():
            found.append(t)
        t += timedelta(hours=1)
    return found


@pytest.mark.parametrize("seed", range(100))
def test_next_open_matches_a_brute_force_scan(seed: int) -> None:
    rng = random.Random(seed)
    zone = rng.choice([NY, BERLIN, SANTIAGO, KATHMANDU, ZoneInfo("Australia/Lord_Howe")])
    s = Schedule(zone, {d: _random_rule(rng) for d in range(7) if rng.random() < 0.7})
    # around one of the zone's own 2026 offset changes half the time, anywhere in 2026 otherwise
    changes = _offset_changes(zone)
    near_change = changes and rng.random() < 0.5
    base = rng.choice(changes) if near_change else datetime(2026, 1, 1, tzinfo=UTC)
    if near_change:  # every quarter hour from 3 hours before to 3 hours after, jittered
        starts = [base + GRID * i + timedelta(seconds=rng.randrange(900)) for i in range(-12, 13)]
    else:
        starts = [base + timedelta(seconds=rng.randrange(300 * 86400)) for _ in range(10)]
    for at in starts:
        expected = _scan(s, at, at + timedelta(days=14))
        assert s.next_open(at) == expected, (s, at)


# --- parse_day_rule --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("anytime", ANYTIME),
        ("emergency_only", EMERGENCY_ONLY),
        ("closed", EMERGENCY_ONLY),
        (" Closed ", EMERGENCY_ONLY),
        ({"until": "14:00"}, DayRule("windows", (Window(None, time(14)),))),
        ({"from": "09:00"}, DayRule("windows", (Window(time(9), None),))),
        ({"from": "9:00"}, DayRule("windows", (Window(time(9), None),))),
        ({"from": "09:00", "until": "17:00"}, DayRule("windows", (Window(time(9), time(17)),))),
        ({"from": "00:00", "until": "24:00"}, DayRule("windows", (Window(None, None),))),
        ({"from": time(9, 30)}, DayRule("windows", (Window(time(9, 30), None),))),
        ([{"from": "13:00", "until": "17:00"}, {"from": "09:00", "until": "12:00"}],
         DayRule("windows", (Window(time(9), time(12)), Window(time(13), time(17))))),
        ([{"until": "12:00"}, {"from": "12:00"}],
         DayRule("windows", (Window(None, time(12)), Window(time(12), None)))),
    ],
)
def test_parse_day_rule_accepts(value: object, expected: DayRule) -> None:
    assert parse_day_rule(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sometimes", "unknown day rule 'sometimes'; use \"anytime\""),
        ({"until": "25:00"}, "until: '25:00' is not a time of day"),
        ({"from": "9am"}, "from: '9am' is not a time of day"),
        ({"from": "12:60"}, "from: '12:60' is not a time of day"),
        ({"from": "24:00"}, "from: '24:00' is not a time of day"),
        ({"from": "17:00", "until": "09:00"}, "until 09:00 is not after from 17:00"),
        ({"from": "09:00", "until": "09:00"}, "until 09:00 is not after from 09:00"),
        ({"to": "17:00"}, "unknown key 'to' in a window; use from and/or until"),
        ({}, "a window needs from, until or both"),
        ({"until": 840}, "until: got the number 840; YAML reads an unquoted 14:00"),
        ({"until": True}, "until: expected a time like \"14:00\", not bool"),
        ([], "an empty list of windows"),
        (["anytime"], "window 1: expected a mapping"),
        ([{"until": "12:00"}, {"from": "25:00"}], "window 2: from: '25:00' is not a time"),
        ([{"from": "09:00", "until": "12:00"}, {"from": "11:00"}],
         "windows 09:00 to 12:00 and from 11:00 overlap"),
        (42, "a day rule cannot be int"),
        (None, "a day rule cannot be NoneType"),
    ],
)
def test_parse_day_rule_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_day_rule(value)
    assert message in str(e.value)


def test_yaml_reads_unquoted_times_inconsistently() -> None:
    # Why ints get a pointed message: YAML 1.1 reads 14:00 as 840 but 09:00 as "09:00".
    yaml = pytest.importorskip("yaml")
    loaded = yaml.safe_load("friday: {from: 09:00, until: 14:00}")
    assert loaded == {"friday": {"from": "09:00", "until": 840}}
    with pytest.raises(ValueError, match="quote the time"):
        parse_day_rule(loaded["friday"])


def test_parse_schedule() -> None:
    s = parse_schedule("America/New_York", {
        "Monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
        "thursday": "anytime", "friday": {"until": "14:00"}, "saturday": "closed",
    })
    assert s == GUIDE
    assert WEEKDAYS[4] == "friday"
    with pytest.raises(ValueError, match="unknown weekday 'fri'"):
        parse_schedule("America/New_York", {"fri": "anytime"})
    with pytest.raises(ValueError, match="friday: until: '25:00' is not a time"):
        parse_schedule("America/New_York", {"friday": {"until": "25:00"}})
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        parse_schedule("Mars/Olympus", {})


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="cannot cross midnight"):
        Window(time(22), time(2))
    with pytest.raises(ValueError, match="without a zone"):
        Window(time(9, tzinfo=UTC), None)
    with pytest.raises(ValueError, match="exactly when kind"):
        DayRule("windows")
    with pytest.raises(ValueError, match="exactly when kind"):
        DayRule("anytime", (Window(None, time(9)),))
