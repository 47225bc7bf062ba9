"""`/deploy status` (pure; built from domain values, times in the team's zone): what runs
where now, with any lock on the service, the last deployments, and each environment's
deploy window — naming the services locked there. The service, lock, window and deployment
lines are worded as App Home words them (live_views, lock_views, freeze_views, parts), so
both say the same thing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from bot.domain.deployment import Deployment
from bot.domain.live import Live
from bot.domain.locks import Lock
from bot.presentation.freeze_views import WindowView, window_line
from bot.presentation.live_views import live_line
from bot.presentation.lock_views import lock_note
from bot.presentation.parts import Message, deployment_line
from bot.presentation.sections import MESSAGE_BLOCKS, pack, packed, section


def status_view(running: Sequence[Live], recent: Sequence[Deployment], zone: ZoneInfo,
                windows: Sequence[WindowView] = (), locks: Sequence[Lock] = ()) -> Message:
    """The status message; `locks`: those in force now."""
    held = {(lk.environment, lk.service): lk for lk in locks}
    running_lines = ["*Running now*"]
    if not running:
        running_lines.append("_No service is configured._")
    for live in running:
        line = f"• {live_line(live, zone)}"
        lock = held.get((live.environment, live.service))
        if lock is not None:
            line += f" — {lock_note(lock, zone)}"
        running_lines.append(line)
    lines = ["\n*Last deployments*"]
    if not recent:
        lines.append("_None yet._")
    lines += [f"• {deployment_line(d, zone)}" for d in recent]
    if windows:  # one line per environment: open now, or closed and why, and the next change
        lines.append("\n*Deploy windows*")
        for w in windows:
            there = [lk for lk in locks if lk.environment == w.environment]
            lines.append(f"• {window_line(w, zone, there)}")
    texts, dropped = pack(running_lines + lines, most=MESSAGE_BLOCKS)
    if not dropped:
        blocks = [section("\n".join(t)) for t in texts]
    else:  # the last deployments and the windows first, the services in the blocks left
        tail = packed(lines, most=MESSAGE_BLOCKS // 5, more=_more("line(s)"))
        blocks = packed(running_lines, most=MESSAGE_BLOCKS - len(tail),
                        more=_more("service(s)")) + tail
    return Message(text="Deployment status", blocks=blocks)


def _more(what: str) -> Callable[[Sequence[str]], str]:
    def more(left: Sequence[str]) -> str:
        n = sum(1 for line in left if line.startswith("• "))
        return (f"…and {n} more {what} not shown here (Slack takes 50 blocks a message; App "
                "Home, with room for 100, shows more).")
    return more
