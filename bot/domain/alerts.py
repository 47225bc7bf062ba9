"""Alert routing by severity (issue 7), pure: which events deploybot raises, where each
goes, and what the daily summary holds.

This module owns:

- the destinations an alert can be routed to (`Destination`): PagerDuty, a Slack channel
  (`slack:#ops-alerts`, `slack:C0123…`) and the daily summary email (`summary`), parsed
  from app.yaml's `alerts.routes` (`parse_destination`), and `route` (severity → where);
- the alert a deployment's change raises (`alert_for`): one per deployment, at its first
  end — succeeded, failed, rolled back, its approval expired, or cancelled before it
  started because of a lock — at the severity bot.domain.severity gives it; and the alert
  of a deploy request a lock refused at once (`lock_refusal`: no deployment exists);
- PagerDuty's side (`PagerEvent`): one dedup key per service and environment
  (`deploybot-<environment>-<service>`), so that a later success there — a deploy, or a
  rollback — resolves the incident a failure triggered (`recovers`, `open_incident`);
- the daily summary (`summary_due`, `summary_window`, `day_summary`): the 24 hours up to
  the configured time of day, per environment, and the events routed to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Literal

from bot.domain.deployment import Deployment, Kind
from bot.domain.links import Link
from bot.domain.locks import Lock
from bot.domain.severity import (
    DEFAULT_SEVERITY,
    Outcome,
    Production,
    Severity,
    blocked_by_lock,
    outcome_of,
)
from bot.domain.states import State


class DestinationKind(StrEnum):
    PAGERDUTY = "pagerduty"
    SLACK = "slack"
    SUMMARY = "summary"


@dataclass(frozen=True)
class Destination:
    kind: DestinationKind
    channel: str | None = None  # SLACK: "#name" or a channel id

    def __str__(self) -> str:
        return f"slack:{self.channel}" if self.kind is DestinationKind.SLACK else self.kind.value


PAGERDUTY = Destination(DestinationKind.PAGERDUTY)
SUMMARY = Destination(DestinationKind.SUMMARY)

_CHANNEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _is_channel(name: str) -> bool:
    if name.startswith("#"):
        return 1 < len(name) <= 81 and set(name[1:]) <= _CHANNEL_CHARS
    return (len(name) >= 3 and name[0] in "CG"
            and all(c.isascii() and (c.isupper() or c.isdigit()) for c in name))


def parse_destination(text: str) -> Destination:
    """'pagerduty', 'summary' or 'slack:#channel' (or 'slack:C0123…'); ValueError else."""
    value = text.strip()
    if value == DestinationKind.PAGERDUTY.value:
        return PAGERDUTY
    if value == DestinationKind.SUMMARY.value:
        return SUMMARY
    kind, _, channel = value.partition(":")
    if kind == DestinationKind.SLACK.value and _is_channel(channel):
        return Destination(DestinationKind.SLACK, channel)
    raise ValueError(f"{text!r} is not a destination (use pagerduty, summary, or "
                     "slack:#channel / slack:C0123456789)")


Routes = Mapping[Severity, Sequence[Destination]]


def route(severity: Severity, routes: Routes) -> tuple[Destination, ...]:
    """Where an alert of `severity` goes (nowhere when the routes leave it out), each once."""
    return tuple(dict.fromkeys(routes.get(severity, ())))


@dataclass(frozen=True)
class Alert:
    """An event deploybot raises: one deployment's end, or a deploy request refused by a
    lock (no deployment: `deployment_id` None, `lock_id` set), at its severity."""

    deployment_id: int | None
    service: str
    environment: str
    version: str | None
    kind: Kind
    state: State
    outcome: Outcome
    severity: Severity
    at: datetime  # when it ended (was refused)
    requested_by: str
    error: str | None = None
    lock_id: int | None = None

    @property
    def key(self) -> str:
        """The claim that makes one process, once, route it (the announcements log): once
        per deployment; a lock refusing someone, once per lock and person."""
        if self.deployment_id is None:
            return f"alert:lock:{self.lock_id}:{self.requested_by}"
        return f"alert:{self.deployment_id}"


_RAN = frozenset({State.SUCCEEDED, State.FAILED, State.ROLLED_BACK})
_ENDED = _RAN | {State.EXPIRED}


def alert_for(d: Deployment, *, production: Production,
              mapping: Mapping[Outcome, Severity] = DEFAULT_SEVERITY) -> Alert | None:
    """The alert `d` raises as it is now; None while it is in flight, for a migration run
    or a flag change, and for an end nobody needs telling about (rejected, cancelled by
    its requester).

    A deployment raises one alert, at its first end (its key): a deploy a later rollback
    replaces (succeeded → rolled_back) is not raised again; the rollback is."""
    if d.kind in (Kind.MIGRATE, Kind.FLAG):
        return None
    if d.state not in _ENDED and not blocked_by_lock(d):
        return None
    outcome = outcome_of(d, production=production)
    return Alert(deployment_id=d.id, service=d.service, environment=d.environment,
                 version=d.version, kind=d.kind, state=d.state, outcome=outcome,
                 severity=mapping.get(outcome, DEFAULT_SEVERITY[outcome]),
                 at=d.finished_at or d.requested_at, requested_by=d.requested_by,
                 error=d.error)


def lock_refusal(lock: Lock, *, user_id: str, at: datetime, reason: str,
                 mapping: Mapping[Outcome, Severity] = DEFAULT_SEVERITY) -> Alert:
    """The alert of a deploy request `lock` refused (nothing was created: `reason` is what
    the requester was told)."""
    outcome = Outcome.LOCK_BLOCKED
    return Alert(deployment_id=None, service=lock.service, environment=lock.environment,
                 version=None, kind=Kind.DEPLOY, state=State.CANCELLED, outcome=outcome,
                 severity=mapping.get(outcome, DEFAULT_SEVERITY[outcome]), at=at,
                 requested_by=user_id, error=reason, lock_id=lock.id)


def recovers(d: Deployment) -> bool:
    """A success that ends an incident of its service and environment: a deploy, or a
    rollback, that went live (and passed its watch)."""
    return d.state is State.SUCCEEDED and d.kind in (Kind.DEPLOY, Kind.ROLLBACK)


def open_incident(d: Deployment, history: Sequence[Deployment], *, production: Production,
                  mapping: Mapping[Outcome, Severity], routes: Routes) -> bool:
    """Whether `d` (a success: `recovers`) ends an incident PagerDuty holds: the last
    deployment of its service and environment that ended before it (`history`: theirs,
    newest first) raised an alert routed to PagerDuty."""
    if not recovers(d):
        return False
    for earlier in history:
        if earlier.id >= d.id or earlier.state not in _RAN:
            continue  # in flight, or never ran (rejected, expired, …): look further back
        alert = alert_for(earlier, production=production, mapping=mapping)
        return alert is not None and PAGERDUTY in route(alert.severity, routes)
    return False


# -- PagerDuty (Events API v2) -----------------------------------------------------------

#: deploybot's levels as PagerDuty's (critical, error, warning, info).
PAGERDUTY_SEVERITY: Mapping[Severity, str] = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
}


def dedup_key(environment: str, service: str) -> str:
    """One incident per service and environment: a failure triggers it (again: PagerDuty
    groups a second failure into the open incident), the next success resolves it."""
    return f"deploybot-{environment}-{service}"


@dataclass(frozen=True)
class PagerEvent:
    action: Literal["trigger", "resolve"]
    dedup_key: str
    summary: str = ""
    source: str = ""
    severity: str = "info"
    component: str | None = None  # the service
    group: str | None = None  # the environment
    event_class: str | None = None  # the outcome
    timestamp: datetime | None = None
    links: tuple[tuple[str, str], ...] = ()  # (href, text)
    details: Mapping[str, str] = field(default_factory=dict)


def trigger_event(alert: Alert, *, summary: str, source: str, link: str | None,
                  links: Sequence[Link] = ()) -> PagerEvent:
    """The trigger of `alert`'s incident: `link` (the Slack thread) first, then the
    service's `links` (dashboard, runbook, logs, …) in the event's `links` field (Events API
    v2: a list of {href, text}, `text` optional; PagerDuty's "Send an Alert Event", The
    `links` Property: github.com/PagerDuty/developer-docs,
    docs/events-API-v2/02-Trigger-Events.md)."""
    details = {"outcome": alert.outcome.value, "severity": alert.severity.value,
               "requested_by": alert.requested_by}
    if alert.deployment_id is not None:
        details["deployment"] = f"#{alert.deployment_id}"
    if alert.version is not None:
        details["version"] = alert.version
    if alert.error:
        details["error"] = alert.error
    return PagerEvent(action="trigger", dedup_key=dedup_key(alert.environment, alert.service),
                      summary=summary[:1024], source=source,
                      severity=PAGERDUTY_SEVERITY[alert.severity], component=alert.service,
                      group=alert.environment, event_class=alert.outcome.value,
                      timestamp=alert.at,
                      links=(*(((link, "Slack thread"),) if link else ()),
                             *((x.url, x.label) for x in links)),
                      details=details)


def resolve_event(environment: str, service: str) -> PagerEvent:
    return PagerEvent(action="resolve", dedup_key=dedup_key(environment, service))


# -- the daily summary --------------------------------------------------------------------


def summary_due(at: datetime, *, send_at: time, zone: tzinfo) -> date | None:
    """The day whose summary is due at `at` (its send time has passed, in the team's time
    zone); None before the send time."""
    local = at.astimezone(zone)
    return local.date() if local.time().replace(tzinfo=None) >= send_at else None


def summary_window(day: date, *, send_at: time, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of `day`'s summary (in UTC): from the send time the day before to the send time
    of `day` (local), so that every deployment is in exactly one summary."""
    end = datetime.combine(day, send_at, tzinfo=zone)
    start = datetime.combine(day - timedelta(days=1), send_at, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)  # aware UTC: real hours apart


