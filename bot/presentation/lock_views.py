"""What `/lock` and `/unlock` show, the refusal a lock gives a deploy, the lock
announcements in the deployments channel, and how a lock reads on a service's line and its
environment's window line in App Home and `/deploy status` (`lock_note`, `locked_note`: one
wording for both; `/lock list` words each lock with `lock_note` too) — pure; built from
domain values, times in the team's zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.domain.lock_commands import LockArgs, LockListArgs, UnlockArgs
from bot.domain.locks import LOCKED_BEFORE_START, ROLLBACK, Lock
from bot.domain.policy import local
from bot.domain.text import error_text, reason_text, who
from bot.presentation.parts import Block, Message, when


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def age_text(delta: timedelta) -> str:
    """'less than a minute', '25m', '2h 5m', '3d 4h'."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def until_text(lock: Lock, at: datetime, zone: tzinfo) -> str:
    """'until 15:30 EST' (today), 'until Thu 2026-11-19 15:30 EST', or 'until someone
    unlocks it'."""
    if lock.expires_at is None:
        return "until someone unlocks it"
    end, now = lock.expires_at.astimezone(zone), at.astimezone(zone)
    if end.date() == now.date():
        return f"until {end:%H:%M} {end.tzname()}"
    return f"until {local(lock.expires_at, zone)}"


def where(lock: Lock) -> str:
    return f"{lock.service} in {lock.environment}"


def unlock_command(lock: Lock) -> str:
    return f"`/unlock {lock.environment} {lock.service}`"


def _reason(lock: Lock) -> str:
    """The reason, quoted and cut at a word; a rollback's own ("… was aborted by <@U0BOB>
    …") keeps the mention deploybot wrote, a typed one mentions nobody."""
    if lock.origin == ROLLBACK:
        return f"'{error_text(lock.reason, limit=200)}'"
    return f"'{reason_text(lock.reason, limit=200)}'"


def _by(lock: Lock) -> str:
    """" (set by rollback #12)" for a lock a rollback took."""
    if lock.origin != ROLLBACK:
        return ""
    return f" (set by rollback #{lock.deployment_id})" if lock.deployment_id else \
        " (set by a rollback)"


def lock_note(lock: Lock, zone: ZoneInfo) -> str:
    """A service's lock on its status line (App Home, `/deploy status`): who, after which
    rollback, since when, until when, why — "🔒 locked by <@U0BOB> after rollback #5 since
    Fri 2026-12-04 13:30 EST, until unlocked: v1.2.4 was aborted by <@U0BOB>; …"."""
    # A rollback's own reason ("… was aborted by <@U0BOB> …") keeps the mention deploybot
    # wrote; a typed one mentions nobody.
    text = error_text if lock.origin == ROLLBACK else reason_text
    why = f": {text(lock.reason, limit=120)}" if lock.reason else ""
    origin = ""
    if lock.origin == ROLLBACK:
        origin = (f" after rollback #{lock.deployment_id}" if lock.deployment_id
                  else " after a rollback")
    until = f", until {when(lock.expires_at, zone)}" if lock.expires_at else ", until unlocked"
    return (f"🔒 locked by {who(lock.holder)}{origin} since {when(lock.created_at, zone)}"
            f"{until}{why}")


#: The locked services named on an environment's window line; more are counted.
NAMED_ON_WINDOW_LINE = 3


def locked_note(locks: Sequence[Lock]) -> str:
    """What an environment's window line adds while services there are locked (an open
    window is not open to them): "🔒 `api` locked by <@U0CAROL>", "🔒 `api` locked by
    <@U0CAROL>, `web` locked by <@U0BOB> and 2 more services locked"; "" for none."""
    if not locks:
        return ""
    ordered = sorted(locks, key=lambda lk: lk.service)
    named = [f"`{lk.service}` locked by {who(lk.holder)}"
             for lk in ordered[:NAMED_ON_WINDOW_LINE]]
    more = len(ordered) - len(named)
    if more:
        named[-1] += f" and {more} more service{'s' if more != 1 else ''} locked"
    return "🔒 " + ", ".join(named)


def held(lock: Lock, at: datetime, zone: tzinfo) -> str:
    """"<@U0BOB> for 25m: 'investigating checkout errors' — until 15:30 EST"."""
    return (f"{who(lock.holder)} for {age_text(lock.age(at))}: {_reason(lock)}{_by(lock)} — "
            f"{until_text(lock, at, zone)}")


