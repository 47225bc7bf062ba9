"""A deployment's card in the deployments channel (pure; no Slack client here): its header,
what it deploys (and why it may go there: the promotion gate's finding), who asked (and, for
an automatic deploy, what moved on GitHub: bot/presentation/cause_views.py), its status, and its
buttons: Approve / Reject, Approve ahead of the deploy window, Rollback / Keep after a
failed watch, Abort, Cancel; and the line saying what happens to a deploy waiting for its
window that needs approval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from bot.domain.abort import abort_refusal, what_abort_does
from bot.domain.deployment import Deployment, Kind
from bot.domain.links import Link
from bot.domain.outcome_notes import failed_rollout, headline_error
from bot.domain.policy import PolicyDecision
from bot.domain.previews import instance_label
from bot.domain.states import State
from bot.domain.text import error_text, reason_text, shown, who
from bot.domain.versions import named
from bot.presentation import ids
from bot.presentation.cause_views import cause_text
from bot.presentation.link_views import links_line
from bot.presentation.parts import (
    Block,
    Message,
    _button,
    confirm_dialog,
    noun,
    state_line,
    title,
    when,
)
from bot.presentation.sections import context, header, section


def _verdict_blocks(d: Deployment, zone: ZoneInfo,
                    kill_switches: Sequence[str] = ()) -> list[Block]:
    """Rollback / Keep after a failed watch, or after a failed rollout that left the new
    version applied (automatic rollback off), or who chose what; beside them, "Turn <flag>
    off" for each of `kill_switches` (the service's flags marked `kill_switch` there)."""
    v = d.verification
    if d.state not in (State.FAILED, State.ROLLED_BACK) or v is None or not v.offer_rollback:
        return []
    # A failed rollout's new pods never served: it is left applied, not live.
    rollout = failed_rollout(d)
    if v.decision is not None:
        at = f" at {when(v.decided_at, zone)}" if v.decided_at else ""
        if v.decision == "rollback":
            return [context(f"↩️ <@{v.decided_by}> chose to roll back to "
                            f"`{d.previous_version}`{at} (deployment #{v.rollback_id}).")]
        return [context(f"🟠 <@{v.decided_by}> chose to keep `{d.version}` "
                        f"{'applied' if rollout else 'live'}{at}.")]
    if d.state is not State.FAILED:
        return []
    ask = (f"*`{d.version}` failed its rollout and is left applied:* its new pods never "
           f"became ready, the old ones still serve. Roll back to `{d.previous_version}`, "
           "or keep it?" if rollout else
           f"*`{d.version}` failed its checks and is still live.* Roll back to "
           f"`{d.previous_version}`, or keep it?")
    return [section(ask), {"type": "actions", "block_id": ids.VERDICT_BLOCK, "elements": [
        _button(f"Roll back to {d.previous_version}", ids.ROLL_BACK, str(d.id),
                style="danger", confirm=confirm_dialog(
                    "Roll back?", f"Roll `{d.service}` in *{d.environment}* back from "
                    f"`{d.version}` to `{d.previous_version}`.", "Roll back")),
        _button(f"Keep {d.version}", ids.KEEP, str(d.id)),
        *(_button(f"Turn {flag} off", action_id, f"{d.id}:{flag}",
                  confirm=confirm_dialog(
                      f"Turn {flag} off?",
                      f"Request `/flag {d.environment} {flag} off` (kill switch after "
                      f"failed deploy #{d.id}), with the approvals a deploy there needs.",
                      "Turn off"))
          for action_id, flag in zip(ids.TURN_FLAG_OFF_IDS, kill_switches, strict=False)),
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


def _what(d: Deployment, tags: Mapping[str, str]) -> str:
    def v(version: str | None, unknown: str = "unknown") -> str:  # a commit with its tag
        return named(version, tags.get(version)) if version is not None else f"`{unknown}`"

    if d.kind is Kind.FLAG:
        return (f"*Flag:* {shown(d.target or '', limit=80)}   *Turn to:* `{d.version}`   "
                "*Default variant now:* "
                f"`{d.previous_version or 'none'}`")
    if d.kind is Kind.MIGRATE:
        return (f"*Migrate to:* `{d.target}`   *From the image of:* `{d.version}` "
                "(running now)")
    if d.kind is Kind.ROLLBACK:
        return (f"*Back to:* {v(d.version)}   *Replacing:* {v(d.previous_version, 'None')}"
                + (f" (deployment #{d.rollback_of})" if d.rollback_of else ""))
    if d.downgrade_from is not None:
        return (f"*Version:* `{d.version}`   ⬇️ *Downgrade* from {v(d.downgrade_from)} "
                "(confirmed)")
    return f"*Version:* `{d.version}`   *Running now:* {v(d.previous_version or None)}"


def promotion_line(d: Deployment, zone: ZoneInfo) -> str | None:
    """Why the version may go there, as the promotion gate found it when it was requested:
    the success in `promote_from` (the version's own, or its tag's commit's), when and which
    deployment — history, not what runs there now; or that an emergency skipped the gate."""
    p = d.promotion
    if p is None:
        return None
    if p.skipped:
        return (f"*Promotion gate skipped (emergency):* `{d.version}` had not succeeded in "
                f"{p.source}")
    at = f" at {when(p.at, zone)}" if p.at is not None else ""
    return f"*Promoted from {p.source}:* {p.found(d.version)}{at} (deployment #{p.deployment_id})"


def _approve_text(d: Deployment) -> str:
    if d.kind is Kind.FLAG:
        return f"Turn flag {shown(d.target or '', limit=80)} to `{d.version}` in *{d.environment}*."
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


_HEAD = {Kind.DEPLOY: "Deploy ", Kind.ROLLBACK: "↩️ Rollback ", Kind.MIGRATE: "🗄️ Migration ",
         Kind.FLAG: "🚩 Flag change "}


def deployment_card(d: Deployment, zone: ZoneInfo, links: Sequence[Link] = (),
                    kill_switches: Sequence[str] = (),
                    tags: Mapping[str, str] | None = None,
                    window: PolicyDecision | None = None) -> Message:
    """The card; `window`: the deploy window now, for a request awaiting approval (a
    freeze that started under it, the schedule closing): said while it is closed, as
    approving is refused until it opens; `links`: the service's in the environment at the
    version (dashboard, runbook, logs, …), shown under what it deploys; `kill_switches`:
    the service's flags offered as "Turn <flag> off" beside Rollback / Keep after a failed
    watch; `tags`: the tags of the commits it names (running now, downgraded from, rolled
    back to or from), known without asking GitHub — "`v1.2.4` (commit `3f2a9c1b7d4e`)"."""
    lines = [
        f"*Service:* `{d.service}`   *Environment:* `{d.environment}`"
        + (f" ({instance_label(d.instance)} preview)" if d.instance is not None else ""),
        _what(d, tags or {}),
        f"*Requested by:* {who(d.requested_by)} at {when(d.requested_at, zone)}",
    ]
    if d.cause is not None:  # an automatic deploy: what moved on GitHub
        lines.append(f"*Automatic:* {cause_text(d.cause)}")
    gate = promotion_line(d, zone)
    if gate is not None:
        lines.insert(2, gate)
    status = state_line(d)
    if d.state is State.RUNNING and d.progress:
        status += f" — {error_text(d.progress)}"
    error = headline_error(d)
    if d.state in (State.FAILED, State.ROLLED_BACK) and error:
        status += f" — {error_text(error)}"
    if d.state is State.SUCCEEDED and d.progress:  # e.g. "… is already running; nothing to do"
        status += f" — {error_text(d.progress)}"
    if d.state in (State.RUNNING, State.VERIFYING) and d.abort_requested_by is not None:
        asked = f" at {when(d.abort_requested_at, zone)}" if d.abort_requested_at else ""
        status += f" — 🛑 aborting: {who(d.abort_requested_by)} asked{asked}"
    if d.state is State.SCHEDULED and d.prompted_at is not None:  # released: it is open
        since = f" since {when(d.not_before, zone)}" if d.not_before is not None else ""
        status = (f"🟢 Deploy window open{since} — {who(d.requested_by)} was asked to "
                  "start it")
    elif d.state is State.SCHEDULED and d.not_before is not None:
        status += f" — opens {when(d.not_before, zone)}"
    if d.state is State.CANCELLED and d.superseded_by is not None:
        status = f"⏭️ Superseded by #{d.superseded_by}"
    elif d.state is State.CANCELLED and d.error:
        status += f" — {error_text(d.error)}"
    head = ("🚨 EMERGENCY deploy " if d.emergency else _HEAD[d.kind]) + title(d)
    blocks: list[Block] = [
        header(head),
        section("\n".join(lines)),
    ]
    if links:
        blocks.append(context(f"🔗 {links_line(links)}") | {"block_id": ids.LINKS_BLOCK})
    if d.emergency_reason is not None:
        blocks.append(section(f"*Emergency reason:* {reason_text(d.emergency_reason)}"))
    blocks.append(section(f"*Status:* {status}"))
    if d.state is State.AWAITING_APPROVAL and window is not None and window.blocked_by \
            and not window.allowed:
        blocks.append(section(closed_line(d, window, zone)))
    blocks += _verdict_blocks(d, zone, kill_switches)
    blocks += _abort_blocks(d)
    if d.state is State.SCHEDULED:
        blocks.append({"type": "actions", "block_id": ids.SCHEDULED_BLOCK, "elements": [
            *_approve_ahead_buttons(d, zone),
            _button("Cancel", ids.CANCEL_SCHEDULED, str(d.id), style="danger"),
        ]})
    if d.needs_approval:
        decided = [
            f"{'✅ approved' if x.approve else '🚫 rejected'} by <@{x.user_id}> at "
            f"{when(x.at, zone)}" + (f": {reason_text(x.reason)}" if x.reason else "")
            for x in d.decisions
        ]
        need = f"Approvals: {len(d.approvers)}/{d.approvals_required}"
        if d.emergency:
            need += " (emergency approvers)"
        blocks.append(context(" · ".join([need, *decided])))
    if d.state is State.SCHEDULED and d.needs_approval:
        blocks.append(context(ahead_line(d, zone)))
    if d.state is State.AWAITING_APPROVAL:
        if d.expires_at is not None:
            blocks.append(context(f"Expires {when(d.expires_at, zone)} if not approved."))
        if d.kind is Kind.DEPLOY:
            blocks.append(context("Pre-deployment checklist (confirm before approving): "
                                  "tests passing · code reviewed and approved · migrations "
                                  "reviewed · feature flags configured · monitoring alerts "
                                  "set up · rollback plan documented")
                          | {"block_id": ids.CHECKLIST_BLOCK})
        blocks.append(approval_actions(d))
    elif d.state is State.EXPIRED and d.expires_at is not None:
        why = f" ({error_text(d.error)})" if d.error else ""
        blocks.append(context(f"Expired at {when(d.expires_at, zone)} without enough "
                              f"approvals{why}. Request it again with `/deploy`."))
    text = f"{_HEAD[d.kind].strip()} {title(d)}: {state_line(d)}"
    return Message(text=text, blocks=blocks)


def _approved_ahead(d: Deployment) -> bool:
    return d.needs_approval and len(d.approvers) >= d.approvals_required


def _approve_ahead_buttons(d: Deployment, zone: ZoneInfo) -> list[Block]:
    """Approve on a deploy waiting for its window, while it lacks approvals; its dialog
    worded from the window as the card was last shown (the release job shows it again when
    the window opens: `prompted_at`)."""
    if not d.needs_approval or _approved_ahead(d):
        return []
    if d.prompted_at is not None:  # the window is open
        title_, then = (f"Approve this {noun(d)}?",
                        "Its deploy window is open: with its approvals it starts at once.")
    else:
        opens = f", {when(d.not_before, zone)}" if d.not_before else ""
        title_, then = (f"Approve this {noun(d)} ahead of its window?",
                        f"With its approvals it starts by itself when the deploy window "
                        f"opens{opens}, with nobody clicking then.")
    return [_button("Approve", ids.APPROVE_AHEAD, str(d.id), style="primary",
                    confirm=confirm_dialog(title_, f"{_approve_text(d)} {then}", "Approve"))]


def ahead_line(d: Deployment, zone: ZoneInfo) -> str:
    """What happens when the window opens to a deploy waiting for it that needs approval;
    once it opened (`prompted_at`: the release job asked the requester), what happens
    now."""
    opens = (f"when the deploy window opens, {when(d.not_before, zone)}"
             if d.not_before is not None else "when the deploy window opens")
    if _approved_ahead(d):
        if d.prompted_at is not None:  # the window opened, but a lock or another deploy
            return (f"✅ Approved ahead of its window. It could not start by itself; "
                    f"{who(d.requested_by)} starts it with the Start button I sent.")
        return f"✅ Approved ahead of its window: it starts by itself {opens}."
    missing = d.approvals_missing
    if d.prompted_at is not None:  # the window is open: nothing is ahead of it any more
        return (f"It can be approved now: with {missing} more approval(s) it starts by "
                f"itself at once (the window is open). Or {who(d.requested_by)} starts it "
                "with the Start button I sent, and it goes to approval as usual.")
    return (f"It can be approved now, ahead of its window: with {missing} more approval(s) "
            f"it starts by itself {opens}. Without them, {who(d.requested_by)} is asked to "
            "start it then and it goes to approval as usual.")


def closed_line(d: Deployment, window: PolicyDecision, zone: ZoneInfo) -> str:
    """What a request awaiting approval says while its deploy window is closed (a freeze
    started under it, the schedule closed): approving is refused until it opens again."""
    mark = "🧊" if any(b.startswith("freeze:") for b in window.blocked_by) else "🔴"
    why = "; ".join(window.reasons)
    nxt = window.next_allowed_at
    if nxt is None:
        then = "No deploy window opens in the next 60 days"
    elif d.expires_at is not None and nxt >= d.expires_at:
        then = (f"It expires before the window opens again ({when(nxt, zone)}): request it "
                "again then")
    else:
        then = f"It can be approved once that ends, {when(nxt, zone)}"
    return (f"{mark} Not approvable now: {why}. {then}; only an emergency deploy goes "
            "before.")