@dataclass(frozen=True)
class EnvironmentDay:
    environment: str
    deployments: tuple[Deployment, ...]  # oldest first

    @property
    def succeeded(self) -> int:
        return sum(d.state is State.SUCCEEDED for d in self.deployments)

    @property
    def failed(self) -> int:
        return sum(d.state in (State.FAILED, State.ROLLED_BACK) for d in self.deployments)

    @property
    def other(self) -> int:
        return len(self.deployments) - self.succeeded - self.failed


@dataclass(frozen=True)
class DaySummary:
    day: date
    start: datetime
    end: datetime
    environments: tuple[EnvironmentDay, ...]
    events: tuple[Alert, ...]  # the alerts routed to the summary, oldest first

    @property
    def total(self) -> int:
        return sum(len(e.deployments) for e in self.environments)


def _when(d: Deployment) -> datetime:
    return d.finished_at or d.requested_at


def in_window(d: Deployment, start: datetime, end: datetime) -> bool:
    """A deployment belongs to the summary of the window it ended in (or, still open, was
    requested in)."""
    return start <= _when(d) < end


def day_summary(day: date, *, start: datetime, end: datetime,
                deployments: Sequence[Deployment], environments: Sequence[str],
                production: Production, mapping: Mapping[Outcome, Severity],
                routes: Routes) -> DaySummary:
    """The summary of `deployments` (any order) that fall in [start, end): per environment
    (in `environments`' order, then any other), and the events routed to the summary.
    Migration runs are left out (they change no version)."""
    mine = sorted((d for d in deployments
                   if d.kind not in (Kind.MIGRATE, Kind.FLAG) and in_window(d, start, end)),
                  key=lambda d: (_when(d), d.id))
    order = list(dict.fromkeys([*environments, *(d.environment for d in mine)]))
    per_env = tuple(EnvironmentDay(env, tuple(d for d in mine if d.environment == env))
                    for env in order)
    events: list[Alert] = []
    for d in mine:
        alert = alert_for(d, production=production, mapping=mapping)
        if alert is not None and SUMMARY in route(alert.severity, routes):
            events.append(alert)
    return DaySummary(day=day, start=start, end=end, environments=per_env,
                      events=tuple(events))
