"""Block Kit messages built from domain values (pure; no Slack client here).

Used by the Slack notifier for channel messages and by the handlers for ephemeral replies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.abort import abort_refusal, what_abort_does
from bot.domain.checklist import Checklist
from bot.domain.deployment import Deployment, Kind
from bot.domain.live import Live
from bot.domain.previews import instance_label
from bot.domain.record import (
    DURING_THE_WATCH,
    Mark,
    aborted,
    build_record,
    failed_rollout,
    failed_verification,
    rolled_back,
)
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.domain.text import reason_text, who
from bot.presentation import ids
from bot.presentation.live_views import live_line

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


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _button(text: str, action_id: str, value: str, *, style: str | None = None,
            confirm: Block | None = None) -> Block:
    b: Block = {"type": "button", "action_id": action_id, "value": value,
                "text": {"type": "plain_text", "text": text}}
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def confirm_dialog(title: str, text: str, confirm: str) -> Block:
    """Slack's "Are you sure?" dialog on a button (Cancel to back out)."""
    return {"title": {"type": "plain_text", "text": title[:100]},
            "text": {"type": "mrkdwn", "text": text[:300]},
            "confirm": {"type": "plain_text", "text": confirm},
            "deny": {"type": "plain_text", "text": "Cancel"}}


def title(d: Deployment) -> str:
    if d.kind is Kind.ROLLBACK:
        return f"#{d.id} rollback of {d.service} to {d.version} in {d.environment}"
    if d.kind is Kind.MIGRATE:
        return f"#{d.id} {d.service} migrations → {d.target} in {d.environment}"
    return f"#{d.id} {d.service} {d.version} → {d.where}"


def noun(d: Deployment) -> str:
    return {Kind.DEPLOY: "deploy", Kind.ROLLBACK: "rollback",
            Kind.MIGRATE: "migration run"}[d.kind]


def _verdict_blocks(d: Deployment, zone: ZoneInfo) -> list[Block]:
    """Rollback / Keep after a failed watch, or after a failed rollout that left the new
    version applied (automatic rollback off), or who chose what."""
    v = d.verification
    if d.state not in (State.FAILED, State.ROLLED_BACK) or v is None or not v.offer_rollback:
        return []
    # A failed rollout's new pods never served: it is left applied, not live.
    rollout = failed_rollout(d)
    if v.decision is not None:
        at = f" at {when(v.decided_at, zone)}" if v.decided_at else ""
        if v.decision == "rollback":
            return [_context(f"↩️ <@{v.decided_by}> chose to roll back to "
                             f"`{d.previous_version}`{at} (deployment #{v.rollback_id}).")]
        return [_context(f"🟠 <@{v.decided_by}> chose to keep `{d.version}` "
                         f"{'applied' if rollout else 'live'}{at}.")]
    if d.state is not State.FAILED:
        return []
    ask = (f"*`{d.version}` failed its rollout and is left applied:* its new pods never "
           f"became ready, the old ones still serve. Roll back to `{d.previous_version}`, "
           "or keep it?" if rollout else
           f"*`{d.version}` failed its checks and is still live.* Roll back to "
           f"`{d.previous_version}`, or keep it?")
    return [_section(ask), {"type": "actions", "block_id": ids.VERDICT_BLOCK, "elements": [
        _button(f"Roll back to {d.previous_version}"[:75], ids.ROLL_BACK, str(d.id),
                style="danger", confirm=confirm_dialog(
                    "Roll back?", f"Roll `{d.service}` in *{d.environment}* back from "
                    f"`{d.version}` to `{d.previous_version}`.", "Roll back")),
        _button(f"Keep {d.version}"[:75], ids.KEEP, str(d.id)),
    ]}]


def _abort_blocks(d: Deployment) -> list[Block]:
    """Abort while a deploy rolls out or is watched (a dialog says what it does)."""
    if abort_refusal(d) is not None:
        return []
    return [{"type": "actions", "block_id": ids.ABORT_BLOCK, "elements": [
        _button("Abort", ids.ABORT, str(d.id), style="danger", confirm=confirm_dialog(
            f"Abort deployment #{d.id}?",
            f"This will {what_abort_does(d)}; `{d.version}` is marked faulty in "
            f"*{d.environment}*.", "Abort")),
    ]}]


