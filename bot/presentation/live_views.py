"""How live state reads in Slack: one status line per environment and service, and the
announcement of drift (a version deploybot did not put there)."""

from __future__ import annotations

from datetime import tzinfo

from bot.domain.live import Live
from bot.domain.policy import local
from bot.domain.text import shown


def since_text(live: Live, zone: tzinfo) -> str:
    return f"since {local(live.since, zone)}" if live.since is not None else "(since unknown)"


def last_known_note(unreadable: str | None) -> str:
    """What a line says when deploybot's record stands in for an executor that could not be
    read."""
    return f" — _last known (deploybot's record): the cluster could not be read: {unreadable}_"


def unsettled_note(detail: str | None) -> str:
    """What a line says when the workload is not all on the version it shows (a rollout
    under way, or a failed one left applied while the old pods still serve)."""
    return f" — rollout not settled: {detail or 'pods are still changing'}"


def live_line(live: Live, zone: tzinfo) -> str:
    """'`production` / `api`: `v1.2.4` since Wed 2026-12-02 10:05 EST' and the notes that
    keep it honest: last known (and why), changed outside deploybot, a rollout under way."""
    head = f"`{live.environment}` / `{live.service}`: "
    obs = live.observed
    if live.version is None:
        if live.source == "unknown":
            return head + f"unknown — could not be read: {live.unreadable}"
        if obs is not None and obs.image:
            return head + f"`{shown(obs.image, limit=80)}` (not a version of {live.service})"
        return head + "nothing running"
    text = head + f"`{live.version}` {since_text(live, zone)}"
    if live.source == "record":
        text += last_known_note(live.unreadable)
    if live.drift:
        by = f" by {obs.changed_by}" if obs is not None and obs.changed_by else ""
        recorded = f"; deploybot last deployed `{live.recorded.version}`" \
            if live.recorded else ""
        text += f" — ⚠️ changed outside deploybot{by}{recorded}"
    if obs is not None and not obs.settled:
        text += unsettled_note(obs.detail)
    return text


def drift_announcement(live: Live, zone: tzinfo) -> str:
    obs = live.observed
    by = f" by {obs.changed_by}" if obs is not None and obs.changed_by else ""
    what = f" (`{shown(obs.image, limit=120)}`)" if obs is not None and obs.image else ""
    recorded = (f" deploybot last deployed `{live.recorded.version}` there"
                f" (deployment #{live.recorded.deployment_id})." if live.recorded else "")
    return (f"⚠️ *{live.service}* in *{live.environment}* was changed outside deploybot"
            f"{by}: it runs `{live.version}`{what} {since_text(live, zone)}.{recorded} "
            f"Rollbacks and the promotion gate now work from `{live.version}`.")
