"""Planning the deployments-channel announcements (pure): freeze warnings, start and end, the
schedule closing (Friday 14:00 in New York, across daylight-saving changes), environment-
limited freezes, deterministic keys, and the words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.announcements import (
    PlannedAnnouncement,
    closings,
    iso,
    lead_label,
    plan,
)
from bot.domain.freezes import Freeze, black_friday_cyber_monday, whole_days
from bot.domain.schedule import Schedule, guide_schedule
from bot.domain.schedule_parsing import parse_schedule
from bot.presentation import announcements as words

NY = ZoneInfo("America/New_York")
GUIDE = guide_schedule(NY)
H = timedelta(hours=1)
LEADS = (timedelta(hours=24), timedelta(hours=1))

OFFSITE = Freeze(
    name="Company offsite", start=datetime(2026, 12, 10, 9, 0, tzinfo=NY),
    end=datetime(2026, 12, 11, 18, 0, tzinfo=NY), reason="everyone is travelling",
    environments=frozenset({"production"}), source="runtime", id="runtime:7",
)


def ny(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=NY)


def run(start: datetime, end: datetime, *, freezes: list[Freeze] | None = None,
        schedules: dict[str, Schedule | None] | None = None,
        leads: tuple[timedelta, ...] = LEADS,
        closing: timedelta | None = H) -> list[PlannedAnnouncement]:
    return plan(freezes=freezes or [], schedules=schedules or {}, freeze_warnings=leads,
                window_closing_warning=closing, start=start, end=end)


# --- freezes ----------------------------------------------------------------------------------

def test_a_freeze_is_warned_24h_and_1h_before_and_announced_at_start_and_end() -> None:
    planned = run(ny(2026, 12, 1), ny(2026, 12, 31), freezes=[OFFSITE])
    base = "freeze:runtime:7@2026-12-10T14:00:00Z"
    assert [(a.key, a.due_at, a.kind) for a in planned] == [
        (f"{base}:warn:24h", datetime(2026, 12, 9, 14, 0, tzinfo=UTC), "freeze_warning"),
        (f"{base}:warn:1h", datetime(2026, 12, 10, 13, 0, tzinfo=UTC), "freeze_warning"),
        (f"{base}:start", datetime(2026, 12, 10, 14, 0, tzinfo=UTC), "freeze_start"),
        (f"{base}:end", datetime(2026, 12, 11, 23, 0, tzinfo=UTC), "freeze_end"),
    ]
    assert [a.lead for a in planned] == [timedelta(hours=24), H, None, None]
    assert all(a.freeze == OFFSITE for a in planned)


def test_the_window_is_half_open_and_windows_partition() -> None:
    warn_1h = OFFSITE.start - H
    only = run(warn_1h, warn_1h + timedelta(microseconds=1), freezes=[OFFSITE])
    assert [a.key for a in only] == [f"freeze:runtime:7@{iso(OFFSITE.start)}:warn:1h"]
    assert run(warn_1h - timedelta(minutes=5), warn_1h, freezes=[OFFSITE]) == []
    # Planning six hours at a time finds exactly what planning the whole range finds.
    start, end = ny(2026, 12, 9, 8), ny(2026, 12, 12)
    whole = run(start, end, freezes=[OFFSITE], schedules={"production": GUIDE})
    pieces: list[PlannedAnnouncement] = []
    t = start
    while t < end:
        pieces += run(t, t + timedelta(hours=6), freezes=[OFFSITE],
                      schedules={"production": GUIDE})
        t += timedelta(hours=6)
    assert pieces == whole
    # 24h, 1h, start and end; Friday's 14:00 close falls inside the freeze: no warning.
    assert [a.kind for a in whole] == ["freeze_warning", "freeze_warning", "freeze_start",
                                       "freeze_end"]


def test_configurable_lead_times() -> None:
    leads = (timedelta(days=2), timedelta(minutes=90), timedelta(minutes=15))
    planned = run(ny(2026, 12, 1), ny(2026, 12, 10, 12), freezes=[OFFSITE], leads=leads)
    assert [a.key.rsplit(":", 1)[-1] for a in planned] == ["48h", "1h30m", "15m", "start"]
    assert [OFFSITE.start - a.due_at for a in planned] == [*leads, timedelta(0)]


def test_a_moved_freeze_gets_new_keys_and_the_same_freeze_gets_the_same_keys() -> None:
    again = Freeze(name=OFFSITE.name, start=OFFSITE.start, end=OFFSITE.end,
                   environments=OFFSITE.environments, source="runtime", id="runtime:7")
    window = (ny(2026, 12, 1), ny(2026, 12, 31))
    assert [a.key for a in run(*window, freezes=[OFFSITE])] == \
        [a.key for a in run(*window, freezes=[again])]
    # A config window's id is its name: next year's offsite is another freeze.
    this_year = whole_days("Offsite", date(2026, 6, 1), date(2026, 6, 1), NY)
    next_year = whole_days("Offsite", date(2027, 6, 1), date(2027, 6, 1), NY)
    assert this_year.id == next_year.id
    keys = [a.key for a in run(ny(2026, 5, 1), ny(2027, 7, 1),
                               freezes=[this_year, next_year])]
    assert len(keys) == len(set(keys)) == 8


def test_black_friday_cyber_monday_in_utc() -> None:
    bfcm = black_friday_cyber_monday(2026, NY, ["production"])
    planned = run(ny(2026, 11, 20), ny(2026, 12, 5), freezes=[bfcm])
    assert [(a.key, a.due_at) for a in planned] == [
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:warn:24h",
         datetime(2026, 11, 26, 5, 0, tzinfo=UTC)),
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:warn:1h",
         datetime(2026, 11, 27, 4, 0, tzinfo=UTC)),
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:start",
         datetime(2026, 11, 27, 5, 0, tzinfo=UTC)),
        ("freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:end",
         datetime(2026, 12, 1, 5, 0, tzinfo=UTC)),
    ]


# --- the schedule closing ---------------------------------------------------------------------

def test_warning_one_hour_before_the_friday_cut_off() -> None:
    planned = run(ny(2026, 11, 16), ny(2026, 11, 23), schedules={"production": GUIDE})
    assert len(planned) == 1
    a = planned[0]
    assert a.kind == "window_closing"
    assert a.key == "schedule:production:closes:2026-11-20T19:00:00Z:warn:1h"
    assert a.due_at == ny(2026, 11, 20, 13, 0)
    assert a.closes_at == ny(2026, 11, 20, 14, 0)
    assert a.next_window == ny(2026, 11, 23, 0, 0)
    assert words.text(a, NY) == (
        "⏰ production closes for normal deploys in 1 hour (Fri 2026-11-20 14:00 EST); "
        "next window Mon 2026-11-23 00:00 EST.")


@pytest.mark.parametrize(
    ("start", "end", "closes_utc", "next_window_utc"),
    [
        # Spring forward (Sun 2026-03-08): 14:00 EST is 19:00 UTC, 14:00 EDT is 18:00 UTC.
        (datetime(2026, 3, 2, tzinfo=NY), datetime(2026, 3, 16, tzinfo=NY),
         [datetime(2026, 3, 6, 19, tzinfo=UTC), datetime(2026, 3, 13, 18, tzinfo=UTC)],
         [datetime(2026, 3, 9, 4, tzinfo=UTC), datetime(2026, 3, 16, 4, tzinfo=UTC)]),
        # Fall back (Sun 2026-11-01).
        (datetime(2026, 10, 26, tzinfo=NY), datetime(2026, 11, 9, tzinfo=NY),
         [datetime(2026, 10, 30, 18, tzinfo=UTC), datetime(2026, 11, 6, 19, tzinfo=UTC)],
         [datetime(2026, 11, 2, 5, tzinfo=UTC), datetime(2026, 11, 9, 5, tzinfo=UTC)]),
    ],
)
def test_friday_cut_off_across_daylight_saving_changes(
    start: datetime, end: datetime, closes_utc: list[datetime],
    next_window_utc: list[datetime],
) -> None:
    planned = run(start, end, schedules={"production": GUIDE})
    assert [a.closes_at for a in planned] == closes_utc
    assert [a.due_at for a in planned] == [c - H for c in closes_utc]
    assert [a.next_window for a in planned] == next_window_utc
    assert [a.key for a in planned] == [
        f"schedule:production:closes:{iso(c)}:warn:1h" for c in closes_utc]
    for a in planned:  # always 13:00 local, one real hour before 14:00 local
        assert a.due_at.astimezone(NY).hour == 13
        assert words.text(a, NY).startswith("⏰ production closes for normal deploys in 1 hour "
                                            "(Fri ")


def test_a_close_on_the_night_the_clocks_go_forward_is_warned_one_real_hour_before() -> None:
    early_sunday = parse_schedule("America/New_York",
                                  {"saturday": "anytime", "sunday": {"until": "03:00"}})
    planned = run(ny(2026, 3, 7, 12), ny(2026, 3, 9), schedules={"staging": early_sunday})
    assert len(planned) == 1
    a = planned[0]
    assert a.closes_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert a.due_at == datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST: one real hour
    assert a.next_window == ny(2026, 3, 14, 0, 0)
    assert "(Sun 2026-03-08 03:00 EDT)" in words.text(a, NY)


def test_closings_are_the_open_to_closed_instants() -> None:
    nine_to_five = parse_schedule("UTC", {d: {"from": "09:00", "until": "17:00"}
                                          for d in ("monday", "tuesday")})
    start = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # Monday 17:00: a closing at the start
    assert closings(nine_to_five, start, start + timedelta(days=7)) == [
        start, datetime(2026, 11, 17, 17, 0, tzinfo=UTC)]
    assert closings(nine_to_five, start + timedelta(microseconds=1),
                    start + timedelta(days=2)) == [datetime(2026, 11, 17, 17, 0, tzinfo=UTC)]
    assert closings(nine_to_five, start + timedelta(microseconds=1),
                    start + timedelta(days=1)) == []  # the end is excluded
    always = parse_schedule("UTC", {d: "anytime" for d in
                                    ("monday", "tuesday", "wednesday", "thursday", "friday",
                                     "saturday", "sunday")})
    assert closings(always, start, start + timedelta(days=30)) == []


def test_no_closing_warning_without_a_schedule_or_when_switched_off() -> None:
    week = (ny(2026, 11, 16), ny(2026, 11, 23))
    assert run(*week, schedules={"staging": None}) == []
    assert run(*week, schedules={"production": GUIDE}, closing=None) == []


def test_a_freeze_of_the_environment_replaces_the_closing_warning_and_moves_the_next_window(
) -> None:
    bfcm = black_friday_cyber_monday(2026, NY, ["production"])
    # Black Friday: production is frozen all day, so 14:00 changes nothing.
    friday = run(ny(2026, 11, 26, 23, 30), ny(2026, 11, 28), freezes=[bfcm],
                 schedules={"production": GUIDE})
    assert [a.kind for a in friday] == ["freeze_start"]
    # A freeze of staging only does not; a Monday freeze of production moves the next window.
    staging = whole_days("Staging rebuild", date(2026, 11, 20), date(2026, 11, 20), NY,
                         environments=["staging"])
    monday = whole_days("Migration day", date(2026, 11, 23), date(2026, 11, 23), NY,
                        environments=["production"])
    planned = run(ny(2026, 11, 20, 12), ny(2026, 11, 20, 14), freezes=[staging, monday],
                  schedules={"production": GUIDE})
    assert [a.kind for a in planned] == ["window_closing"]
    assert planned[0].next_window == ny(2026, 11, 24, 0, 0)
    assert words.text(planned[0], NY).endswith("next window Tue 2026-11-24 00:00 EST.")


# --- the words ----------------------------------------------------------------------------------

def test_freeze_texts_say_which_environments() -> None:
    planned = run(ny(2026, 12, 1), ny(2026, 12, 31), freezes=[OFFSITE])
    warn_24h, warn_1h, start, end = (words.text(a, NY) for a in planned)
    assert warn_24h == (
        "⚠️ The *Company offsite* freeze (everyone is travelling) starts in 24 hours "
        "(Thu 2026-12-10 09:00 EST) and lasts until Fri 2026-12-11 18:00 EST: no normal "
        "deploys to production during it. Ship what must go out before then.")
    assert "starts in 1 hour (Thu 2026-12-10 09:00 EST)" in warn_1h
    assert start.startswith("🧊 The *Company offsite* freeze (everyone is travelling) has "
                            "started: normal deploys to production are blocked until "
                            "Fri 2026-12-11 18:00 EST.")
    assert end == ("✅ The *Company offsite* freeze is over (Fri 2026-12-11 18:00 EST): "
                   "deploys to production follow the regular schedule again.")


@pytest.mark.parametrize(
    ("environments", "services", "scope"),
    [
        (None, None, "all environments"),
        (["production"], None, "production"),
        (["staging", "production"], None, "production and staging"),
        (["a", "c", "b"], None, "a, b and c"),
        (["production"], ["api"], "api in production"),
        (None, ["web", "api"], "api and web in all environments"),
    ],
)
def test_scope(environments: list[str] | None, services: list[str] | None,
               scope: str) -> None:
    f = Freeze(name="Drill", start=ny(2026, 12, 1), end=ny(2026, 12, 2),
               environments=frozenset(environments) if environments else None,
               services=frozenset(services) if services else None)
    assert words.scope(f) == scope
    assert f"no normal deploys to {scope} during it" in words.freeze_warning(f, H, NY)


def test_a_name_ending_in_freeze_is_not_doubled() -> None:
    f = Freeze(name="Year-end freeze", start=ny(2026, 12, 20), end=ny(2027, 1, 2))
    assert words.freeze_started(f, NY).startswith("🧊 The *Year-end freeze* has started")


@pytest.mark.parametrize(
    ("lead", "label", "spoken"),
    [
        (timedelta(hours=24), "24h", "24 hours"),
        (timedelta(hours=1), "1h", "1 hour"),
        (timedelta(minutes=30), "30m", "30 minutes"),
        (timedelta(minutes=90), "1h30m", "1 hour 30 minutes"),
        (timedelta(days=2, seconds=1), "48h1s", "48 hours 1 second"),
    ],
)
def test_lead_labels(lead: timedelta, label: str, spoken: str) -> None:
    assert lead_label(lead) == label
    assert words.duration(lead) == spoken


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        run(ny(2026, 12, 1), ny(2026, 12, 2), leads=(timedelta(0),))
    with pytest.raises(ValueError, match="aware"):
        run(datetime(2026, 12, 1), ny(2026, 12, 2))
    assert run(ny(2026, 12, 2), ny(2026, 12, 1), freezes=[OFFSITE]) == []


def test_back_to_back_freezes_do_not_announce_a_reopening_or_a_window_that_is_not_there(
) -> None:
    # Thanksgiving (Thursday) then Black Friday / Cyber Monday from Friday 00:00: at 00:00
    # the channel read '✅ The Thanksgiving Day freeze is over: deploys to production follow
    # the regular schedule again.' — false, the next freeze began that instant — and during
    # Thanksgiving 'Black Friday … starts in 24 hours … Ship what must go out before then.',
    # when nothing normal could ship before then.
    thanksgiving = whole_days("Thanksgiving Day", date(2026, 11, 26), date(2026, 11, 26), NY,
                              reason="public holiday in US", environments=["production"],
                              source="holiday")
    bfcm = black_friday_cyber_monday(2026, NY, ["production"])
    planned = {a.key.rsplit(":", 1)[-1] + "@" + (a.freeze.name if a.freeze else ""): a
               for a in run(ny(2026, 11, 24), ny(2026, 12, 2), freezes=[thanksgiving, bfcm])}
    ended = words.text(planned["end@Thanksgiving Day"], NY)
    assert ended == ("✅ The *Thanksgiving Day* freeze is over (Fri 2026-11-27 00:00 EST); "
                     "the *Black Friday / Cyber Monday* freeze (peak traffic) keeps "
                     "production frozen until Tue 2026-12-01 00:00 EST.")
    during = words.text(planned["24h@Black Friday / Cyber Monday"], NY)
    assert during.endswith("no normal deploys to production during it. Nothing normal can "
                           "ship before then either: the *Thanksgiving Day* freeze holds.")
    assert "Ship what must go out" not in words.text(planned["1h@Black Friday / Cyber Monday"],
                                                     NY)
    # Before Thanksgiving its own warnings still say to ship first; BFCM's end reopens.
    assert words.text(planned["24h@Thanksgiving Day"], NY).endswith(
        "Ship what must go out before then.")
    assert words.text(planned["end@Black Friday / Cyber Monday"], NY).endswith(
        "follow the regular schedule again.")