def _what(d: Deployment) -> str:
    if d.kind is Kind.MIGRATE:
        return (f"*Migrate to:* `{d.target}`   *From the image of:* `{d.version}` "
                "(running now)")
    if d.kind is Kind.ROLLBACK:
        return (f"*Back to:* `{d.version}`   *Replacing:* `{d.previous_version}`"
                + (f" (deployment #{d.rollback_of})" if d.rollback_of else ""))
    if d.downgrade_from is not None:
        return (f"*Version:* `{d.version}`   ⬇️ *Downgrade* from `{d.downgrade_from}` "
                "(confirmed)")
    return f"*Version:* `{d.version}`   *Running now:* `{d.previous_version or 'unknown'}`"


def _approve_text(d: Deployment) -> str:
    if d.kind is Kind.MIGRATE:
        return (f"Run the migrations of `{d.service}` in *{d.environment}* to `{d.target}`. "
                "Schema changes are not undone by rolling the code back.")
    return f"Deploy `{d.service}` `{d.version}` to *{d.where}*."


def approval_actions(d: Deployment, *, block_id: str = ids.APPROVAL_BLOCK) -> Block:
    """Approve (with a confirmation dialog) / Reject, valued with the deployment's id: the
    card's buttons, and the same ones in the App Home tab (with its own `block_id`)."""
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            _button("Approve", ids.APPROVE, str(d.id), style="primary", confirm=confirm_dialog(
                f"Approve this {noun(d)}?", _approve_text(d), "Approve")),
            _button("Reject", ids.REJECT, str(d.id), style="danger"),
        ],
    }


_HEAD = {Kind.DEPLOY: "Deploy ", Kind.ROLLBACK: "↩️ Rollback ", Kind.MIGRATE: "🗄️ Migration "}


def deployment_card(d: Deployment, zone: ZoneInfo) -> Message:
    lines = [
        f"*Service:* `{d.service}`   *Environment:* `{d.environment}`"
        + (f" ({instance_label(d.instance)} preview)" if d.instance is not None else ""),
        _what(d),
        f"*Requested by:* {who(d.requested_by)} at {when(d.requested_at, zone)}",
    ]
    status = STATE_LINE[d.state]
    if d.state is State.RUNNING and d.progress:
        status += f" — {d.progress}"
    if d.state in (State.FAILED, State.ROLLED_BACK) and d.error:
        status += f" — {d.error}"
    if d.state is State.SUCCEEDED and d.progress:  # e.g. "… is already running; nothing to do"
        status += f" — {d.progress}"
    if d.state in (State.RUNNING, State.VERIFYING) and d.abort_requested_by is not None:
        asked = f" at {when(d.abort_requested_at, zone)}" if d.abort_requested_at else ""
        status += f" — 🛑 aborting: {who(d.abort_requested_by)} asked{asked}"
    if d.state is State.SCHEDULED and d.not_before is not None:
        status += f" — opens {when(d.not_before, zone)}"
        if d.prompted_at is not None:
            status += f"; {who(d.requested_by)} was asked to start it"
    if d.state is State.CANCELLED and d.superseded_by is not None:
        status = f"⏭️ Superseded by #{d.superseded_by}"
    elif d.state is State.CANCELLED and d.error:
        status += f" — {d.error}"
    head = ("🚨 EMERGENCY deploy " if d.emergency else _HEAD[d.kind]) + title(d)
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
        _section("\n".join(lines)),
    ]
    if d.emergency_reason is not None:
        blocks.append(_section(f"*Emergency reason:* {reason_text(d.emergency_reason)}"))
    blocks.append(_section(f"*Status:* {status}"))
    blocks += _verdict_blocks(d, zone)
    blocks += _abort_blocks(d)
    if d.state is State.SCHEDULED:
        blocks.append({"type": "actions", "block_id": ids.SCHEDULED_BLOCK, "elements": [
            *_approve_ahead_buttons(d, zone),
            _button("Cancel", ids.CANCEL_SCHEDULED, str(d.id), style="danger"),
        ]})
    if d.needs_approval:
        decided = [
            f"{'✅ approved' if x.approve else '🚫 rejected'} by <@{x.user_id}> at "
            f"{when(x.at, zone)}" for x in d.decisions
        ]
        need = f"Approvals: {len(d.approvers)}/{d.approvals_required}"
        if d.emergency:
            need += " (emergency approvers)"
        blocks.append(_context(" · ".join([need, *decided])))
    if d.state is State.SCHEDULED and d.needs_approval:
        blocks.append(_context(_ahead_line(d, zone)))
    if d.state is State.AWAITING_APPROVAL:
        if d.expires_at is not None:
            blocks.append(_context(f"Expires {when(d.expires_at, zone)} if not approved."))
        if d.kind is Kind.DEPLOY:
            blocks.append(_context("Pre-deployment checklist (confirm before approving): "
                                   "tests passing · code reviewed and approved · migrations "
                                   "reviewed · feature flags configured · monitoring alerts "
                                   "set up · rollback plan documented")
                          | {"block_id": ids.CHECKLIST_BLOCK})
        blocks.append(approval_actions(d))
    elif d.state is State.EXPIRED and d.expires_at is not None:
        why = f" ({d.error})" if d.error else ""
        blocks.append(_context(f"Expired at {when(d.expires_at, zone)} without enough "
                               f"approvals{why}. Request it again with `/deploy`."))
    text = f"{_HEAD[d.kind].strip()} {title(d)}: {STATE_LINE[d.state]}"
    return Message(text=text, blocks=blocks)


