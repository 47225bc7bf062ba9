"""Weekly deployment schedules (pure): which local wall-clock hours of which weekdays are open
for normal deploys, in one time zone, and when the next open moment comes.

A `Schedule` maps weekdays (0 = Monday) to a `DayRule`: open all day ("anytime"), open only in
some half-open wall-clock `Window`s, or closed to everything but the emergency lane
("emergency_only"; also a day the schedule does not mention). Each day stands alone: a window
never spills over midnight into the next day, so days with different hours do not interact.

Everything is evaluated by the local wall clock of the schedule's zone:
- in the repeated hour when clocks go back, both 01:30s are "01:30" and are judged alike;
- in the skipped hour when clocks go forward, a boundary at a wall time that never happens
  (e.g. 02:30 on the spring-forward day in America/New_York) takes effect at the first real
  instant at or after it (03:00 EDT), see `first_instant`.

This module also owns `parse_day_rule` / `parse_schedule`, which read what app.yaml holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES = tuple(d.capitalize() for d in WEEKDAYS)

DayKind = Literal["anytime", "windows", "emergency_only"]

#: How far `Schedule.next_open` looks ahead before it gives up.
NEXT_OPEN_LIMIT = timedelta(days=14)


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M:%S") if t.second or t.microsecond else t.strftime("%H:%M")


@dataclass(frozen=True)
class Window:
    """A half-open local wall-clock range [start, end) within one day.

    `start=None` means from midnight, `end=None` means until midnight (the end of the day)."""

    start: time | None = None
    end: time | None = None

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if t is not None and t.tzinfo is not None:
                raise ValueError("window times are local wall-clock times, without a zone")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(
                f"until {_hhmm(self.end)} is not after from {_hhmm(self.start)}; a window "
                "cannot cross midnight: split it into two days"
            )

    def contains(self, t: time) -> bool:
        """Whether the wall-clock time `t` is inside the window."""
        after_start = self.start is None or t >= self.start
        before_end = self.end is None or t < self.end
        return after_start and before_end

    def describe(self) -> str:
        """'before 14:00', 'from 09:00', '09:00 to 17:00' or 'all day'."""
        if self.start is None and self.end is None:
            return "all day"
        if self.start is None:
            assert self.end is not None
            return f"before {_hhmm(self.end)}"
        if self.end is None:
            return f"from {_hhmm(self.start)}"
        return f"{_hhmm(self.start)} to {_hhmm(self.end)}"


@dataclass(frozen=True)
class DayRule:
    """What one weekday allows: everything, some windows, or the emergency lane only."""

    kind: DayKind
    windows: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("anytime", "windows", "emergency_only"):
            raise ValueError(f"unknown day rule kind {self.kind!r}")
        if (self.kind == "windows") != bool(self.windows):
            raise ValueError('windows are given exactly when kind is "windows"')

    def open_at(self, t: time) -> bool:
        """Whether the wall-clock time `t` on such a day is open for normal deploys."""
        if self.kind == "anytime":
            return True
        return any(w.contains(t) for w in self.windows)

    def describe(self) -> str:
        """'anytime', 'emergency fixes only', or the windows ('before 14:00')."""
        if self.kind == "anytime":
            return "anytime"
        if self.kind == "emergency_only":
            return "emergency fixes only"
        return " and ".join(w.describe() for w in self.windows)


ANYTIME = DayRule("anytime")
EMERGENCY_ONLY = DayRule("emergency_only")


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"an aware datetime is required, got naive {at.isoformat()}")


def _wall(at: datetime, zone: tzinfo) -> datetime:
    """The naive local wall-clock reading of the instant `at` in `zone`."""
    return at.astimezone(zone).replace(tzinfo=None)


def first_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The first real instant (UTC) at which the clock in `zone` reads `wall` or later.

    For an ordinary wall time this is the instant itself; for the repeated hour it is the
    first of the two; for a wall time inside a spring-forward gap it is the transition instant
    (e.g. 2026-03-08 02:30 in America/New_York → 03:00 EDT = 07:00 UTC)."""
    wall = wall.replace(tzinfo=None, fold=0)
    guesses = sorted(
        {wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1)}
    )
    for u in guesses:
        if _wall(u, zone) == wall:
            return u
    # A gap: the wall reading jumps over `wall` between the two guesses. Bisect (in whole
    # microseconds) for the first instant whose reading is at or after `wall`.
    lo, hi = guesses[0], guesses[-1]
    if _wall(lo, zone) >= wall:  # pragma: no cover - defensive, zones are monotone here
        return lo
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        if _wall(mid, zone) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _transition_in(lo: datetime, hi: datetime, zone: tzinfo) -> datetime | None:
    """The instant in (lo, hi] at which the UTC offset of `zone` changes, if it does (at most
    one change is assumed within a day)."""
    before, after = lo.astimezone(zone).utcoffset(), hi.astimezone(zone).utcoffset()
    if before == after:
        return None
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True)
class Schedule:
    """A weekly schedule in a time zone. `days` is keyed by weekday (0 = Monday); a day that is
    missing is emergency-only (closed for normal deploys)."""

    zone: ZoneInfo
    days: Mapping[int, DayRule]

    def __post_init__(self) -> None:
        bad = [d for d in self.days if d not in range(7)]
        if bad:
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), not {bad}")
        # Every weekday spelled out (missing → emergency-only), so equal schedules compare equal.
        full = {d: self.days.get(d, EMERGENCY_ONLY) for d in range(7)}
        object.__setattr__(self, "days", MappingProxyType(full))

    def rule(self, weekday: int) -> DayRule:
        return self.days[weekday]

    def open_at(self, at: datetime) -> bool:
        """Whether normal (non-emergency) deploys are allowed at the instant `at`."""
        _require_aware(at)
        local = _wall(at, self.zone)
        return self.rule(local.weekday()).open_at(local.time())

    def describe_closed(self, at: datetime, *, environment: str | None = None) -> str:
        """Why `at` is closed, in plain words; "" when it is open.

        e.g. "deploys to production are allowed Friday only before 14:00 (America/New_York)",
        "weekends are for emergency fixes only (America/New_York)"."""
        if self.open_at(at):
            return ""
        weekday = _wall(at, self.zone).weekday()
        rule = self.rule(weekday)
        where = f" ({self.zone.key})"
        if rule.kind == "emergency_only":
            weekend = weekday in (5, 6) and all(
                self.rule(d).kind == "emergency_only" for d in (5, 6)
            )
            days = "weekends" if weekend else f"{_DAY_NAMES[weekday]}s"
            scope = f" in {environment}" if environment else ""
            return f"{days} are for emergency fixes only{scope}{where}"
        deploys = f"deploys to {environment}" if environment else "deploys"
        return f"{deploys} are allowed {_DAY_NAMES[weekday]} only {rule.describe()}{where}"

    def describe(self) -> str:
        """The whole week in one line, consecutive equal days grouped:
        "Monday to Thursday anytime; Friday before 14:00; Saturday and Sunday emergency fixes only
        (America/New_York)"."""
        parts: list[str] = []
        start = 0
        for d in range(1, 8):
            if d == 7 or self.rule(d) != self.rule(start):
                first, last = _DAY_NAMES[start], _DAY_NAMES[d - 1]
                joiner = " and " if d - 1 == start + 1 else " to "
                span = first if d - 1 == start else f"{first}{joiner}{last}"
                parts.append(f"{span} {self.rule(start).describe()}")
                start = d
        return "; ".join(parts) + f" ({self.zone.key})"

    def _openings(self, day: date) -> Iterator[datetime]:
        """Every instant (UTC) on the local `day` at which the schedule may turn open: the
        start of the day, each window start (both readings of a repeated wall time), and a
        UTC-offset change (the wall clock jumping into or back into a window)."""
        day_start = first_instant(datetime.combine(day, time()), self.zone)
        next_start = first_instant(datetime.combine(day + timedelta(days=1), time()), self.zone)
        jump = _transition_in(day_start, next_start, self.zone)
        if jump is not None:
            yield jump
        rule = self.rule(day.weekday())
        if rule.kind == "emergency_only":
            return
        yield day_start
        for w in rule.windows:
            if w.start is not None:
                wall = datetime.combine(day, w.start)
                yield first_instant(wall, self.zone)
                yield wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC)

    def _boundaries(self, day: date) -> Iterator[datetime]:
        """Every instant (UTC) on the local `day` at which openness may change."""
        yield from self._openings(day)
        yield first_instant(datetime.combine(day, time()), self.zone)
        for w in self.rule(day.weekday()).windows:
            if w.end is not None:
                wall = datetime.combine(day, w.end)
                yield first_instant(wall, self.zone)
                yield wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC)

    def next_close(self, at: datetime) -> datetime | None:
        """The earliest instant (UTC) > `at` at which the schedule is closed, when `at` is
        open (else `at`); None if it stays open for the next 14 days."""
        _require_aware(at)
        at = at.astimezone(UTC)
        if not self.open_at(at):
            return at
        limit = at + NEXT_OPEN_LIMIT
        day, last_day = _wall(at, self.zone).date(), _wall(limit, self.zone).date()
        candidates: set[datetime] = set()
        while day <= last_day + timedelta(days=1):
            candidates.update(self._boundaries(day))
            day += timedelta(days=1)
        for c in sorted(candidates):
            if at < c <= limit and not self.open_at(c):
                return c
        return None

    def next_open(self, at: datetime) -> datetime | None:
        """The earliest instant (UTC) >= `at` at which the schedule is open; None if it stays
        closed for the next 14 days."""
        _require_aware(at)
        at = at.astimezone(UTC)
        if self.open_at(at):
            return at
        limit = at + NEXT_OPEN_LIMIT
        first_day = _wall(at, self.zone).date()
        last_day = _wall(limit, self.zone).date()
        candidates: set[datetime] = set()
        day = first_day
        while day <= last_day:
            candidates.update(self._openings(day))
            day += timedelta(days=1)
        for c in sorted(candidates):
            if at < c <= limit and self.open_at(c):
                return c
        return None


