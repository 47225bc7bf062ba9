"""What stays once a deployment ends (pure; no Slack client here): the deployment record in
its thread, the announcement of its result in the deployments channel, and the note to its
requester (with a button to queue it for the next window when the window closed on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.domain.checklist import Checklist
from bot.domain.deployment import Deployment, Kind
from bot.domain.flag_status import FlagReading
from bot.domain.links import Link
from bot.domain.outcome_notes import (
    DURING_THE_WATCH,
    aborted,
    failed_rollout,
    failed_verification,
    rolled_back,
)
from bot.domain.record import build_record
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.domain.text import error_text, reason_text, who
from bot.presentation import ids
from bot.presentation.cause_views import cause_line, cause_text
from bot.presentation.link_views import MONITOR, links_line, thread_link
from bot.presentation.parts import (
    MARKS,
    Message,
    _button,
    noun,
    title,
    took,
    when,
)
from bot.presentation.sections import context, section


def deployment_record(d: Deployment, zone: ZoneInfo, checklist: Checklist | None = None,
                      links: Sequence[Link] = (),
                      flags_set: FlagReading | None = None) -> Message:
    """The guide's record; `links` (the service's dashboard, runbook, logs, …) close its
    post-deployment section (a migration run's last section), where the guide says to
    watch the dashboards. `flags_set`: the declared feature flags as the rollout started."""
    what = (f"*Migrate to:* `{d.target}` (image `{d.version}`)" if d.kind is Kind.MIGRATE
            else f"*Flag:* `{d.target}` → `{d.version}` (default variant was "
                 f"`{d.previous_version or 'none'}`)" if d.kind is Kind.FLAG
            else f"*Version:* `{d.version}` (from `{d.previous_version or 'unknown'}`)")
    lines = [
        {Kind.MIGRATE: "*Migration record*", Kind.FLAG: "*Flag change record*"}.get(
            d.kind, "*Deployment record*"),
        what,
        f"*Date:* {when(d.started_at or d.requested_at, zone)}",
        f"*Deployer:* {who(d.requested_by)}",
    ]
    if d.cause is not None:  # an automatic deploy: what moved on GitHub
        lines.append(f"*Automatic:* {cause_text(d.cause)}")
    if d.emergency_reason is not None:
        lines.append(f"*Emergency deploy:* {reason_text(d.emergency_reason)}")
    known = _people(d, checklist)
    for part in build_record(d, checklist, flags_set):
        lines.append(f"\n*{part.title}*")
        for item in part.items:
            detail = f" — {_escaped(item.detail, known)}" if item.detail else ""
            at = f", {when(item.at, zone)}" if item.at is not None else ""
            then = f"; {_escaped(item.then, known)}" if item.then else ""
            lines.append(f"{MARKS[item.mark]} {item.label}{detail}{at}{then}")
    if links:  # the last section: post-deployment (a migration run's "After")
        lines.append(MONITOR + links_line(links))
    if d.duration is not None:
        lines.append(f"\nDuration: {took(d.duration)}")
    text = "\n".join(lines)
    return Message(text=f"Deployment record for {title(d)}", blocks=[section(text)])


def _people(d: Deployment, checklist: Checklist | None) -> set[str]:
    """Who the record may mention: the requester, the deciders, who aborted it, who chose
    Rollback / Keep, who ticked an item."""
    people = {d.requested_by, *(x.user_id for x in d.decisions)}
    people |= {u for u in (d.abort_requested_by,
                           d.verification.decided_by if d.verification else None) if u}
    if checklist is not None:
        people |= {i.tick.by for i in checklist.items if i.tick is not None}
    return people


def _escaped(text: str, known: set[str]) -> str:
    """A record item's detail, escaped (it may quote what someone typed: a "not applicable"
    reason; or the cluster), the mentions of `known` people deploybot wrote kept."""
    out = reason_text(text, limit=600)
    for user in known:
        out = out.replace(f"&lt;@{user}&gt;", f"<@{user}>")
    return out


def announcement(d: Deployment, zone: ZoneInfo, permalink: str | None, *,
                 severity: Severity, mention: str | None = None,
                 links: Sequence[Link] = ()) -> Message:
    """The result in the deployments channel, labelled with its `severity`; `mention` (e.g.
    on-call's user group) opens it. The text fallback (notifications) starts with the
    severity when it is critical or high. A failure shows `links` (the service's
    dashboard, runbook, logs, …) beside its thread's."""
    ok = d.state is State.SUCCEEDED
    if d.kind is not Kind.DEPLOY:
        head = _other_head(d, ok)
    elif ok and d.emergency:  # an emergency fix stays marked as one when it lands
        head = f"🚨 *Emergency deploy: {d.service} `{d.version}` is live in {d.where}*"
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
        parts.append(f"Cause: {error_text(cause)}")
    if ok and d.progress:  # a note such as "v1.2.3 is already running in staging; nothing to do"
        parts.append(error_text(d.progress))
    if d.cause is not None:  # an automatic deploy: what moved on GitHub
        parts.append(cause_line(d.cause))
    by = f"{'Deployed' if d.kind is Kind.DEPLOY else 'Requested'} by {who(d.requested_by)}"
    if d.approvers:
        by += ", approved by " + ", ".join(f"<@{a.user_id}>" for a in d.approvers)
    before = (f" · from the image of `{d.version}`" if d.kind is Kind.MIGRATE  # replaces none
              else "" if d.kind is Kind.ROLLBACK and ok  # its headline says what it replaced
              else f" · previous `{d.previous_version or '—'}`")
    parts.append(f"{by} · took {took(d.duration)}{before}"
                 + (" · ⬇️ downgrade" if d.downgrade_from is not None else ""))
    thread = thread_link(permalink, "Deployment thread")
    shown = [thread] if thread else []
    if not ok and links:
        shown.append(links_line(links))
    if shown:
        parts.append(" · ".join(shown))
    text = f"{title(d)}: {d.state.value}"
    if d.emergency:
        text = f"🚨 Emergency deploy {text}"
    if mention:
        text = f"{mention} {text}"
    if severity in (Severity.CRITICAL, Severity.HIGH):
        text = f"{severity.label}: {text}"
    return Message(text=text, blocks=[section("\n".join(parts)),
                                      context(_severity_line(d, severity, ok))])


def _severity_line(d: Deployment, severity: Severity, ok: bool) -> str:
    """'Severity: high'; an emergency deploy says so with its reason instead, and its
    severity only when it failed (a fix that landed is no "low" event)."""
    if not d.emergency or d.emergency_reason is None:
        return f"Severity: {severity.value}"
    why = f"🚨 Emergency deploy: {reason_text(d.emergency_reason, limit=200)}"
    return why if ok else f"{why} · Severity: {severity.value}"


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
    """The headline of a rollback's, a migration run's or a flag change's result."""
    if d.kind is Kind.ROLLBACK:
        since = f", deployment #{d.rollback_of}" if d.rollback_of else ""
        if ok:
            return (f"↩️ *{d.service} is rolled back to `{d.version}` in {d.environment}* "
                    f"(replacing `{d.previous_version}`{since})")
        return f"❌ *Rollback of {d.service} to `{d.version}` in {d.environment} failed*"
    if d.kind is Kind.FLAG:
        return (f"🚩 *Flag `{d.target}` → `{d.version}` in {d.environment}*" if ok else
                f"❌ *Flag change of `{d.target}` to `{d.version}` in {d.environment} failed*")
    if ok:
        return f"🗄️ *{d.service} migrations in {d.environment} are at `{d.target}`*"
    return f"❌ *Migration of {d.service} in {d.environment} to `{d.target}` failed*"


def _said(error: str | None) -> str:
    return error_text(error) if error else "see the thread"


def requester_note(d: Deployment, zone: ZoneInfo, permalink: str | None) -> Message:
    thread = thread_link(permalink, "Thread")
    link = f" {thread}" if thread else ""
    match d.state:
        case State.SUCCEEDED:
            text = f"✅ Your {noun(d)} {title(d)} succeeded in {took(d.duration)}."
        case State.ROLLED_BACK if aborted(d) is not None:
            text = (f"🛑 Your {noun(d)} {title(d)} was aborted by <@{d.abort_requested_by}> "
                    f"and rolled back to {_back_to(d)}.")
        case State.ROLLED_BACK if failed_rollout(d) or failed_verification(d):
            what = "failed its rollout" if failed_rollout(d) else "failed verification"
            text = (f"⚠️ Your {noun(d)} {title(d)} {what} and was rolled back to "
                    f"{_back_to(d)}: {_said(_cause(d))}.")
        case State.ROLLED_BACK:
            cause = _cause(d)
            text = (f"↩️ Your {noun(d)} {title(d)} was rolled back to {_back_to(d)}"
                    + (f": {error_text(cause)}." if cause else "."))
        case State.FAILED:
            text = f"❌ Your {noun(d)} {title(d)} failed: {_said(d.error)}."
        case State.REJECTED:
            who = f"<@{d.rejecter.user_id}>" if d.rejecter else "an approver"
            why = d.rejecter.reason if d.rejecter else None
            text = (f"🚫 Your {noun(d)} {title(d)} was rejected by {who}"
                    + (f": {reason_text(why).rstrip('.')}" if why else "") + ".")
        case State.EXPIRED if d.not_before is not None and d.kind is Kind.DEPLOY:
            # It expired because its deploy window closed: offer to queue it for the next.
            text = (f"⌛ Your {noun(d)} {title(d)} expired without enough approvals: "
                    f"{error_text(d.error or 'the deploy window closed')}. The next window "
                    "opens "
                    f"{when(d.not_before, zone)}; queue it for then, and approvers can "
                    "approve it ahead on its card.")
            queue = _button(f"Queue it for {when(d.not_before, zone)}", ids.QUEUE_FOR_WINDOW,
                            f"{d.service} {d.environment} {d.version}", style="primary")
            return Message(text=text + link, blocks=[section(text + link), {
                "type": "actions", "block_id": ids.WINDOW_BLOCK, "elements": [queue]}])
        case State.EXPIRED:
            text = f"⌛ Your {noun(d)} {title(d)} expired without enough approvals."
        case State.CANCELLED:
            text = f"✖️ Your {noun(d)} {title(d)} was cancelled: {_said(d.error)}."
        case _:
            text = f"Your {noun(d)} {title(d)} is now {d.state.value.replace('_', ' ')}."
    return Message(text=text + link, blocks=[section(text + link)])


def approval_dropped_note(old: Deployment, new: Deployment, permalink: str | None) -> Message:
    """The DM to an approver who had approved `old` when `new` superseded it: the approval
    went with it; the newer request, linked (its card), needs its own."""
    card = thread_link(permalink, f"#{new.id}") or f"#{new.id}"
    text = (f"⏭️ Your approval of deployment #{old.id} ({old.service} `{old.version}` to "
            f"{old.environment}) was dropped: it was superseded by #{new.id} "
            f"(`{new.version}`, requested by {who(new.requested_by)}) before it started. "
            f"The newer request needs its own approvals: {card}.")
    return Message(text=text, blocks=[section(text)])
