"""The answers and notices that are no card and no record (pure; no Slack client here): the
clicker's answer to Approve / Reject, Approve ahead and Rollback / Keep, the requester's
answer to a request, the emergency alert, the refusal outside a deploy
window (or, for a version queued for it already, the queued deploy) and the prompt when it
opens, and a plain notice.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.deployment import Deployment, Kind
from bot.domain.outcome_notes import failed_rollout
from bot.domain.states import State
from bot.domain.text import channel_ref, reason_text, shown, who
from bot.presentation import ids
from bot.presentation.card import ahead_line
from bot.presentation.parts import (
    Block,
    Message,
    _button,
    title,
    when,
)
from bot.presentation.sections import context, section


def decision_reply(d: Deployment, *, approve: bool, started: bool) -> str:
    """The approver's answer to Approve or Reject on a deployment's card."""
    if not approve:
        return f"🚫 You rejected deployment #{d.id}."
    if started:
        return f"✅ You approved deployment #{d.id}; it is starting now."
    return (f"✅ You approved deployment #{d.id}; {d.approvals_missing} more approval(s) "
            "needed.")


def approved_ahead_reply(d: Deployment, zone: ZoneInfo, *, started: bool) -> str:
    """The approver's answer to Approve on a deploy waiting for its window."""
    if started:
        return f"✅ You approved deployment #{d.id}; its window is open: it is starting now."
    if d.state is not State.SCHEDULED:  # e.g. moved to its next window, or under way
        return f"✅ You approved deployment #{d.id}; it is {d.state.value.replace('_', ' ')}."
    ahead = " ahead of its window" if d.prompted_at is None else ""  # not once it opened
    return f"✅ You approved deployment #{d.id}{ahead}. {ahead_line(d, zone)}"


def verdict_reply(failed: Deployment, rollback: Deployment | None) -> str:
    """The clicker's answer to Rollback / Keep."""
    if rollback is not None:
        return (f"↩️ Rolling `{failed.service}` in *{failed.environment}* back to "
                f"`{rollback.version}` (deployment #{rollback.id}); follow it in "
                f"{_where(rollback)}.")
    if failed_rollout(failed):  # its rollout failed: its new pods never served
        return (f"🟠 `{failed.version}` stays applied in *{failed.environment}* (its rollout "
                "failed: its new pods are not ready, the old ones still serve); your "
                "decision is on the card and in the audit log.")
    return (f"🟠 `{failed.version}` stays live in *{failed.environment}*; your decision is "
            "on the card and in the audit log.")


