"""Reading the weekly deployment schedules app.yaml holds (pure): `parse_schedule` (a zone
name and weekday names → day rules), `parse_day_rule` (one weekday's "anytime",
"emergency_only"/"closed", a window or a list of windows), `parse_zone` (an IANA name), each
raising ValueError with the reason. What a schedule means is bot.domain.schedule's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.schedule import ANYTIME, EMERGENCY_ONLY, WEEKDAYS, DayRule, Schedule, Window

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