def _approved_ahead(d: Deployment) -> bool:
    return d.needs_approval and len(d.approvers) >= d.approvals_required


def _approve_ahead_buttons(d: Deployment, zone: ZoneInfo) -> list[Block]:
    """Approve on a deploy waiting for its window, while it lacks approvals."""
    if not d.needs_approval or _approved_ahead(d):
        return []
    opens = f", {when(d.not_before, zone)}" if d.not_before and d.prompted_at is None else ""
    return [_button("Approve", ids.APPROVE_AHEAD, str(d.id), style="primary",
                    confirm=confirm_dialog(
                        f"Approve this {noun(d)} ahead of its window?",
                        f"{_approve_text(d)} With its approvals it starts by itself when "
                        f"the deploy window opens{opens}, with nobody clicking then.",
                        "Approve"))]


def _ahead_line(d: Deployment, zone: ZoneInfo) -> str:
    """What happens when the window opens to a deploy waiting for it that needs approval."""
    opens = ("as soon as it has them (the window is open)" if d.prompted_at is not None
             else f"when the deploy window opens, {when(d.not_before, zone)}"
             if d.not_before is not None else "when the deploy window opens")
    if _approved_ahead(d):
        if d.prompted_at is not None:  # the window opened, but a lock or another deploy
            return (f"✅ Approved ahead of its window. It could not start by itself; "
                    f"{who(d.requested_by)} starts it with the Start button I sent.")
        return f"✅ Approved ahead of its window: it starts by itself {opens}."
    missing = d.approvals_missing
    tail = (f"Without them, {who(d.requested_by)} is asked to start it then and it goes to "
            "approval as usual." if d.prompted_at is None else
            f"Or {who(d.requested_by)} starts it with the Start button I sent, and it goes "
            "to approval as usual.")
    return (f"It can be approved now, ahead of its window: with {missing} more approval(s) "
            f"it starts by itself {opens}. {tail}")


def deployment_record(d: Deployment, zone: ZoneInfo,
                      checklist: Checklist | None = None) -> Message:
    what = (f"*Migrate to:* `{d.target}` (image `{d.version}`)" if d.kind is Kind.MIGRATE
            else f"*Version:* `{d.version}` (from `{d.previous_version or 'unknown'}`)")
    lines = [
        "*Migration record*" if d.kind is Kind.MIGRATE else "*Deployment record*",
        what,
        f"*Date:* {when(d.started_at or d.requested_at, zone)}",
        f"*Deployer:* {who(d.requested_by)}",
    ]
    if d.emergency_reason is not None:
        lines.append(f"*Emergency deploy:* {reason_text(d.emergency_reason)}")
    for section in build_record(d, checklist):
        lines.append(f"\n*{section.title}*")
        for item in section.items:
            detail = f" — {item.detail}" if item.detail else ""
            at = f", {when(item.at, zone)}" if item.at is not None else ""
            then = f"; {item.then}" if item.then else ""
            lines.append(f"{MARKS[item.mark]} {item.label}{detail}{at}{then}")
    if d.duration is not None:
        lines.append(f"\nDuration: {took(d.duration)}")
    text = "\n".join(lines)
    return Message(text=f"Deployment record for {title(d)}", blocks=[_section(text)])


