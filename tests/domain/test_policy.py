"""The deployment-window decision: schedule and freezes together, every reason, the emergency
lane, and next_allowed_at (checked against a brute-force scan)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.freezes import Freeze, black_friday_cyber_monday, whole_days
from bot.domain.policy import PolicyDecision, closes_at, decide, freeze_reason, local
from bot.domain.schedule import Schedule, guide_schedule
from bot.domain.schedule_parsing import parse_day_rule

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
GUIDE = guide_schedule(NY)
PROD = "production"


def check(at: datetime, *, freezes: list[Freeze] | None = None, emergency: bool = False,
          schedule: Schedule | None = GUIDE, environment: str = PROD, service: str = "api",
          horizon: timedelta = timedelta(days=60)) -> PolicyDecision:
    return decide(environment=environment, service=service, at=at, emergency=emergency,
                  schedule=schedule, freezes=freezes or [], horizon=horizon)


# --- local() -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("at", "zone", "text"),
    [
        (datetime(2026, 11, 27, 19, 0, tzinfo=UTC), NY, "Fri 2026-11-27 14:00 EST"),
        (datetime(2026, 7, 3, 4, 0, tzinfo=UTC), NY, "Fri 2026-07-03 00:00 EDT"),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), BERLIN, "Sun 2026-10-25 02:30 CEST"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), BERLIN, "Sun 2026-10-25 02:30 CET"),
        (datetime(2026, 11, 30, 5, 0, tzinfo=UTC), UTC, "Mon 2026-11-30 05:00 UTC"),
    ],
)
def test_local(at: datetime, zone: ZoneInfo, text: str) -> None:
    assert local(at, zone) == text


# --- the schedule alone -----------------------------------------------------------------------

def test_open_schedule_and_no_freeze_is_allowed_now() -> None:
    at = datetime(2026, 11, 18, 10, 0, tzinfo=NY)  # Wednesday
    assert check(at) == PolicyDecision(allowed=True, reasons=(), next_allowed_at=at,
                                       emergency=False, blocked_by=())


def test_friday_after_two_waits_for_monday_midnight() -> None:
    d = check(datetime(2026, 11, 20, 14, 5, tzinfo=NY))
    assert not d.allowed and not d.emergency and d.blocked
    assert d.reasons == (
        "deploys to production are allowed Friday only before 14:00 (America/New_York)",
    )
    assert d.blocked_by == ("schedule",)
    assert d.next_allowed_at == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    assert local(d.next_allowed_at, NY) == "Mon 2026-11-23 00:00 EST"


def test_saturday_emergency_is_allowed_and_says_what_it_overrides() -> None:
    at = datetime(2026, 11, 21, 10, 0, tzinfo=NY)
    d = check(at, emergency=True)
    assert d.allowed and d.emergency
    assert d.reasons == ("weekends are for emergency fixes only in production "
                         "(America/New_York)",)
    assert d.blocked_by == ("schedule",)
    assert d.next_allowed_at == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    assert not check(at).allowed


def test_emergency_when_nothing_blocks_is_not_flagged() -> None:
    at = datetime(2026, 11, 18, 10, 0, tzinfo=NY)
    d = check(at, emergency=True)
    assert d.allowed and not d.emergency and d.reasons == () and d.blocked_by == ()


def test_no_schedule_means_always_open_and_times_in_utc() -> None:
    saturday = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    assert check(saturday, schedule=None).allowed
    f = Freeze("Datacenter move", saturday - timedelta(hours=1), saturday + timedelta(hours=5),
               reason="announced maintenance")
    d = check(saturday, schedule=None, freezes=[f])
    assert d.reasons == ("Datacenter move freeze until Sat 2026-11-21 08:00 UTC "
                         "(announced maintenance)",)
    assert d.next_allowed_at == saturday + timedelta(hours=5)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        check(datetime(2026, 11, 18, 10, 0))


# --- freezes -------------------------------------------------------------------------------------

def test_freeze_beats_an_open_schedule() -> None:
    wednesday = datetime(2026, 11, 18, 10, 0, tzinfo=NY)
    f = whole_days("Company offsite", date(2026, 11, 18), date(2026, 11, 18), NY,
                   reason="company-wide event")
    assert GUIDE.open_at(wednesday)
    d = check(wednesday, freezes=[f])
    assert not d.allowed
    assert d.reasons == ("Company offsite freeze until Thu 2026-11-19 00:00 EST "
                         "(company-wide event)",)
    assert d.blocked_by == ("freeze:config:company-offsite",)
    assert d.next_allowed_at == datetime(2026, 11, 19, 5, 0, tzinfo=UTC)


def test_black_friday_weekend_lists_freeze_first_then_schedule() -> None:
    d = check(datetime(2026, 11, 28, 12, 0, tzinfo=NY),
              freezes=[black_friday_cyber_monday(2026, NY)])
    assert d.reasons == (
        "Black Friday / Cyber Monday freeze until Tue 2026-12-01 00:00 EST (peak traffic)",
        "weekends are for emergency fixes only in production (America/New_York)",
    )
    assert d.blocked_by == ("freeze:rule:bfcm:2026", "schedule")
    assert d.next_allowed_at == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "at", "next_allowed"),
    [
        # 2026: Mon Nov 30 - Wed Dec 2 → Thursday 00:00
        (date(2026, 11, 30), date(2026, 12, 2), datetime(2026, 11, 30, 10, tzinfo=NY),
         datetime(2026, 12, 3, 5, 0, tzinfo=UTC)),
        # 2022: Wed Nov 30 - Fri Dec 2 → ends Saturday 00:00 → the following Monday 00:00
        (date(2022, 11, 30), date(2022, 12, 2), datetime(2022, 11, 30, 10, tzinfo=NY),
         datetime(2022, 12, 5, 5, 0, tzinfo=UTC)),
        # 2027: Tue Nov 30 - Thu Dec 2 → ends Friday 00:00, which is open until 14:00
        (date(2027, 11, 30), date(2027, 12, 2), datetime(2027, 12, 1, 23, tzinfo=NY),
         datetime(2027, 12, 3, 5, 0, tzinfo=UTC)),
    ],
)
def test_a_freeze_across_a_month_boundary(first: date, last: date, at: datetime,
                                          next_allowed: datetime) -> None:
    f = whole_days("Migration", first, last, NY, reason="announced maintenance")
    d = check(at, freezes=[f])
    assert not d.allowed and d.blocked_by == ("freeze:config:migration",)
    assert d.next_allowed_at == next_allowed


def test_overlapping_freezes_chain_to_the_end_of_the_last() -> None:
    mon = datetime(2026, 11, 16, 10, 0, tzinfo=NY)
    a = Freeze("A", mon, mon + timedelta(days=2))  # Mon 10:00 - Wed 10:00
    b = Freeze("B", mon + timedelta(days=1), mon + timedelta(days=2, hours=23))  # - Wed 09:00+1d
    c = Freeze("C", b.end, b.end + timedelta(hours=3))  # touches B: Thu 09:00 - Thu 12:00
    unrelated = Freeze("D", mon + timedelta(days=10), mon + timedelta(days=11))
    d = check(mon + timedelta(days=1, hours=1), freezes=[c, unrelated, b, a])
    assert d.blocked_by == ("freeze:config:a", "freeze:config:b")
    assert [r.split(" freeze")[0] for r in d.reasons] == ["A", "B"]
    assert d.next_allowed_at == c.end
    assert local(c.end, NY) == "Thu 2026-11-19 12:00 EST"


def test_a_chain_that_ends_on_friday_afternoon_waits_for_monday() -> None:
    thu = datetime(2026, 11, 19, 10, 0, tzinfo=NY)
    f = Freeze("Incident review", thu, datetime(2026, 11, 20, 15, 0, tzinfo=NY))
    assert check(thu, freezes=[f]).next_allowed_at == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def test_a_freeze_starting_when_the_schedule_opens_is_skipped_too() -> None:
    # Saturday: the schedule opens Monday 00:00, but a freeze covers all of Monday.
    sat = datetime(2026, 11, 21, 10, 0, tzinfo=NY)
    monday = whole_days("Board meeting", date(2026, 11, 23), date(2026, 11, 23), NY)
    d = check(sat, freezes=[monday])
    assert d.blocked_by == ("schedule",)  # the Monday freeze is not active yet
    assert d.next_allowed_at == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("environment", "service", "blocked"),
    [
        ("production", "api", True),
        ("production", "web", False),
        ("staging", "api", False),
    ],
)
def test_environment_and_service_filters(environment: str, service: str, blocked: bool) -> None:
    wed = datetime(2026, 11, 18, 10, 0, tzinfo=NY)
    f = Freeze("API migration", wed - timedelta(hours=1), wed + timedelta(hours=1),
               environments=frozenset({"production"}), services=frozenset({"api"}))
    d = check(wed, freezes=[f], environment=environment, service=service)
    assert d.allowed is not blocked
    assert d.blocked_by == (("freeze:config:api-migration",) if blocked else ())


@pytest.mark.parametrize("environment", ["production", "staging", "development"])
def test_a_freeze_for_all_environments_applies_to_each(environment: str) -> None:
    wed = datetime(2026, 11, 18, 10, 0, tzinfo=NY)
    f = Freeze("Everything", wed - timedelta(hours=1), wed + timedelta(hours=1))
    assert f.environments is None
    d = check(wed, freezes=[f], environment=environment, schedule=None)
    assert not d.allowed and d.blocked_by == ("freeze:config:everything",)


def test_next_allowed_is_none_beyond_the_horizon() -> None:
    wed = datetime(2026, 11, 18, 10, 0, tzinfo=NY)
    long = Freeze("Quarter-end", wed - timedelta(days=1), wed + timedelta(days=90))
    assert check(wed, freezes=[long]).next_allowed_at is None
    assert check(wed, freezes=[long], horizon=timedelta(days=120)).next_allowed_at == long.end
    # a schedule that never opens
    never = Schedule(NY, {})
    assert check(wed, schedule=never).next_allowed_at is None


def test_freeze_reason_wording() -> None:
    end = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert freeze_reason(Freeze("Q4 code freeze", end - timedelta(days=1), end), NY) == (
        "Q4 code freeze until Tue 2026-12-01 00:00 EST"
    )


# --- property: next_allowed_at agrees with a brute-force scan -----------------------------------

GRID = timedelta(minutes=15)


def _blocked(at: datetime, schedule: Schedule | None, freezes: list[Freeze]) -> bool:
    frozen = any(f.start <= at < f.end and (f.environments is None or PROD in f.environments)
                 for f in freezes)
    return frozen or (schedule is not None and not schedule.open_at(at))


@pytest.mark.parametrize("seed", range(40))
def test_next_allowed_at_matches_a_brute_force_scan(seed: int) -> None:
    rng = random.Random(seed)
    zone = rng.choice([NY, BERLIN])
    schedule = rng.choice([
        guide_schedule(zone),
        None,
        Schedule(zone, {d: parse_day_rule({"from": "09:00", "until": "17:00"}) for d in range(5)}),
    ])
    base = rng.choice([datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC),
                       datetime(2026, 11, 20, tzinfo=UTC)])
    freezes = [
        Freeze(f"f{i}", start, start + GRID * rng.randrange(1, 4 * 24 * 3),
               environments=rng.choice([None, frozenset({PROD}), frozenset({"staging"})]))
        for i in range(rng.randrange(0, 6))
        for start in [base + GRID * rng.randrange(0, 4 * 24 * 7)]
    ]
    for _ in range(5):
        at = base + timedelta(seconds=rng.randrange(0, 7 * 86400))
        d = check(at, freezes=freezes, schedule=schedule)
        assert d.allowed is not _blocked(at, schedule, freezes)
        expected: datetime | None = at if not _blocked(at, schedule, freezes) else None
        t = datetime.fromtimestamp((at.timestamp() // 900 + 1) * 900, UTC)
        while expected is None and t <= at + timedelta(days=30):
            if not _blocked(t, schedule, freezes):
                expected = t
            t += GRID
        assert d.next_allowed_at == expected, (at, schedule, freezes)
        if expected is not None and expected > at:
            assert check(expected, freezes=freezes, schedule=schedule).allowed


# --- closes_at: where a request's approval expiry is clipped -----------------------------------

def closes(at: datetime, *, freezes: list[Freeze] | None = None, service: str | None = "api",
           schedule: Schedule | None = GUIDE) -> datetime | None:
    return closes_at(environment=PROD, service=service, at=at, schedule=schedule,
                     freezes=freezes or [])


def test_friday_before_two_closes_at_two() -> None:
    assert closes(datetime(2026, 11, 20, 13, 59, tzinfo=NY)) == datetime(2026, 11, 20, 14,
                                                                         tzinfo=NY)


def test_thursday_evening_closes_friday_at_two() -> None:
    assert closes(datetime(2026, 11, 19, 23, 0, tzinfo=NY)) == datetime(2026, 11, 20, 14,
                                                                       tzinfo=NY)


def test_closed_now_closes_now() -> None:
    at = datetime(2026, 11, 20, 14, 5, tzinfo=NY)
    assert closes(at) == at


def test_a_freeze_starting_first_closes_it_and_only_for_its_services() -> None:
    at = datetime(2026, 11, 18, 10, 0, tzinfo=NY)  # Wednesday
    freeze = Freeze(name="Web freeze", start=datetime(2026, 11, 18, 11, 0, tzinfo=NY),
                    end=datetime(2026, 11, 18, 12, 0, tzinfo=NY), services=frozenset({"web"}))
    assert closes(at, freezes=[freeze], service="web") == freeze.start
    assert closes(at, freezes=[freeze], service=None) == freeze.start  # any service: careful
    assert closes(at, freezes=[freeze], service="api") == datetime(2026, 11, 20, 14, tzinfo=NY)
    assert closes(at, freezes=[freeze], service="web", schedule=None) == freeze.start
    inside = datetime(2026, 11, 18, 11, 30, tzinfo=NY)
    assert closes(inside, freezes=[freeze], service="web") == inside


def test_no_schedule_and_no_freeze_never_closes() -> None:
    assert closes(datetime(2026, 11, 18, 10, 0, tzinfo=NY), schedule=None) is None
