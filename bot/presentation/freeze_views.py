"""What `/freeze` shows, and the deploy-window lines of the status view (pure; Block Kit and
plain text built from domain values). Times are shown in the team's zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from bot.domain.freeze_commands import (
    FreezeAddArgs,
    FreezeListArgs,
    FreezeRemoveArgs,
    FreezeStatusArgs,
)
from bot.domain.freezes import Freeze, RuntimeFreeze
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision, local
from bot.domain.schedule import Schedule
from bot.domain.text import reason_text, shown
from bot.presentation.lock_views import locked_note
from bot.presentation.parts import Block, Message
from bot.presentation.sections import MESSAGE_BLOCKS, context, packed, section

SOURCE_LABELS = {
    "config": "app.yaml",
    "holiday": "public holiday",
    "rule": "every year",
    "runtime": "added in Slack",
}


class WindowView(Protocol):
    """One environment's deploy window (`bot.services.policy.WindowStatus`)."""

    @property
    def environment(self) -> str: ...

    @property
    def decision(self) -> PolicyDecision: ...

    @property
    def next_change(self) -> datetime | None: ...

    @property
    def upcoming(self) -> tuple[Freeze, ...]: ...

    @property
    def schedule(self) -> Schedule | None: ...


class EntryView(Protocol):
    """One listed freeze (`bot.services.freezes.FreezeEntry`)."""

    @property
    def freeze(self) -> Freeze: ...

    @property
    def active(self) -> bool: ...

    @property
    def number(self) -> int | None: ...

    @property
    def created_by(self) -> str | None: ...




def _safe(text: str) -> str:
    """Free text shown in Slack: mentions and markup characters neutralised."""
    return reason_text(text, limit=3000)


def _sections(lines: Sequence[str], what: str) -> list[Block]:
    """Lines in sections of at most ~3000 characters (Slack's limit), as many as a message
    holds with its closing context; what does not fit is counted (`what`: "freeze(s)")."""
    return packed(lines, most=MESSAGE_BLOCKS - 1, more=lambda left: (
        f"…and {sum(1 for line in left if line.lstrip().startswith('• '))} more {what} not "
        "shown here (Slack takes 50 blocks a message)."))


def scope(f: Freeze) -> str:
    """'all environments', 'production', 'production, staging'; services when limited."""
    envs = "all environments" if f.environments is None else ", ".join(sorted(f.environments))
    return envs if f.services is None else f"{', '.join(sorted(f.services))} in {envs}"


def span(f: Freeze, zone: tzinfo) -> str:
    return f"{local(f.start, zone)} → {local(f.end, zone)}"


def _label(f: Freeze) -> str:
    name = _safe(f.name)
    return f"*{name}*" if f.name.lower().endswith("freeze") else f"*{name}* freeze"


# -- the deploy-window line (status view and /freeze) -----------------------------------

def _next_change_cause(w: WindowView) -> str:
    if w.next_change is None:
        return ""
    starting = [f for f in w.upcoming if f.start == w.next_change]
    if starting:
        return " and ".join(_label(f) for f in starting) + " starts"
    return "the schedule closes"


def window_line(w: WindowView, zone: tzinfo, locks: Sequence[Lock] = ()) -> str:
    """e.g. "`production`: 🟢 open now — next change: Fri 2026-11-20 14:00 EST, the schedule
    closes" or "`production`: 🔴 closed: <reasons> — opens Mon 2026-11-23 00:00 EST". With
    the `locks` in force there (App Home, `/deploy status`), never plainly "open now":
    "`staging`: 🟢 open now · 🔒 `api` locked by <@U0CAROL> — next change: …"."""
    d = w.decision
    locked = locked_note(locks)
    if not d.blocked:
        line = f"`{w.environment}`: 🟢 open now" + (f" · {locked}" if locked else "")
        if w.next_change is not None:
            line += f" — next change: {local(w.next_change, zone)}, {_next_change_cause(w)}"
        return line
    why = "; ".join(_safe(r) for r in d.reasons)
    opens = (f"opens {local(d.next_allowed_at, zone)}" if d.next_allowed_at is not None
             else "no opening in the next 60 days")
    return f"`{w.environment}`: 🔴 closed: {why} — {opens}" + (f" · {locked}" if locked else "")


# -- /freeze ------------------------------------------------------------------------------