def announcement(d: Deployment, zone: ZoneInfo, permalink: str | None, *,
                 severity: Severity, mention: str | None = None) -> Message:
    """The result in the deployments channel, labelled with its `severity`; `mention` (e.g.
    on-call's user group) opens it. The text fallback (notifications) starts with the
    severity when it is critical or high."""
    ok = d.state is State.SUCCEEDED
    if d.kind is not Kind.DEPLOY:
        head = _other_head(d, ok)
    elif ok:
        head = f"✅ *{d.service} `{d.version}` is live in {d.where}*"
    elif d.state is State.ROLLED_BACK and (ab := aborted(d)) is not None:  # stopped by hand
        during = DURING_THE_WATCH if ab.went_live else ""
        head = (f"🛑 *Deploy of {d.service} `{d.version}` to {d.environment} was aborted by "
                f"{ab.by}{during}, rolled back to `{_back_to(d)}`*")
    elif d.state is State.ROLLED_BACK and failed_rollout(d):  # its new pods never served
        head = (f"⚠️ *Deploy of {d.service} `{d.version}` to {d.environment} failed its "
                f"rollout and was rolled back to `{_back_to(d)}`*")
    elif d.state is State.ROLLED_BACK and failed_verification(d):  # bad, but handled
        head = (f"⚠️ *Deploy of {d.service} `{d.version}` to {d.environment} failed "
                f"verification, rolled back to `{_back_to(d)}`*")
    elif d.state is State.ROLLED_BACK:  # e.g. it went live and someone rolled it back
        head = (f"↩️ *Deploy of {d.service} `{d.version}` to {d.environment} was rolled back "
                f"to `{_back_to(d)}`*")
    elif failed_verification(d) and d.verification is not None and d.verification.superseded:
        head = (f"🚨 *Deploy of {d.service} `{d.version}` to {d.environment} failed "
                "verification; someone else has changed the workload since (not rolled "
                "back)*")
    elif failed_verification(d):  # worst: the failing version is still live
        head = (f"🚨 *Deploy of {d.service} `{d.version}` to {d.environment} failed "
                f"verification; `{d.version}` is still live*")
    else:
        head = f"❌ *Deploy of {d.service} `{d.version}` to {d.where} failed*"
    parts = [mention, head] if mention else [head]
    cause = _cause(d)
    if not ok and cause:
        parts.append(f"Cause: {cause}")
    if ok and d.progress:  # a note such as "v1.2.3 is already running in staging; nothing to do"
        parts.append(d.progress)
    by = f"{'Deployed' if d.kind is Kind.DEPLOY else 'Requested'} by {who(d.requested_by)}"
    if d.approvers:
        by += ", approved by " + ", ".join(f"<@{a.user_id}>" for a in d.approvers)
    parts.append(f"{by} · took {took(d.duration)} · previous `{d.previous_version or '—'}`"
                 + (" · ⬇️ downgrade" if d.downgrade_from is not None else ""))
    if permalink:
        parts.append(f"<{permalink}|Deployment thread>")
    text = f"{title(d)}: {d.state.value}"
    if mention:
        text = f"{mention} {text}"
    if severity in (Severity.CRITICAL, Severity.HIGH):
        text = f"{severity.label}: {text}"
    return Message(text=text, blocks=[_section("\n".join(parts)),
                                      _context(f"Severity: {severity.value}")])


def _back_to(d: Deployment) -> str | None:
    """The version a rolled-back deployment went back to (the runner's note says it)."""
    rb = rolled_back(d)
    return rb.to if rb is not None else d.previous_version


