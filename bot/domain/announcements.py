"""What the bot announces in the deployments channel, and when (pure).

`plan` turns freezes, schedules and lead times into the announcements that fall due in a
window [start, end):

- before each freeze starts, one warning per lead time (`freeze_warnings`, e.g. 24 h, 1 h);
- when a freeze starts, and when it ends;
- before each schedule closes for normal deploys (`window_closing_warning`, e.g. 1 h before
  the Friday 14:00 cut-off), with the next time a normal deploy is allowed again.

Each announcement has a deterministic `key`, the same whoever computes it and whenever, so
the store can record it once and every process on one database posts it at most once:

    freeze:<freeze id>@<start, UTC ISO>:warn:<lead>
        e.g. freeze:rule:bfcm:2026@2026-11-27T05:00:00Z:warn:24h
    freeze:<freeze id>@<start, UTC ISO>:start
    freeze:<freeze id>@<start, UTC ISO>:end
    schedule:<environment>:closes:<UTC ISO instant>:warn:<lead>

The freeze's start is part of its keys because a config window's id is its name: the same
name on other dates (next year's offsite) is another freeze, with its own announcements.
Lead times are real (elapsed) time: "1 hour before" a close just after a daylight-saving
change is one real hour earlier, whatever the wall clock shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.domain.freezes import Freeze
from bot.domain.policy import next_allowed
from bot.domain.schedule import Schedule

AnnouncementKind = Literal["freeze_warning", "freeze_start", "freeze_end", "window_closing"]

#: The smallest step of time (datetimes have microsecond resolution).
TICK = timedelta(microseconds=1)
#: How far ahead the "next window" after a schedule closes is looked for.
NEXT_WINDOW_HORIZON = timedelta(days=60)


def iso(at: datetime) -> str:
    """An instant as a key part: UTC, seconds, 'Z' ('2026-11-20T19:00:00Z')."""
    return at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def lead_label(lead: timedelta) -> str:
    """A lead time as a key part: '24h', '1h', '30m', '1h30m', '45s'."""
    seconds = int(lead.total_seconds())
    if seconds <= 0:
        raise ValueError(f"a lead time must be positive, not {lead}")
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((h, "h"), (m, "m"), (s, "s")) if n)


@dataclass(frozen=True)
class PlannedAnnouncement:
    """One announcement to post at `due_at` (UTC). The fields after `kind` say what about:
    a freeze (`freeze`, and `lead` for a warning) or a schedule closing (`environment`,
    `closes_at`, `lead`, and `next_window`: when a normal deploy is allowed again, None when
    not within the horizon). `held_by`: another freeze blocking every deploy `freeze` blocks
    — at its end (it does not reopen them), or from its warning until it starts (nothing
    normal can ship before it)."""

    key: str
    due_at: datetime
    kind: AnnouncementKind
    freeze: Freeze | None = None
    lead: timedelta | None = None
    environment: str | None = None
    closes_at: datetime | None = None
    next_window: datetime | None = None
    held_by: Freeze | None = None


def _require_aware(label: str, at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{label} must be an aware datetime, got naive {at.isoformat()}")


def freeze_announcements(
    freeze: Freeze, freeze_warnings: Iterable[timedelta]
) -> list[PlannedAnnouncement]:
    """Every announcement about one freeze, whenever due: a warning per lead time, its
    start and its end."""
    base = f"freeze:{freeze.id}@{iso(freeze.start)}"
    out = [
        PlannedAnnouncement(key=f"{base}:warn:{lead_label(lead)}", due_at=freeze.start - lead,
                            kind="freeze_warning", freeze=freeze, lead=lead)
        for lead in sorted(set(freeze_warnings), reverse=True)
    ]
    out.append(PlannedAnnouncement(key=f"{base}:start", due_at=freeze.start,
                                   kind="freeze_start", freeze=freeze))
    out.append(PlannedAnnouncement(key=f"{base}:end", due_at=freeze.end, kind="freeze_end",
                                   freeze=freeze))
    return out


def _blocks_all_of(g: Freeze, f: Freeze) -> bool:
    """Whether `g` blocks every deploy `f` blocks (each of its environments, every service)."""
    if g.services is not None:
        return False
    return g.environments is None or (f.environments is not None
                                      and f.environments <= g.environments)


def _held(a: PlannedAnnouncement, freezes: Sequence[Freeze]) -> PlannedAnnouncement:
    """`a` with `held_by` set: for a freeze's end, another freeze going on at that instant;
    for a warning, one going on from the warning until the freeze starts (the latest-ending
    of them). Its start is announced as usual."""
    f = a.freeze
    if f is None or a.kind == "freeze_start":
        return a
    since, until = (f.end, f.end + TICK) if a.kind == "freeze_end" else (a.due_at, f.start)
    held = [g for g in freezes if g != f and _blocks_all_of(g, f)
            and g.start <= since and g.end >= until]
    holder = max(held, key=lambda g: g.end, default=None)
    return a if holder is None else replace(a, held_by=holder)


def closings(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end) at which `schedule` turns from open to closed."""
    out: list[datetime] = []
    t = start.astimezone(UTC) - TICK  # so that a closing exactly at `start` is found
    while t < end:
        if not schedule.open_at(t):
            opens = schedule.next_open(t)
            if opens is None or opens >= end:
                break
            t = opens
            continue
        closes = schedule.next_close(t)
        if closes is None or closes >= end:
            break
        if closes >= start:
            out.append(closes)
        t = closes
    return out