def _freeze_line(f: Freeze, zone: tzinfo) -> str:
    why = f" — {_safe(f.reason)}" if f.reason else ""
    return f"{_label(f)}: {span(f, zone)} · {scope(f)}{why}"


def working_on(args: FreezeStatusArgs | FreezeListArgs | FreezeAddArgs | FreezeRemoveArgs
               ) -> str | None:
    """The acknowledgement of a `/freeze` that changes something (none for a lookup)."""
    if isinstance(args, FreezeAddArgs):
        return f"⏳ Adding the freeze {shown(args.name, limit=80)}…"
    if isinstance(args, FreezeRemoveArgs):
        return f"⏳ Removing freeze #{args.number}…"
    return None


def freeze_status_view(windows: Sequence[WindowView], at: datetime, zone: tzinfo,
                within: timedelta) -> Message:
    """`/freeze`: per environment, open now or not and why, the next change, the schedule,
    and the freezes starting in the next `within`."""
    days = within.days
    lines = [f"*Deploy windows* — now {local(at, zone)}"]
    for w in windows:
        lines.append("")
        lines.append(window_line(w, zone))
        if w.schedule is not None:
            lines.append(f"    Schedule: {w.schedule.describe()}")
        else:
            lines.append("    Schedule: always open (no schedule)")
        if w.upcoming:
            lines.append(f"    Freezes in the next {days} days:")
            lines += [f"    • {_freeze_line(f, zone)}" for f in w.upcoming]
        else:
            lines.append(f"    No freezes start in the next {days} days.")
    blocks = _sections(lines, "freeze(s)")
    blocks.append(context("`/freeze list` lists every freeze with its number; "
                          "`/freeze help` shows how to add and remove them."))
    return Message(text="Deploy windows", blocks=blocks)


def _source(e: EntryView) -> str:
    if e.number is not None:
        by = f", added by <@{e.created_by}>" if e.created_by else ""
        return f"#{e.number}{by}"
    return SOURCE_LABELS[e.freeze.source]


def freeze_list_view(entries: Sequence[EntryView], at: datetime, zone: tzinfo,
              within: timedelta) -> Message:
    """`/freeze list`: every freeze active now or starting within `within`, by start."""
    lines = [f"*Freezes now and in the next {within.days} days* — now {local(at, zone)}"]
    if not entries:
        lines.append("_No freezes now or in the next "
                     f"{within.days} days._")
    for e in entries:
        now = "🧊 *now* · " if e.active else ""
        lines.append(f"• {now}{_freeze_line(e.freeze, zone)} ({_source(e)})")
    blocks = _sections(lines, "freeze(s)")
    blocks.append(context("Remove a freeze added in Slack with "
                          "`/freeze remove &lt;number&gt;`; the others are changed in app.yaml."))
    return Message(text="Freezes", blocks=blocks)


def _runtime_line(rf: RuntimeFreeze, zone: tzinfo) -> str:
    return f"{_freeze_line(rf.freeze, zone)} (#{rf.number})"


def added_reply(rf: RuntimeFreeze, zone: tzinfo, *, announced: bool) -> Message:
    text = (f"🧊 Freeze #{rf.number} added: {_runtime_line(rf, zone)}. Normal deploys are "
            "refused during it; `/freeze list` shows it.")
    if not announced:
        text += " ⚠️ I could not announce it in the deployments channel; please tell the team."
    return Message(text=f"Freeze #{rf.number} added", blocks=[section(text)])


def removed_reply(rf: RuntimeFreeze, zone: tzinfo, *, announced: bool) -> Message:
    text = f"🔓 Freeze #{rf.number} removed: {_runtime_line(rf, zone)}."
    if not announced:
        text += " ⚠️ I could not announce it in the deployments channel; please tell the team."
    return Message(text=f"Freeze #{rf.number} removed", blocks=[section(text)])


def freeze_added_announcement(rf: RuntimeFreeze, zone: tzinfo) -> str:
    """Plain text for the deployments channel (the Poster port)."""
    return (f"🧊 <@{rf.created_by}> added freeze #{rf.number}: {_runtime_line(rf, zone)}. "
            "Normal deploys are refused during it (emergency deploys still need emergency "
            "approval).")


def freeze_removed_announcement(rf: RuntimeFreeze, by: str, zone: tzinfo) -> str:
    return (f"🔓 <@{by}> removed freeze #{rf.number}: {_runtime_line(rf, zone)}. "
            "Deploys follow the usual schedule then.")