def _cause(d: Deployment) -> str | None:
    """Why `d` failed, without the rollback note its headline already says ("…; rolled back
    to v1.2.3"); nothing for an abort rolled back (the headline names who) or for a
    deployment that had gone live before someone rolled it back."""
    if d.state is not State.ROLLED_BACK:
        return d.error
    if aborted(d) is not None:
        return None
    rb = rolled_back(d)
    return rb.reached if rb is not None else d.error


def _other_head(d: Deployment, ok: bool) -> str:
    """The headline of a rollback's or a migration run's result."""
    if d.kind is Kind.ROLLBACK:
        since = f", deployment #{d.rollback_of}" if d.rollback_of else ""
        if ok:
            return (f"↩️ *{d.service} is rolled back to `{d.version}` in {d.environment}* "
                    f"(replacing `{d.previous_version}`{since})")
        return f"❌ *Rollback of {d.service} to `{d.version}` in {d.environment} failed*"
    if ok:
        return f"🗄️ *{d.service} migrations in {d.environment} are at `{d.target}`*"
    return f"❌ *Migration of {d.service} in {d.environment} to `{d.target}` failed*"


def requester_note(d: Deployment, zone: ZoneInfo, permalink: str | None) -> Message:
    link = f" <{permalink}|Thread>" if permalink else ""
    match d.state:
        case State.SUCCEEDED:
            text = f"✅ Your {noun(d)} {title(d)} succeeded in {took(d.duration)}."
        case State.ROLLED_BACK if aborted(d) is not None:
            text = (f"🛑 Your {noun(d)} {title(d)} was aborted by <@{d.abort_requested_by}> "
                    f"and rolled back to {_back_to(d)}.")
        case State.ROLLED_BACK if failed_rollout(d) or failed_verification(d):
            what = "failed its rollout" if failed_rollout(d) else "failed verification"
            text = (f"⚠️ Your {noun(d)} {title(d)} {what} and was rolled back to "
                    f"{_back_to(d)}: {_cause(d) or 'see the thread'}.")
        case State.ROLLED_BACK:
            cause = _cause(d)
            text = (f"↩️ Your {noun(d)} {title(d)} was rolled back to {_back_to(d)}"
                    + (f": {cause}." if cause else "."))
        case State.FAILED:
            text = f"❌ Your {noun(d)} {title(d)} failed: {d.error or 'see the thread'}."
        case State.REJECTED:
            who = f"<@{d.rejecter.user_id}>" if d.rejecter else "an approver"
            text = f"🚫 Your {noun(d)} {title(d)} was rejected by {who}."
        case State.EXPIRED if d.not_before is not None and d.kind is Kind.DEPLOY:
            # It expired because its deploy window closed: offer to queue it for the next.
            text = (f"⌛ Your {noun(d)} {title(d)} expired without enough approvals: "
                    f"{d.error or 'the deploy window closed'}. The next window opens "
                    f"{when(d.not_before, zone)}; queue it for then, and approvers can "
                    "approve it ahead on its card.")
            queue = _button(f"Queue it for {when(d.not_before, zone)}", ids.QUEUE_FOR_WINDOW,
                            f"{d.service} {d.environment} {d.version}", style="primary")
            return Message(text=text + link, blocks=[_section(text + link), {
                "type": "actions", "block_id": ids.WINDOW_BLOCK, "elements": [queue]}])
        case State.EXPIRED:
            text = f"⌛ Your {noun(d)} {title(d)} expired without enough approvals."
        case State.CANCELLED:
            text = f"✖️ Your {noun(d)} {title(d)} was cancelled: {d.error or 'see the thread'}."
        case _:
            text = f"Your {noun(d)} {title(d)} is now {d.state.value.replace('_', ' ')}."
    return Message(text=text + link, blocks=[_section(text + link)])


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
    return f"✅ You approved deployment #{d.id} ahead of its window. {_ahead_line(d, zone)}"


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
    return Message(text=text, blocks=[_section(text)])


