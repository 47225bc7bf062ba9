"""The shared parts of the Block Kit messages (pure; no Slack client here): the `Message`
value, the marks and state lines, how times and durations read, the section, context and
button blocks, Slack's confirmation dialog, a deployment's title and noun, and its line in a
list of the last deployments (App Home, `/deploy status`).

The card (card.py), the record and announcements (record_views.py) and the replies
(replies.py) are built from these; bot.presentation.blocks re-exports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.deployment import Deployment, Kind
from bot.domain.record import Mark
from bot.domain.states import State
from bot.domain.text import shown, who
from bot.presentation.sections import BUTTON, fit

Block = dict[str, Any]

MARKS = {
    Mark.DONE: "✅",
    Mark.FAILED: "❌",
    Mark.PENDING: "⏳",
    Mark.IN_PROGRESS: "🔄",
    Mark.SKIPPED: "⏭️",
    Mark.NOT_CHECKED: "⚪",
    Mark.ATTESTED: "☑️",
    Mark.ROLLED_BACK: "↩️",
    Mark.KEPT: "🟠",
    Mark.ABORTED: "🛑",
}
STATE_LINE = {
    State.SCHEDULED: "🗓️ Waiting for the deploy window",
    State.AWAITING_APPROVAL: "⏳ Awaiting approval",
    State.QUEUED: "📥 Approved, queued",
    State.RUNNING: "🚀 Rolling out",
    State.VERIFYING: "🔎 Verifying",
    State.SUCCEEDED: "✅ Succeeded",
    State.FAILED: "❌ Failed",
    State.REJECTED: "🚫 Rejected",
    State.EXPIRED: "⌛ Expired",
    State.CANCELLED: "✖️ Cancelled",
    State.ROLLED_BACK: "↩️ Rolled back",
}


def state_line(d: Deployment) -> str:
    """`d`'s state as its card and every list say it: STATE_LINE, but a queued deployment
    that needed no approval is "📥 Queued" (its record says approval was not required)."""
    if d.state is State.QUEUED and d.approvals_required == 0:
        return "📥 Queued"
    return STATE_LINE[d.state]


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block] = field(default_factory=list)


def when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def took(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    s = int(delta.total_seconds())
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"




def _button(text: str, action_id: str, value: str, *, style: str | None = None,
            confirm: Block | None = None) -> Block:
    """A button; its text cut to Slack's 75 characters between words ("Roll back to
    v2026.12.04-release-candidate…")."""
    b: Block = {"type": "button", "action_id": action_id, "value": value,
                "text": {"type": "plain_text", "text": fit(text, BUTTON)}}
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def confirm_dialog(title: str, text: str, confirm: str) -> Block:
    """Slack's "Are you sure?" dialog on a button (Cancel to back out): its title within 100
    characters, its text 300, its buttons 30 (the confirmation dialog object's reference,
    https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object).
    """
    return {"title": {"type": "plain_text", "text": fit(title, 100)},
            "text": {"type": "mrkdwn", "text": fit(text, 300)},
            "confirm": {"type": "plain_text", "text": fit(confirm, 30)},
            "deny": {"type": "plain_text", "text": "Cancel"}}


def title(d: Deployment) -> str:
    return _titled(d, name=str, flag=str)


def _titled(d: Deployment, *, name: Callable[[str], str],
            flag: Callable[[str | None], str]) -> str:
    """What a deployment did, its names written by `name` (a flag's by `flag`)."""
    if d.kind is Kind.ROLLBACK:
        # "↩️ Rollback #5 api back to …", "Your rollback #5 api back to …": the noun is
        # said before it, never twice.
        return f"#{d.id} {name(d.service)} back to {name(d.version)} in {name(d.environment)}"
    if d.kind is Kind.MIGRATE:
        return (f"#{d.id} {name(d.service)} migrations → {name(str(d.target))} in "
                f"{name(d.environment)}")
    if d.kind is Kind.FLAG:
        return f"#{d.id} {flag(d.target)} → {name(d.version)} in {name(d.environment)}"
    return f"#{d.id} {name(d.service)} {name(d.version)} → {name(d.where)}"


def noun(d: Deployment) -> str:
    return {Kind.DEPLOY: "deploy", Kind.ROLLBACK: "rollback",
            Kind.MIGRATE: "migration run", Kind.FLAG: "flag change"}[d.kind]


def _code(text: str) -> str:
    return f"`{text}`"


def _what(d: Deployment) -> str:
    """`title` with its names as code: "#3 `api` back to `v1.3.0` in `staging`"."""
    return _titled(d, name=_code, flag=lambda target: f"flag {shown(target or '', limit=80)}")


def deployment_line(d: Deployment, zone: ZoneInfo) -> str:
    """One of the last deployments (App Home, `/deploy status`): "#3 `api` back to `v1.3.0`
    in `staging` — ✅ Succeeded — <@U0ALICE>, Wed 2026-11-18 10:10 EST"; a rollback reads as
    one, never as a deploy."""
    return f"{_what(d)} — {state_line(d)} — {who(d.requested_by)}, " \
        f"{when(d.requested_at, zone)}"
