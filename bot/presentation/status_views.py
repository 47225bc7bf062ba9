"""`/deploy status` (pure; built from domain values, times in the team's zone): what runs
where now, with any lock on the service, the last deployments, and each environment's
deploy window — naming the services locked there. The service, lock, window and deployment
lines are worded as App Home words them (live_views, lock_views, freeze_views, parts), so
both say the same thing."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.domain.deployment import Deployment
from bot.domain.live import Live
from bot.domain.locks import Lock
from bot.presentation.freeze_views import WindowView, window_line
from bot.presentation.live_views import live_line
from bot.presentation.lock_views import lock_note
from bot.presentation.parts import Message, _section, deployment_line

SECTION_CHARS = 2900  # what one section's text may hold (Slack: 3000)


def status_view(running: Sequence[Live], recent: Sequence[Deployment], zone: ZoneInfo,
                windows: Sequence[WindowView] = (), locks: Sequence[Lock] = ()) -> Message:
    """The status message; `locks`: those in force now."""
    held = {(lk.environment, lk.service): lk for lk in locks}
    lines = ["*Running now*"]
    if not running:
        lines.append("_No service is configured._")
    for live in running:
        line = f"• {live_line(live, zone)}"
        lock = held.get((live.environment, live.service))
        if lock is not None:
            line += f" — {lock_note(lock, zone)}"
        lines.append(line)
    lines.append("\n*Last deployments*")
    if not recent:
        lines.append("_None yet._")
    lines += [f"• {deployment_line(d, zone)}" for d in recent]
    if windows:  # one line per environment: open now, or closed and why, and the next change
        lines.append("\n*Deploy windows*")
        for w in windows:
            there = [lk for lk in locks if lk.environment == w.environment]
            lines.append(f"• {window_line(w, zone, there)}")
    return Message(text="Deployment status", blocks=[_section(text) for text in _packed(lines)])


def _packed(lines: Sequence[str]) -> list[str]:
    """The lines in as few sections' texts as fit Slack's 3000 characters each (a line is
    never split; one too long alone is cut)."""
    texts: list[str] = []
    for line in lines:
        line = line[:SECTION_CHARS]
        if texts and len(texts[-1]) + 1 + len(line) <= SECTION_CHARS:
            texts[-1] += "\n" + line
        else:
            texts.append(line.lstrip("\n"))  # no blank line opens a section
    return texts
