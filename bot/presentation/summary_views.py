"""The words of the daily summary email (pure, plain text): the day's deployments per
environment (count, succeeded, failed, the list) and the low-severity events routed to the
summary. Times are shown in the team's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.domain.alerts import DaySummary, EnvironmentDay
from bot.domain.deployment import Deployment, Kind
from bot.domain.links import NO_LINKS, LinkCatalog
from bot.domain.outcome_notes import headline_error
from bot.presentation.alert_views import headline
from bot.presentation.link_views import plain_lines


def _at(t: datetime, zone: tzinfo) -> str:
    return t.astimezone(zone).strftime("%a %d %b %H:%M")


def subject(summary: DaySummary, prefix: str) -> str:
    return f"{prefix} — {summary.day.strftime('%a %d %b %Y')}: {summary.total} deployment" \
           f"{'' if summary.total == 1 else 's'}"


def _line(d: Deployment, zone: tzinfo) -> str:
    when = (d.finished_at or d.requested_at).astimezone(zone).strftime("%a %H:%M")
    what = "rollback to" if d.kind is Kind.ROLLBACK else "deploy"
    text = f"  #{d.id} {when} {d.service} {what} {d.version}: {d.state.value}" \
           f" (by {d.requested_by})"
    error = headline_error(d)
    if error and d.state.value in ("failed", "rolled_back"):
        text += f" — {error}"
    return text


def _environment(e: EnvironmentDay, zone: tzinfo) -> list[str]:
    n = len(e.deployments)
    if not n:
        return [f"{e.environment}: no deployments"]
    head = (f"{e.environment}: {n} deployment{'' if n == 1 else 's'}, {e.succeeded} "
            f"succeeded, {e.failed} failed")
    if e.other:
        head += f", {e.other} other (expired, rejected, cancelled or in flight)"
    return [head, *(_line(d, zone) for d in e.deployments)]


def body(summary: DaySummary, zone: tzinfo, links: LinkCatalog = NO_LINKS) -> str:
    """The email's text; each event is followed by its service's `links` (dashboard,
    runbook, logs, …), one `Label: URL` line each."""
    lines = [f"Deployments from {_at(summary.start, zone)} to {_at(summary.end, zone)} "
             f"({zone}):", ""]
    for e in summary.environments:
        lines += [*_environment(e, zone), ""]
    lines.append(f"Low-severity events ({len(summary.events)}):")
    for a in summary.events:
        lines.append(f"  [{a.severity.value}] {headline(a)}")
        lines += plain_lines(links.resolve(a.service, a.environment, a.version), "      ")
    if not summary.events:
        lines.append("  none")
    lines += ["", "— deploybot"]
    return "\n".join(lines) + "\n"
