"""Deployment freezes (pure): named, half-open UTC ranges [start, end) during which normal
deploys to some (or all) environments and services are blocked.

A freeze comes from one of four sources, and its `id` says which, stably, so the same freeze
computed twice is recognisably the same (for audit, de-duplication and Slack buttons):

- config  — company-wide events and announced maintenance windows in app.yaml: `config:<slug>`
- holiday — a public holiday (the dates come from a backend): `holiday:<country>:<date>`
- rule    — computed every year, e.g. Black Friday / Cyber Monday: `rule:bfcm:<year>`
- runtime — declared in Slack and stored in the database: `runtime:<db id>`

Whole-day freezes are built from local calendar days (`whole_days`), so "Christmas" is the
whole 25th in the team's zone, DST changes included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from bot.domain.schedule import first_instant

FreezeSource = Literal["config", "holiday", "rule", "runtime"]
_SOURCES = ("config", "holiday", "rule", "runtime")

BFCM_NAME = "Black Friday / Cyber Monday"


def slug(name: str) -> str:
    """'Q4 All-Hands (Berlin)' → 'q4-all-hands-berlin'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "freeze"


def _frozen(values: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = (values,)
    result = frozenset(values)
    if not result:
        raise ValueError(f"{what} must be None (all) or name at least one")
    return result


@dataclass(frozen=True)
class Freeze:
    """A named freeze. `environments` / `services` None means all of them."""

    name: str
    start: datetime
    end: datetime
    reason: str = ""
    environments: frozenset[str] | None = None
    services: frozenset[str] | None = None
    source: FreezeSource = "config"
    id: str = ""

    def __post_init__(self) -> None:
        for label, t in (("start", self.start), ("end", self.end)):
            if t.tzinfo is None or t.utcoffset() is None:
                raise ValueError(f"freeze {self.name!r}: {label} must be an aware datetime")
        if self.end <= self.start:
            raise ValueError(f"freeze {self.name!r}: end must be after start")
        if self.source not in _SOURCES:
            raise ValueError(f"freeze {self.name!r}: unknown source {self.source!r}")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        object.__setattr__(self, "environments", _frozen(self.environments, "environments"))
        object.__setattr__(self, "services", _frozen(self.services, "services"))
        if not self.id:
            object.__setattr__(self, "id", f"{self.source}:{slug(self.name)}")

    def covers(self, at: datetime) -> bool:
        """Whether the instant `at` is inside [start, end)."""
        return self.start <= at < self.end

    def targets(self, environment: str, service: str | None = None) -> bool:
        """Whether the freeze is about this environment (and service; None = any service)."""
        if self.environments is not None and environment not in self.environments:
            return False
        return service is None or self.services is None or service in self.services

    def applies(self, environment: str, service: str, at: datetime) -> bool:
        """Whether it blocks a normal deploy of `service` to `environment` at `at`."""
        return self.covers(at) and self.targets(environment, service)


def whole_days(
    name: str,
    first: date,
    last: date,
    zone: tzinfo,
    *,
    reason: str = "",
    environments: Iterable[str] | None = None,
    services: Iterable[str] | None = None,
    source: FreezeSource = "config",
    id: str = "",
) -> Freeze:
    """A freeze of the local calendar days `first`..`last` (both included): from `first`
    00:00 to the day after `last` 00:00, local time in `zone`, stored in UTC."""
    if last < first:
        raise ValueError(f"freeze {name!r}: last day {last} is before first day {first}")
    return Freeze(
        name=name,
        start=first_instant(datetime.combine(first, time()), zone),
        end=first_instant(datetime.combine(last + timedelta(days=1), time()), zone),
        reason=reason,
        environments=_frozen(environments, "environments"),
        services=_frozen(services, "services"),
        source=source,
        id=id,
    )


def thanksgiving(year: int) -> date:
    """US Thanksgiving: the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3)


def black_friday_cyber_monday(
    year: int, zone: tzinfo, environments: Iterable[str] | None = None
) -> Freeze:
    """Black Friday (the day after US Thanksgiving) through Cyber Monday: Friday 00:00 local
    to Tuesday 00:00 local."""
    friday = thanksgiving(year) + timedelta(days=1)
    return whole_days(
        BFCM_NAME,
        friday,
        friday + timedelta(days=3),
        zone,
        reason="peak traffic",
        environments=environments,
        source="rule",
        id=f"rule:bfcm:{year}",
    )


def holiday_freezes(
    holidays: Iterable[tuple[date, str]],
    *,
    country: str,
    zone: tzinfo,
    environments: Iterable[str] | None = None,
) -> list[Freeze]:
    """One whole-local-day freeze per holiday date, sorted by date. Several names on one date
    become one freeze named "A; B", so each date has exactly one id."""
    names: dict[date, list[str]] = {}
    for day, name in holidays:
        if name not in names.setdefault(day, []):
            names[day].append(name)
    envs = None if environments is None else frozenset(environments)
    return [
        whole_days(
            "; ".join(names[day]),
            day,
            day,
            zone,
            reason=f"public holiday in {country}",
            environments=envs,
            source="holiday",
            id=f"holiday:{country}:{day.isoformat()}",
        )
        for day in sorted(names)
    ]


def _order(f: Freeze) -> tuple[datetime, datetime, str]:
    return (f.start, f.end, f.id)


def active(
    freezes: Iterable[Freeze], environment: str, service: str, at: datetime
) -> list[Freeze]:
    """The freezes that block `service` in `environment` at `at`, by start then end."""
    return sorted((f for f in freezes if f.applies(environment, service, at)), key=_order)


def upcoming(
    freezes: Iterable[Freeze], environment: str, at: datetime, within: timedelta
) -> list[Freeze]:
    """The freezes for `environment` (any service) that start in [at, at + within), by
    start. Freezes already running at `at` are `active`, not upcoming."""
    horizon = at + within
    return sorted(
        (f for f in freezes if at <= f.start < horizon and f.targets(environment)),
        key=_order,
    )


@dataclass(frozen=True)
class RuntimeFreeze:
    """A freeze added from Slack and stored in the database (`freeze.id` is runtime:<number>)."""

    number: int
    freeze: Freeze
    created_by: str
    created_at: datetime
