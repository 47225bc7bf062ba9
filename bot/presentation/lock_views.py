"""How a lock reads, on every screen alike: who holds it, after which rollback, since when,
until when and why (`lock_note`'s parts) — on a service's line in App Home and `/deploy
status` and in `/lock list` (`lock_note`), in the refusal a lock gives a deploy (also an
automatic one's announcement, and the runner's for work queued before the lock), the
`/lock` and `/unlock` replies and the lock announcements in the deployments channel, each
with its own purpose around it; and an environment's window line naming the services locked
there (`locked_note`) — pure; built from domain values, times in the team's zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.lock_commands import LockArgs, LockListArgs, UnlockArgs
from bot.domain.locks import ABORT, AUTO_ROLLBACK, LOCKED_BEFORE_START, ROLLBACK, Lock
from bot.domain.policy import local
from bot.domain.text import error_text, reason_text, who
from bot.presentation.parts import Message, when
from bot.presentation.sections import MESSAGE_BLOCKS, context, packed, section


def where(lock: Lock) -> str:
    return f"{lock.service} in {lock.environment}"


def unlock_command(lock: Lock) -> str:
    return f"`/unlock {lock.environment} {lock.service}`"


# -- the parts of a lock every screen words alike ------------------------------------------

#: What set a lock a rollback left, with its deployment's number and without.
_AFTER = {ROLLBACK: ("after rollback #{}", "after a rollback"),
          ABORT: ("after the abort of #{}", "after an abort"),
          AUTO_ROLLBACK: ("after the automatic rollback of #{}", "after an automatic rollback")}


def _after(lock: Lock) -> str:
    """" after rollback #5" (the rollback), " after the abort of #2" (the aborted deploy),
    " after the automatic rollback of #3" (the failed deploy); "" for a `/lock`."""
    forms = _AFTER.get(lock.origin)
    if forms is None:
        return ""
    numbered, bare = forms
    return " " + (numbered.format(lock.deployment_id) if lock.deployment_id else bare)


def _who(lock: Lock, by: str | None = None) -> str:
    """"locked by <@U0BOB>", "locked by <@U0BOB> after rollback #5", "… after the abort of
    #2"; `by` instead of the holder's mention ("you"; "" leaves the holder out: "locked
    after rollback #5")."""
    holder = who(lock.holder) if by is None else by
    return f"locked{' by ' + holder if holder else ''}{_after(lock)}"


def _since(lock: Lock, zone: ZoneInfo) -> str:
    return f"since {when(lock.created_at, zone)}"


def _until(lock: Lock, zone: ZoneInfo) -> str:
    """"until Fri 2026-12-04 15:30 EST", or "until unlocked"."""
    return f"until {when(lock.expires_at, zone)}" if lock.expires_at else "until unlocked"


def _why(lock: Lock) -> str:
    """The reason, cut at a word; a rollback's own ("… was aborted by <@U0BOB> …") keeps
    the mention deploybot wrote, a typed one mentions nobody."""
    text = error_text if lock.left_by_rollback else reason_text
    return text(lock.reason, limit=120)


def _because(lock: Lock) -> str:
    """": <why>", or "" for a lock without a reason."""
    return f": {_why(lock)}" if lock.reason else ""


def _ended(text: str) -> str:
    """`text` as the end of a sentence: a stop added unless it has one ("…" included)."""
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _note(lock: Lock, zone: ZoneInfo, *, by: str | None = None) -> str:
    """"locked by <@U0BOB> after rollback #5 since Fri 2026-12-04 13:30 EST, until
    unlocked: v1.2.4 was aborted by <@U0BOB>; …" (who, after which rollback, since, until,
    why)."""
    return f"{_who(lock, by)} {_since(lock, zone)}, {_until(lock, zone)}{_because(lock)}"


def lock_note(lock: Lock, zone: ZoneInfo) -> str:
    """A service's lock on its status line (App Home, `/deploy status`, `/lock list`): who,
    after which rollback, since when, until when, why — "🔒 locked by <@U0BOB> after
    rollback #5 since Fri 2026-12-04 13:30 EST, until unlocked: v1.2.4 was aborted by
    <@U0BOB>; …". Every other screen that words a lock uses the same parts."""
    return f"🔒 {_note(lock, zone)}"


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


def refusal(lock: Lock, zone: ZoneInfo, *, faulty: str | None = None) -> str:
    """Why a deploy is refused (without the 🔒 the error renderer puts first), and the way
    on: "api in production is locked by <@U0BOB> since Fri 2026-12-04 13:30 EST, until Fri
    2026-12-04 15:30 EST: investigating checkout errors. Ask them, or `/unlock production
    api` if you may." When the version asked for (`faulty`) is marked faulty there too (as
    after an abort or a rollback), both obstacles and the way through both: "… `v1.2.4` is
    also marked faulty there: to deploy it, ask them or `/unlock production api` if you
    may, then `/deploy api production v1.2.4 --force "reason"`." """
    locked = _ended(f"{where(lock)} is {_note(lock, zone)}")
    if faulty is None:
        return f"{locked} Ask them, or {unlock_command(lock)} if you may."
    force = f'`/deploy {lock.service} {lock.environment} {faulty} --force "reason"`'
    return (f"{locked} `{faulty}` is also marked faulty there: to deploy it, ask them or "
            f"{unlock_command(lock)} if you may, then {force}.")


