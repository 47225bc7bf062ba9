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

Reading what app.yaml holds (`parse_schedule`, `parse_day_rule`) is bot.domain.schedule_parsing's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

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
