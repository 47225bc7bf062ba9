"""The words of the deployments-channel announcements (pure): freeze warnings, freeze
start and end, and the schedule closing. Times are shown in the team's zone."""

from __future__ import annotations

from datetime import timedelta, tzinfo

from bot.domain.announcements import NEXT_WINDOW_HORIZON, PlannedAnnouncement
from bot.domain.freezes import Freeze
from bot.domain.policy import local
from bot.domain.text import reason_text


def _names(names: frozenset[str]) -> str:
    items = sorted(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def scope(f: Freeze) -> str:
    """Which deploys the freeze is about: 'all environments', 'production',
    'production and staging', 'api in production'."""
    envs = "all environments" if f.environments is None else _names(f.environments)
    if f.services is None:
        return envs
    return f"{_names(f.services)} in {envs}"


def duration(d: timedelta) -> str:
    """'24 hours', '1 hour', '30 minutes', '1 hour 30 minutes', '45 seconds'."""
    seconds = int(d.total_seconds())
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}"
             for n, unit in ((h, "hour"), (m, "minute"), (s, "second")) if n]
    return " ".join(parts) or "0 seconds"


def _label(f: Freeze) -> str:
    """The freeze's name in bold (a name typed in `/freeze add` cannot mention anyone)."""
    name = reason_text(f.name, limit=100).replace("*", "")
    return f"*{name}*" + ("" if f.name.lower().endswith("freeze") else " freeze")


def _why(f: Freeze) -> str:
    return f" ({reason_text(f.reason, limit=200)})" if f.reason else ""


def _emergency_command(f: Freeze) -> str:
    """The command for an emergency fix during `f`, with its environment when it is one:
    `/deploy production &lt;version&gt; --emergency "reason"` (Slack shows `&lt;` as `<`;
    a bare `<version>` would be read as markup and vanish)."""
    env = (next(iter(f.environments)) if f.environments is not None
           and len(f.environments) == 1 else "&lt;environment&gt;")
    return f'`/deploy {env} &lt;version&gt; --emergency "reason"`'



def freeze_warning(f: Freeze, lead: timedelta, zone: tzinfo,
                   held_by: Freeze | None = None) -> str:
    ship = ("Ship what must go out before then." if held_by is None
            else f"Nothing normal can ship before then either: the {_label(held_by)} holds.")
    return (f"⚠️ The {_label(f)}{_why(f)} starts in {duration(lead)} "
            f"({local(f.start, zone)}) and lasts until {local(f.end, zone)}: no normal "
            f"deploys to {scope(f)} during it. {ship}")


def freeze_started(f: Freeze, zone: tzinfo) -> str:
    return (f"🧊 The {_label(f)}{_why(f)} has started: normal deploys to {scope(f)} are "
            f"blocked until {local(f.end, zone)}. Emergency fixes: {_emergency_command(f)} "
            "(they need emergency approval).")


def freeze_ended(f: Freeze, zone: tzinfo, held_by: Freeze | None = None) -> str:
    if held_by is not None:  # back to back: nothing reopens
        return (f"✅ The {_label(f)} is over ({local(f.end, zone)}); the {_label(held_by)}"
                f"{_why(held_by)} keeps {scope(f)} frozen until {local(held_by.end, zone)}.")
    return (f"✅ The {_label(f)} is over ({local(f.end, zone)}): deploys to {scope(f)} "
            f"follow the regular schedule again.")


def window_closing(environment: str, lead: timedelta, closes_at_text: str,
                   next_window_text: str | None) -> str:
    after = (f"next window {next_window_text}" if next_window_text
             else f"no window in the next {NEXT_WINDOW_HORIZON.days} days")
    return (f"⏰ {environment} closes for normal deploys in {duration(lead)} "
            f"({closes_at_text}); {after}.")


def text(a: PlannedAnnouncement, zone: tzinfo) -> str:
    """The message for one planned announcement."""
    if a.kind == "window_closing":
        assert a.environment is not None and a.lead is not None and a.closes_at is not None
        return window_closing(
            a.environment, a.lead, local(a.closes_at, zone),
            local(a.next_window, zone) if a.next_window is not None else None)
    f = a.freeze
    assert f is not None, f"{a.kind} announcement without a freeze"
    if a.kind == "freeze_warning":
        assert a.lead is not None
        return freeze_warning(f, a.lead, zone, a.held_by)
    if a.kind == "freeze_start":
        return freeze_started(f, zone)
    return freeze_ended(f, zone, a.held_by)