def refusal_at_start(lock: Lock, at: datetime) -> str:
    """The reason stored with a deploy the runner would not start: who, after which
    rollback, why (no zone there, so no times) — "api in staging was locked by <@U0BOB>
    before it could start (investigating checkout errors); `/unlock staging api` or ask
    them, then deploy again"."""
    why = f" ({_why(lock)})" if lock.reason else ""
    return (f"{where(lock)} was {_who(lock)} {LOCKED_BEFORE_START}{why}; "
            f"{unlock_command(lock)} or ask them, then deploy again")


def already_locked(lock: Lock, zone: ZoneInfo, *, user_id: str) -> str:
    """A `/lock` of a service locked already: the lock, and to its holder how to change
    it."""
    if lock.holder == user_id:
        yours = _ended(f"{where(lock)} is already {_note(lock, zone, by='you')}")
        return f"{yours} To change it, {unlock_command(lock)} and lock it again."
    return _ended(f"{where(lock)} is already {_note(lock, zone)}")


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
    blocks = packed(lines, most=MESSAGE_BLOCKS - 1, more=lambda left: (
        f"…and {sum(1 for line in left if line.startswith('• '))} more lock(s), not shown "
        "here (Slack takes 50 blocks a message): App Home shows each on its service."))
    blocks.append(context("`/lock production api \"reason\" for 2h` locks a service; "
                          "`/unlock production api` releases it; `/lock help` for more."))
    return Message(text=f"Locks in force: {len(locks)}", blocks=blocks)


def _not_announced(announced: bool) -> str:
    return ("" if announced else
            " ⚠️ I could not announce it in the deployments channel; please tell the team.")


def locked_reply(lock: Lock, zone: ZoneInfo, *, announced: bool) -> Message:
    """What `/lock` took: "🔒 You locked api in production until …: why. Deploys there …"."""
    took = _ended(f"You locked {where(lock)} {_until(lock, zone)}{_because(lock)}")
    text = (f"🔒 {took} Deploys there by anyone else are refused meanwhile (rollbacks still "
            f"go through); {unlock_command(lock)} releases it." + _not_announced(announced))
    return Message(text=text, blocks=[section(text)])


def unlocked_reply(lock: Lock, zone: ZoneInfo, *, announced: bool) -> Message:
    """What `/unlock` released: "🔓 api in production is unlocked (it was locked by
    <@U0BOB> since …: why)."."""
    text = (f"🔓 {where(lock)} is unlocked (it was {_who(lock)} {_since(lock, zone)}"
            f"{_because(lock)})." + _not_announced(announced))
    return Message(text=text, blocks=[section(text)])


def lock_announcement(lock: Lock, zone: ZoneInfo) -> str:
    """Plain text for the deployments channel (the Poster port): who locked what, until
    when and why."""
    took = _ended(f"{who(lock.holder)} locked {where(lock)} {_until(lock, zone)}"
                  f"{_because(lock)}")
    return (f"🔒 {took} Deploys of {lock.service} to {lock.environment} by anyone else are "
            "refused meanwhile.")


def unlock_announcement(lock: Lock, by: str, zone: ZoneInfo) -> str:
    """Who unlocked what, and the lock it was (its holder named unless they unlocked it)."""
    holder = "" if by == lock.holder else None
    return (f"🔓 {who(by)} unlocked {where(lock)} ({_who(lock, holder)} {_since(lock, zone)}"
            f"{_because(lock)}).")


def replaced_announcement(old: Lock, new: Lock, zone: ZoneInfo) -> str:
    """A rollback replaced the lock an earlier one left (bot.services.runner.verdicts):
    what the lock says now, and what it said — "🔒 api in production is now locked by
    <@U0BOB> after rollback #6 since …, until unlocked: v1.2.3 rolled back to v1.2.2 …. It
    was locked by <@U0BOB> after rollback #5 since …; that lock is replaced."."""
    now = _ended(f"{where(new)} is now {_note(new, zone)}")
    return f"🔒 {now} It was {_who(old)} {_since(old, zone)}; that lock is replaced."


def expiry_announcement(lock: Lock, zone: ZoneInfo) -> str:
    end = lock.expires_at or lock.created_at
    return (f"⌛ The lock on {where(lock)} expired {when(end, zone)} ({_who(lock)} "
            f"{_since(lock, zone)}{_because(lock)}); deploys of {lock.service} to "
            f"{lock.environment} are open again.")
