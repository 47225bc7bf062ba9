"""How live state reads in Slack: one status line per environment and service (the
version, since when, or, while a rollout is under way or a failed one is left applied, when
it was applied, how many of its pods serve and which versions still serve: `version_text`,
shared with App Home), and the announcement of drift (a version deploybot did not put
there)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.domain.live import Live, Observed, Serving
from bot.domain.policy import local
from bot.domain.text import shown
from bot.domain.versions import named


def since_text(live: Live, zone: tzinfo) -> str:
    return f"since {local(live.since, zone)}" if live.since is not None else "(since unknown)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _serving_text(s: Serving) -> str:
    what = f"`{s.version}`" if s.version is not None else shown(s.image or "?", limit=80)
    return f"{what} still serves ({_plural(s.pods, 'old pod')})"


def version_text(version: str, since: datetime | None, observed: Observed | None,
                 zone: tzinfo, tag: str | None = None) -> str:
    """A version as it runs: '`v1.2.4` since Wed 2026-12-02 10:05 EST'. Not all on it (the
    executor's `observed` answer unsettled, with its counts): when it was applied, never
    "since", and who serves meanwhile:
    '`v1.2.4-bad` applied … 11:00 EST, not running (0/3 new pods available); `v1.2.3` still
    serves (3 old pods)', or mid-rollout '`v1.2.4` applied …, rolling out: 2/3 new pods
    available; `v1.2.3` still serves (1 old pod)'. An executor that gives no counts: the
    version since when, and how far it is in its words (`unsettled_note`). A commit with its
    `tag` (known): "`v1.2.4` (commit `3f2a9c1b7d4e`) since …"."""
    head = named(version, tag) + " " + (f"since {local(since, zone)}" if since is not None
                                        else "(since unknown)")
    if observed is None or observed.settled:
        return head
    p = observed.progress
    if p is None:
        return head + unsettled_note(observed.detail)
    text = named(version, tag) + " applied" + (f" {local(p.applied, zone)}" if p.applied
                                               else "")
    counts = f"{p.available}/{p.desired} new pod{'s' if p.desired != 1 else ''} available"
    note = observed.detail
    if p.running:
        text += f", rolling out: {counts}" + (f" ({note})" if note else "")
    else:
        text += f", not running ({counts}" + (f"; {note}" if note else "") + ")"
    serving = [_serving_text(s) for s in p.serving]
    if not serving and not p.running:
        serving = ["no pod serves"]
    return "; ".join([text, *serving])


def stopped_note(obs: Observed) -> str:
    """Why nothing runs though the workload exists: scaled to zero replicas."""
    template = f"`{obs.version}`" if obs.version else shown(obs.image or "?", limit=80)
    return f" — its Deployment is scaled to 0 replicas (its template: {template})"


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
        if obs is not None and obs.stopped:
            return head + "nothing running" + stopped_note(obs)
        if obs is not None and obs.image:
            return head + f"{shown(obs.image, limit=80)} (not a version of {live.service})"
        return head + "nothing running"
    text = head + version_text(live.version, live.since, obs, zone, live.tag)
    if live.source == "record":
        text += last_known_note(live.unreadable)
    if live.drift:
        by = f" by {obs.changed_by}" if obs is not None and obs.changed_by else ""
        recorded = f"; deploybot last deployed `{live.recorded.version}`" \
            if live.recorded else ""
        text += f" — ⚠️ changed outside deploybot{by}{recorded}"
    return text


def drift_announcement(live: Live, zone: tzinfo) -> str:
    obs = live.observed
    by = f" by {obs.changed_by}" if obs is not None and obs.changed_by else ""
    what = f" ({shown(obs.image, limit=120)})" if obs is not None and obs.image else ""
    recorded = (f" deploybot last deployed `{live.recorded.version}` there"
                f" (deployment #{live.recorded.deployment_id})." if live.recorded else "")
    runs = (f"it runs `{live.version}`{what} {since_text(live, zone)}" if live.settled
            else f"its rollout is not settled: {version_text(str(live.version), None, obs, zone)}")
    return (f"⚠️ *{live.service}* in *{live.environment}* was changed outside deploybot"
            f"{by}: {runs}.{recorded} "
            f"Rollbacks and the downgrade check now work from `{live.version}`; the "
            "promotion gate still counts only what deploybot deployed and verified.")