def guide_schedule(zone: ZoneInfo) -> Schedule:
    """The team guide's production schedule: Monday to Thursday anytime, Friday before 14:00,
    weekends emergency fixes only."""
    return Schedule(
        zone=zone,
        days={0: ANYTIME, 1: ANYTIME, 2: ANYTIME, 3: ANYTIME,
              4: DayRule("windows", (Window(None, time(14)),))},
    )


# --- reading app.yaml -------------------------------------------------------------------

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_RULE_FORMS = (
    'use "anytime", "emergency_only", "closed", a window such as {until: "14:00"}, '
    '{from: "09:00"} or {from: "09:00", until: "17:00"}, or a list of windows'
)


def _parse_time(key: str, value: object) -> time | None:
    """A wall-clock time from "HH:MM". `until: "24:00"` means until midnight (None)."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(f"{key}: use a local time without a zone, not {value}")
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f'{key}: expected a time like "14:00", not {type(value).__name__}')
    if isinstance(value, int):
        raise ValueError(
            f"{key}: got the number {value}; YAML reads an unquoted 14:00 as a base-60 number, "
            f'so quote the time: {key}: "14:00"'
        )
    m = _TIME.fullmatch(value.strip())
    hour, minute = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
    if key == "until" and (hour, minute) == (24, 0):
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{key}: {value!r} is not a time of day (HH:MM, 00:00 to 23:59)")
    return time(hour, minute)


def _parse_window(value: Mapping[object, object]) -> Window:
    unknown = [k for k in value if k not in ("from", "until")]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in a window; use from and/or until")
    if not value:
        raise ValueError('a window needs from, until or both, e.g. {until: "14:00"}')
    start = _parse_time("from", value["from"]) if "from" in value else None
    end = _parse_time("until", value["until"]) if "until" in value else None
    if start == time(0):
        start = None
    return Window(start, end)


def parse_day_rule(value: object) -> DayRule:
    """A `DayRule` from what app.yaml holds for one weekday:

    - "anytime"; "emergency_only" or "closed" (the same: only the emergency lane);
    - a window: {until: "14:00"}, {from: "09:00"}, {from: "09:00", until: "17:00"};
    - a list of windows (several on one day; they may touch but not overlap).

    Raises ValueError with the reason for anything else."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "anytime":
            return ANYTIME
        if word in ("emergency_only", "closed"):
            return EMERGENCY_ONLY
        raise ValueError(f"unknown day rule {value!r}; {_RULE_FORMS}")
    if isinstance(value, Mapping):
        return DayRule("windows", (_parse_window(value),))
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError('an empty list of windows; write "closed" for a closed day')
        windows: list[Window] = []
        for i, item in enumerate(value, start=1):
            if not isinstance(item, Mapping):
                raise ValueError(f"window {i}: expected a mapping with from/until, not {item!r}")
            try:
                windows.append(_parse_window(item))
            except ValueError as e:
                raise ValueError(f"window {i}: {e}") from None
        windows.sort(key=lambda w: w.start or time(0))
        for a, b in pairwise(windows):
            if a.end is None or (b.start or time(0)) < a.end:
                raise ValueError(f"windows {a.describe()} and {b.describe()} overlap")
        return DayRule("windows", tuple(windows))
    raise ValueError(f"a day rule cannot be {type(value).__name__}; {_RULE_FORMS}")


def parse_zone(name: str) -> ZoneInfo:
    """A ZoneInfo from an IANA name, with a ValueError naming the bad zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like "
                         "'America/New_York'") from None


def parse_schedule(zone: str, days: Mapping[str, object]) -> Schedule:
    """A `Schedule` from app.yaml: a zone name and weekday names (any case) → day rules.
    Days left out are emergency-only."""
    rules: dict[int, DayRule] = {}
    for name, value in days.items():
        key = str(name).strip().lower()
        if key not in WEEKDAYS:
            raise ValueError(f"unknown weekday {name!r}; use {', '.join(WEEKDAYS)}")
        try:
            rules[WEEKDAYS.index(key)] = parse_day_rule(value)
        except ValueError as e:
            raise ValueError(f"{key}: {e}") from None
    return Schedule(zone=parse_zone(zone), days=rules)