def status_view(running: list[Live], recent: list[Deployment],
                zone: ZoneInfo, windows: list[str] | None = None) -> Message:
    lines = ["*Running now*"]
    if not running:
        lines.append("_No service is configured._")
    lines += [f"• {live_line(live, zone)}" for live in running]
    lines.append("\n*Last deployments*")
    if not recent:
        lines.append("_None yet._")
    for d in recent:
        lines.append(f"• #{d.id} `{d.service}` `{d.version}` → `{d.where}` — "
                     f"{STATE_LINE[d.state]} — {who(d.requested_by)}, "
                     f"{when(d.requested_at, zone)}")
    if windows:  # one line per environment: open now, or closed and why, and the next change
        lines.append("\n*Deploy windows*")
        lines += [f"• {w}" for w in windows]
    return Message(text="Deployment status", blocks=[_section("\n".join(lines))])


def emergency_alert(d: Deployment, overrides: list[str], zone: ZoneInfo) -> Message:
    over = "".join(f"\n• overrides: {o}" for o in overrides) or "\n• no window was closed"
    text = (f"🚨 *EMERGENCY deploy requested* by {who(d.requested_by)}: `{d.service}` "
            f"`{d.version}` → *{d.environment}*\n*Reason:* "
            f"{reason_text(d.emergency_reason or '')}{over}\n"
            f"Needs {d.approvals_required} approval(s) from the emergency approvers.")
    return Message(text=f"EMERGENCY deploy requested: {title(d)}", blocks=[_section(text)])


def window_closed(reasons: tuple[str, ...], next_at: datetime | None, zone: ZoneInfo,
                  *, service: str, environment: str, version: str, request_value: str) -> Message:
    """The refusal of a deploy outside its window, with a button to queue it."""
    lines = [f"🚫 *Not now:* `{service}` `{version}` cannot go to *{environment}*."]
    lines += [f"• {r}" for r in reasons]
    blocks: list[Block] = []
    if next_at is not None:
        lines.append(f"The next window opens *{when(next_at, zone)}*.")
        blocks = [_section("\n".join(lines)), {
            "type": "actions", "block_id": ids.WINDOW_BLOCK, "elements": [
                _button(f"Queue it for {when(next_at, zone)}", ids.QUEUE_FOR_WINDOW,
                        request_value, style="primary"),
            ]}]
    else:
        lines.append("No window opens in the next 60 days.")
        blocks = [_section("\n".join(lines))]
    blocks.append(_context('If production is broken, use `--emergency "reason"`: it needs '
                           "emergency approval and is announced."))
    return Message(text=f"Not now: {service} {version} cannot go to {environment}",
                   blocks=blocks)


def window_open_prompt(d: Deployment, zone: ZoneInfo) -> Message:
    text = (f"🟢 The deploy window is open: your queued deploy {title(d)} can start now. "
            "It still needs its approvals.")
    return Message(text=text, blocks=[_section(text), {
        "type": "actions", "block_id": ids.SCHEDULED_BLOCK, "elements": [
            _button("Start it", ids.START_SCHEDULED, str(d.id), style="primary"),
            _button("Cancel", ids.CANCEL_SCHEDULED, str(d.id), style="danger"),
        ]}])


def _where(d: Deployment) -> str:
    return f"<#{d.channel}>" if d.channel and d.channel[0] in "CG" else "the deployments channel"


def request_accepted(d: Deployment, zone: ZoneInfo) -> Message:
    """The requester's ephemeral answer once a request is posted (or queued)."""
    what = f"`{d.service}` `{d.version}` → *{d.where}*"
    name = {Kind.DEPLOY: "Deployment", Kind.ROLLBACK: "Rollback",
            Kind.MIGRATE: "Migration run"}[d.kind]
    if d.kind is Kind.MIGRATE:
        what = f"`{d.service}` migrations → `{d.target}` in *{d.environment}*"
    elif d.kind is Kind.ROLLBACK:
        what = (f"`{d.service}` back to `{d.version}` in *{d.environment}* (from "
                f"`{d.previous_version}`, now marked faulty there)")
    if d.state is State.SCHEDULED and d.not_before is not None and d.needs_approval:
        text = (f"🗓️ Deployment #{d.id} queued: {what}. It needs {d.approvals_required} "
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
        icon = {Kind.DEPLOY: "🚀", Kind.ROLLBACK: "↩️", Kind.MIGRATE: "🗄️"}[d.kind]
        text = f"{icon} {name} #{d.id} started: {what}. Follow it in {_where(d)}."
    return notice(text)