def notice(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


def emergency_alert(d: Deployment, overrides: list[str], zone: ZoneInfo) -> Message:
    over = "".join(f"\n• overrides: {o}" for o in overrides) or "\n• no window was closed"
    text = (f"🚨 *EMERGENCY deploy requested* by {who(d.requested_by)}: `{d.service}` "
            f"`{d.version}` → *{d.environment}*\n*Reason:* "
            f"{reason_text(d.emergency_reason or '')}{over}\n"
            f"Needs {d.approvals_required} approval(s) from the emergency approvers.")
    return Message(text=f"EMERGENCY deploy requested: {title(d)}", blocks=[section(text)])


def window_closed(reasons: tuple[str, ...], next_at: datetime | None, zone: ZoneInfo,
                  *, service: str, environment: str, version: str, request_value: str) -> Message:
    """The refusal of a deploy outside its window, with a button to queue it."""
    lines = [f"🚫 *Not now:* `{service}` `{version}` cannot go to *{environment}*."]
    lines += [f"• {r}" for r in reasons]
    blocks: list[Block] = []
    if next_at is not None:
        lines.append(f"The next window opens *{when(next_at, zone)}*.")
        blocks = [section("\n".join(lines)), {
            "type": "actions", "block_id": ids.WINDOW_BLOCK, "elements": [
                _button(f"Queue it for {when(next_at, zone)}", ids.QUEUE_FOR_WINDOW,
                        request_value, style="primary"),
            ]}]
    else:
        lines.append("No window opens in the next 60 days.")
        blocks = [section("\n".join(lines))]
    blocks.append(context(f"If it cannot wait (something in {environment} is broken), "
                          f'`/deploy {service} {environment} {version} --emergency "reason"` '
                          "deploys it now: it needs emergency approval and is announced."))
    return Message(text=f"Not now: {service} {version} cannot go to {environment}",
                   blocks=blocks)


def window_open_prompt(d: Deployment, zone: ZoneInfo) -> Message:
    text = (f"🟢 The deploy window is open: your queued deploy {title(d)} can start now. "
            "It still needs its approvals.")
    return Message(text=text, blocks=[section(text), {
        "type": "actions", "block_id": ids.SCHEDULED_BLOCK, "elements": [
            _button("Start it", ids.START_SCHEDULED, str(d.id), style="primary"),
            _button("Cancel", ids.CANCEL_SCHEDULED, str(d.id), style="danger"),
        ]}])


def _where(d: Deployment) -> str:
    return channel_ref(d.channel) if d.channel else "the deployments channel"


def _approved_ahead(d: Deployment) -> str:
    """A queued deploy with every approval it needs, as its requester's answer says it."""
    return (f"It is approved ({len(d.approvers)}/{d.approvals_required}): it starts by itself "
            "when the window opens")


def already_queued(d: Deployment, zone: ZoneInfo, *, asked_by: str) -> str:
    """The answer to `/deploy` of the version `d` waits for its window with, asked again
    while the window is closed (by `asked_by`): which deploy, when it starts, how far its
    approval is — in the words of the requester's answer when it was queued."""
    by = "you" if d.requested_by == asked_by else who(d.requested_by)
    starts = when(d.not_before, zone) if d.not_before is not None else "its window"
    text = (f"Deployment #{d.id} is already queued for {starts}: `{d.service}` `{d.version}` "
            f"→ *{d.where}*, queued by {by}. ")
    asks = "you" if d.requested_by == asked_by else who(d.requested_by)
    if d.needs_approval and d.approvals_missing <= 0:
        text += f"{_approved_ahead(d)}."
    elif d.needs_approval:
        text += (f"It has {len(d.approvers)}/{d.approvals_required} approval(s): "
                 f"{d.approvals_missing} more can be approved ahead on its card in "
                 f"{_where(d)} (it then starts by itself when the window opens); otherwise "
                 f"I will ask {asks} to start it then.")
    else:
        text += f"When the window opens I will ask {asks} to start it."
    return text + f" Nothing new was queued. Cancel it with `/deploy cancel {d.id}`."


def request_accepted(d: Deployment, zone: ZoneInfo) -> Message:
    """The requester's ephemeral answer once a request is posted (or queued)."""
    what = f"`{d.service}` `{d.version}` → *{d.where}*"
    name = {Kind.DEPLOY: "Deployment", Kind.ROLLBACK: "Rollback",
            Kind.MIGRATE: "Migration run", Kind.FLAG: "Flag change"}[d.kind]
    if d.kind is Kind.FLAG:
        what = f"flag {shown(d.target or '', limit=80)} → `{d.version}` in *{d.environment}*"
    elif d.kind is Kind.MIGRATE:
        what = f"`{d.service}` migrations → `{d.target}` in *{d.environment}*"
    elif d.kind is Kind.ROLLBACK:
        what = (f"`{d.service}` back to `{d.version}` in *{d.environment}* (from "
                f"`{d.previous_version}`, now marked faulty there)")
    if (d.state is State.SCHEDULED and d.not_before is not None and d.needs_approval
            and d.approvals_missing <= 0):  # asked again once approved ahead
        text = (f"🗓️ Deployment #{d.id} is queued: {what}. {_approved_ahead(d)}, "
                f"{when(d.not_before, zone)}. Cancel it with `/deploy cancel {d.id}`.")
    elif d.state is State.SCHEDULED and d.not_before is not None and d.needs_approval:
        more = " more" if d.approvers else ""
        text = (f"🗓️ Deployment #{d.id} queued: {what}. It needs {d.approvals_missing}{more} "
                f"approval(s) from someone other than you, which can be given ahead on its "
                f"card in {_where(d)}: approved, it starts by itself when the window opens, "
                f"{when(d.not_before, zone)}; otherwise I will ask you to start it then. "
                f"Cancel it with `/deploy cancel {d.id}`.")
    elif d.state is State.SCHEDULED and d.not_before is not None:
        text = (f"🗓️ Deployment #{d.id} queued: {what}. When the window opens, "
                f"{when(d.not_before, zone)}, I will ask you to start it (it is shown in "
                f"{_where(d)}). Cancel it with `/deploy cancel {d.id}`.")
    elif d.needs_approval:
        who = "the emergency approvers" if d.emergency else "someone other than you"
        text = (f"📝 {name} #{d.id} requested: {what}. The approval request is in "
                f"{_where(d)}; it needs {d.approvals_required} approval(s) from {who}.")
    else:
        icon = {Kind.DEPLOY: "🚀", Kind.ROLLBACK: "↩️", Kind.MIGRATE: "🗄️",
                Kind.FLAG: "🚩"}[d.kind]
        text = f"{icon} {name} #{d.id} started: {what}. Follow it in {_where(d)}."
    return notice(text)