def _frozen_before(freezes: Sequence[Freeze], environment: str, at: datetime) -> bool:
    """Whether a freeze of the whole environment (every service) blocks deploys just before
    `at`: then the schedule closing at `at` changes nothing and is not announced."""
    just_before = at - TICK
    return any(f.services is None and f.applies(environment, "*", just_before)
               for f in freezes)


def window_closing_announcements(
    environment: str,
    schedule: Schedule,
    lead: timedelta,
    freezes: Sequence[Freeze],
    start: datetime,
    end: datetime,
) -> list[PlannedAnnouncement]:
    """The warnings, due in [start, end), `lead` before `schedule` closes."""
    out: list[PlannedAnnouncement] = []
    for closes in closings(schedule, start + lead, end + lead):
        if _frozen_before(freezes, environment, closes):
            continue
        reopens = next_allowed(environment=environment, service="*", at=closes,
                               schedule=schedule, freezes=freezes,
                               horizon=NEXT_WINDOW_HORIZON)
        out.append(PlannedAnnouncement(
            key=f"schedule:{environment}:closes:{iso(closes)}:warn:{lead_label(lead)}",
            due_at=closes - lead, kind="window_closing", lead=lead,
            environment=environment, closes_at=closes, next_window=reopens,
        ))
    return out


def plan(
    *,
    freezes: Sequence[Freeze],
    schedules: Mapping[str, Schedule | None],
    freeze_warnings: Sequence[timedelta],
    window_closing_warning: timedelta | None,
    start: datetime,
    end: datetime,
) -> list[PlannedAnnouncement]:
    """The announcements due in [start, end), by due time then key, each key once.

    `freezes` must hold every freeze that may matter: those starting up to the longest lead
    after `end` (for warnings), those ending in the window, and those up to
    `NEXT_WINDOW_HORIZON` after it (for the next window after a schedule closes).
    `schedules` maps each environment to its schedule (None: always open, never closes)."""
    _require_aware("start", start)
    _require_aware("end", end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    for lead in freeze_warnings:
        lead_label(lead)  # positive, or ValueError
    candidates: list[PlannedAnnouncement] = []
    for f in freezes:
        candidates += [_held(a, freezes) for a in freeze_announcements(f, freeze_warnings)]
    if window_closing_warning is not None:
        lead_label(window_closing_warning)
        for environment in sorted(schedules):
            schedule = schedules[environment]
            if schedule is not None:
                candidates += window_closing_announcements(
                    environment, schedule, window_closing_warning, freezes, start, end)
    seen: set[str] = set()
    out: list[PlannedAnnouncement] = []
    for a in sorted(candidates, key=lambda a: (a.due_at, a.key)):
        if start <= a.due_at < end and a.key not in seen:
            seen.add(a.key)
            out.append(a)
    return out
