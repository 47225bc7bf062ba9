"""The deployment-window decision (pure): may `service` go to `environment` at `at`?

One function, `decide`, combines the weekly schedule and every freeze:
- a freeze beats the schedule: a freeze blocks even when the schedule is open;
- every blocking reason is reported (freezes first, then the schedule), in plain words;
- the next allowed instant is computed by walking the change points (freeze ends and
  schedule openings) until neither a freeze applies nor the schedule is closed;
- the emergency lane lets a blocked deploy through, flagged, with what it overrides listed
  (the service layer then requires emergency approvers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from bot.domain.freezes import Freeze, active
from bot.domain.schedule import Schedule

_WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def local(at: datetime, zone: tzinfo) -> str:
    """An instant as the team reads it: "Fri 2026-11-27 14:00 EST" (independent of the
    process locale)."""
    t = at.astimezone(zone)
    return f"{_WEEKDAY_ABBR[t.weekday()]} {t:%Y-%m-%d %H:%M} {t.tzname()}"


@dataclass(frozen=True)
class PolicyDecision:
    """The outcome of `decide`.

    `allowed` is True when nothing blocks, or when the emergency lane overrides what blocks
    (then `emergency` is True and `reasons` / `blocked_by` list what was overridden).
    `blocked_by` holds machine-readable kinds: "freeze:<id>" and "schedule".
    `next_allowed_at` is the earliest instant >= at at which a normal deploy is allowed
    (`at` itself when nothing blocks), or None when not found within the horizon."""

    allowed: bool
    reasons: tuple[str, ...]
    next_allowed_at: datetime | None
    emergency: bool = False
    blocked_by: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        """Whether a normal (non-emergency) deploy would be refused right now."""
        return bool(self.blocked_by)


def freeze_reason(f: Freeze, zone: tzinfo) -> str:
    """e.g. "Black Friday / Cyber Monday freeze until Tue 2026-12-01 00:00 EST (peak traffic)"."""
    label = f.name if f.name.lower().endswith("freeze") else f"{f.name} freeze"
    why = f" ({f.reason})" if f.reason else ""
    return f"{label} until {local(f.end, zone)}{why}"


def next_allowed(
    *,
    environment: str,
    service: str,
    at: datetime,
    schedule: Schedule | None,
    freezes: Sequence[Freeze],
    horizon: timedelta = timedelta(days=60),
) -> datetime | None:
    """The earliest instant >= `at` (UTC) when no freeze applies and the schedule is open;
    None when there is none up to `at + horizon`."""
    t = at.astimezone(UTC)
    limit = t + horizon
    while t <= limit:
        blocking = active(freezes, environment, service, t)
        if blocking:
            t = max(f.end for f in blocking)  # freezes chain: jump past all of them
            continue
        if schedule is not None and not schedule.open_at(t):
            opens = schedule.next_open(t)
            if opens is None:
                return None
            t = opens
            continue
        return t
    return None


def closes_at(
    *,
    environment: str,
    service: str | None,
    at: datetime,
    schedule: Schedule | None,
    freezes: Sequence[Freeze],
) -> datetime | None:
    """The first instant (UTC) at which a normal deploy of `service` (None: any service) to
    `environment` stops being allowed, as seen from `at`: `at` itself when it is not
    allowed now, else the earlier of the next freeze start and the schedule closing; None
    when neither comes (the schedule looks 14 days ahead, freezes as far as they are given).

    A request's approval expiry is clipped to it: nothing approved later could start."""
    at = at.astimezone(UTC)
    frozen = any(f.covers(at) and f.targets(environment, service) for f in freezes)
    if frozen or (schedule is not None and not schedule.open_at(at)):
        return at
    candidates = [f.start for f in freezes
                  if f.start > at and f.targets(environment, service)]
    if schedule is not None:
        closing = schedule.next_close(at)
        if closing is not None:
            candidates.append(closing)
    return min(candidates, default=None)


def decide(
    *,
    environment: str,
    service: str,
    at: datetime,
    emergency: bool,
    schedule: Schedule | None,
    freezes: Sequence[Freeze],
    horizon: timedelta = timedelta(days=60),
    zone: tzinfo | None = None,
) -> PolicyDecision:
    """May `service` be deployed to `environment` at `at`? No schedule means always open;
    freezes apply on top of (and beat) the schedule. With `emergency=True` the deploy is
    allowed whatever blocks it, and flagged as an emergency when something did. Reasons
    show times in `zone` (default: the schedule's zone, else UTC)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"decide needs an aware datetime, got naive {at.isoformat()}")
    at = at.astimezone(UTC)
    if zone is None:
        zone = schedule.zone if schedule is not None else UTC
    reasons: list[str] = []
    blocked_by: list[str] = []
    for f in active(freezes, environment, service, at):
        reasons.append(freeze_reason(f, zone))
        blocked_by.append(f"freeze:{f.id}")
    if schedule is not None and not schedule.open_at(at):
        reasons.append(schedule.describe_closed(at, environment=environment))
        blocked_by.append("schedule")
    if not blocked_by:
        return PolicyDecision(allowed=True, reasons=(), next_allowed_at=at)
    return PolicyDecision(
        allowed=emergency,
        reasons=tuple(reasons),
        next_allowed_at=next_allowed(
            environment=environment, service=service, at=at, schedule=schedule,
            freezes=freezes, horizon=horizon,
        ),
        emergency=emergency,
        blocked_by=tuple(blocked_by),
    )