def refusal(lock: Lock, at: datetime, zone: tzinfo) -> str:
    """Why a deploy is refused (without the 🔒 the error renderer puts first): "api in
    production is locked by <@U0BOB> for 25m: 'investigating checkout errors' — until
    15:30 EST. Ask them, or /unlock production api if you may." """
    return (f"{where(lock)} is locked by {held(lock, at, zone)}. Ask them, or "
            f"{unlock_command(lock)} if you may.")


def refusal_at_start(lock: Lock, at: datetime) -> str:
    """The reason stored with a deploy the runner would not start (no zone there)."""
    return (f"{where(lock)} was locked by {who(lock.holder)} ({_reason(lock)}) "
            f"{LOCKED_BEFORE_START}; {unlock_command(lock)} or ask them, then deploy again")


def already_locked(lock: Lock, at: datetime, zone: tzinfo, *, user_id: str) -> str:
    if lock.holder == user_id:
        return (f"You hold the lock on {where(lock)} already (for "
                f"{age_text(lock.age(at))}: {_reason(lock)} — {until_text(lock, at, zone)}). "
                f"To change it, {unlock_command(lock)} and lock it again.")
    return f"{where(lock)} is locked already by {held(lock, at, zone)}."


def working_on(args: LockArgs | LockListArgs | UnlockArgs) -> str | None:
    """The acknowledgement of a `/lock` or `/unlock` that changes something (none for the
    list)."""
    if isinstance(args, LockArgs):
        return f"⏳ Locking `{args.service}` in *{args.environment}*…"
    if isinstance(args, UnlockArgs):
        return f"⏳ Unlocking `{args.service}` in *{args.environment}*…"
    return None


def lock_list_view(locks: Sequence[Lock], at: datetime, zone: ZoneInfo) -> Message:
    """`/lock` and `/lock list`: every lock in force, each worded as App Home and `/deploy
    status` word it ("• `production` / `api` — " and `lock_note`)."""
    lines = [f"*Locks in force* — now {local(at, zone)}"]
    if not locks:
        lines.append("_No locks: deploys follow the usual rules._")
    for lock in locks:
        lines.append(f"• `{lock.environment}` / `{lock.service}` — {lock_note(lock, zone)}")
    blocks = [_section("\n".join(lines[i:i + 20])) for i in range(0, len(lines), 20)][:45]
    blocks.append(_context("`/lock production api \"reason\" for 2h` locks a service; "
                           "`/unlock production api` releases it; `/lock help` for more."))
    return Message(text=f"Locks in force: {len(locks)}", blocks=blocks)


def _not_announced(announced: bool) -> str:
    return ("" if announced else
            " ⚠️ I could not announce it in the deployments channel; please tell the team.")


def locked_reply(lock: Lock, at: datetime, zone: tzinfo, *, announced: bool) -> Message:
    text = (f"🔒 You locked {where(lock)}: {_reason(lock)} — {until_text(lock, at, zone)}. "
            f"Deploys there by anyone else are refused meanwhile (rollbacks still go "
            f"through); {unlock_command(lock)} releases it." + _not_announced(announced))
    return Message(text=text, blocks=[_section(text)])


def unlocked_reply(lock: Lock, at: datetime, *, announced: bool) -> Message:
    text = (f"🔓 {where(lock)} is unlocked (it was locked by {who(lock.holder)} for "
            f"{age_text(lock.age(at))}: {_reason(lock)})." + _not_announced(announced))
    return Message(text=text, blocks=[_section(text)])


def lock_announcement(lock: Lock, at: datetime, zone: tzinfo) -> str:
    """Plain text for the deployments channel (the Poster port)."""
    return (f"🔒 {who(lock.holder)} locked {where(lock)}: {_reason(lock)} — "
            f"{until_text(lock, at, zone)}. Deploys of {lock.service} to {lock.environment} "
            "by anyone else are refused meanwhile.")


def unlock_announcement(lock: Lock, by: str, at: datetime) -> str:
    holder = "" if by == lock.holder else f" (locked by {who(lock.holder)})"
    return (f"🔓 <@{by}> unlocked {where(lock)}{holder} after {age_text(lock.age(at))}: "
            f"{_reason(lock)}.")


def expiry_announcement(lock: Lock, zone: tzinfo) -> str:
    end = lock.expires_at or lock.created_at
    return (f"⌛ The lock on {where(lock)} by {who(lock.holder)} ({_reason(lock)}) expired "
            f"{local(end, zone)} after {age_text(end - lock.created_at)}; deploys of "
            f"{lock.service} to {lock.environment} are open again.")
