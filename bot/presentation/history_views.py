"""Block Kit for `/deploys`: the last deployments, and the DORA measures (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.deployment import Deployment, Kind
from bot.domain.dora import DoraStats
from bot.domain.outcome_notes import headline_error, rollback_note
from bot.domain.states import TERMINAL, State
from bot.domain.text import reason_text, shown, who
from bot.presentation.blocks import Message, took, when
from bot.presentation.cause_views import cause_line
from bot.presentation.parts import state_line
from bot.presentation.sections import Block, context, section

KIND_LABEL = {Kind.DEPLOY: "🚀 deploy", Kind.ROLLBACK: "↩️ rollback",
              Kind.MIGRATE: "🗄️ migration run", Kind.FLAG: "🚩 flag change"}


def scope(environment: str | None, service: str | None) -> str:
    """'`api` in production', 'all services in all environments': a title's scope (the
    title is bold as a whole; a bold word inside it would end it early)."""
    where = environment or "all environments"
    what = f"`{service}`" if service else "all services"
    return f"{what} in {where}"


def _what(d: Deployment) -> str:
    if d.kind is Kind.FLAG:
        return (f"flag {shown(d.target or '', limit=60)} → `{d.version}` in "
                f"*{d.environment}* (was `{d.previous_version or '—'}`)")
    if d.kind is Kind.MIGRATE:
        return f"`{d.service}` migrations → {shown(d.target or '', limit=60)} in *{d.environment}*"
    if d.kind is Kind.ROLLBACK:
        return (f"`{d.service}` back to `{d.version}` in *{d.environment}* "
                f"(from `{d.previous_version or '—'}`)")
    return f"`{d.service}` `{d.version}` → *{d.where}*"


_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]+)&gt;")


def cause(error: str) -> str:
    """A failure's cause for display: Slack markup escaped, except user mentions (a
    rollback names who asked for it) and links."""
    return _MENTION.sub(r"<@\1>", reason_text(error, limit=140))


def _result(d: Deployment) -> str:
    line, error = state_line(d), headline_error(d)
    rb = rollback_note(error) if d.state is State.ROLLED_BACK else None
    if rb is not None:  # where it went back to first: the cause may be cut
        by = f" by {cause(rb.by)}" if rb.by else ""
        number = f" (#{rb.rollback_id})" if rb.rollback_id else ""
        line = f"↩️ Rolled back to {shown(rb.to)}{by}{number}"
        error = rb.reached
    if d.state in (State.FAILED, State.ROLLED_BACK, State.CANCELLED) and error:
        line += f" — {cause(error)}"
    return line


def _decisions(d: Deployment) -> str | None:
    """Who decided: a rejection first (it is the verdict, even after approvals), and
    approvals short of the number required said as such, not as 'approved by'."""
    names = ", ".join(f"<@{a.user_id}>" for a in d.approvers)
    partial = (f"{len(d.approvers)} of {d.approvals_required} approvals given: {names}"
               if d.approvers and d.approvals_missing > 0 else None)
    if d.rejecter is not None:
        given = f" ({partial})" if partial else ""
        return f"rejected by <@{d.rejecter.user_id}>{given}"
    if partial:
        return partial
    if d.approvers:
        return "approved by " + names
    if d.needs_approval:
        yet = "given" if d.state in TERMINAL else "yet"  # an ended request waits no more
        return f"no approval {yet} ({d.approvals_required} needed)"
    return None


def history_line(d: Deployment, zone: ZoneInfo) -> str:
    """Two lines: what and its result; who, when, how long, who approved — and a third for
    an automatic deploy: what moved on GitHub."""
    kind = "🚨 emergency deploy" if d.emergency else KIND_LABEL[d.kind]
    head = f"*#{d.id}* {kind} · {_what(d)} · {_result(d)}"
    start = (when(d.started_at, zone) if d.started_at
             else f"requested {when(d.requested_at, zone)}")
    parts = [f"{who(d.requested_by)}", start]
    if d.duration is not None:
        parts.append(f"took {took(d.duration)}")
    decided = _decisions(d)
    if decided:
        parts.append(decided)
    cause = f"\n{cause_line(d.cause)}" if d.cause is not None else ""
    return head + "\n" + " · ".join(parts) + cause


def history_view(deployments: Sequence[Deployment], zone: ZoneInfo, *,
                 environment: str | None, service: str | None, limit: int) -> Message:
    title = f"Last {limit} deployments: {scope(environment, service)}"
    blocks: list[Block] = [section(f"*{title}* — newest first")]
    if not deployments:
        blocks.append(section("_No deployments yet._"))
    blocks += [section(history_line(d, zone)) for d in deployments]
    blocks.append(context(f"Times in {zone.key}. What runs where: `/deploy status`. "
                           "Deployment frequency, failure rate, time to restore: "
                           "`/deploys stats`."))
    return Message(text=title.replace("*", ""), blocks=blocks)


def span(delta: timedelta | None) -> str:
    """A duration for people: 45s, 12m 30s, 2h 05m, 3d 4h."""
    if delta is None:
        return "—"
    s = int(delta.total_seconds())
    if s < 3600:
        return took(delta)
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _rate(stats: DoraStats) -> str:
    rate = stats.failure_rate
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _summary(name: str, stats: DoraStats) -> str:
    return (f"• `{name}`: {stats.changes} deploys ({stats.per_day:.1f} a day) · failure rate "
            f"{_rate(stats)} · restore median {span(stats.median_restore)}, worst "
            f"{span(stats.worst_restore)}")


def stats_view(overall: DoraStats, zone: ZoneInfo, *, environments: Sequence[str],
               service: str | None, default_scope: bool,
               per_environment: Sequence[tuple[str, DoraStats]] = ()) -> Message:
    envs = ", ".join(environments)  # in the bold title: not bold again
    where = f"{envs} (the production environments)" if default_scope and len(environments) \
        else envs
    what = f"`{service}`" if service else "all services"
    title = f"DORA measures, last {round(overall.days)} days: {what} in {where}"
    frequency = (f"*Deployment frequency:* {overall.changes} deploy(s) went live — "
                 f"{overall.per_day:.1f} a day, {overall.per_week:.1f} a week")
    failure = (f"*Change failure rate:* {_rate(overall)}"
               + (f" — {overall.failed} of {overall.changes} failed their watch, were rolled "
                  "back or needed a rollback" if overall.changes else " — nothing went live"))
    restored = overall.restored
    if not overall.restores:
        restore = "*Time to restore:* — (no failed deploys)"
    else:
        restore = (f"*Time to restore:* median {span(overall.median_restore)}, worst "
                   f"{span(overall.worst_restore)} ({len(restored)} failure(s) restored)")
        open_ = overall.unrestored
        if open_:
            oldest = min(r.failed_at for r in open_)
            restore += (f"; {len(open_)} not restored yet, the oldest since "
                        f"{when(oldest, zone)}")
    lines = [f"*{title}*", f"• {frequency}", f"• {failure}", f"• {restore}",
             f"• Rollbacks that went live: {overall.rollbacks}"]
    blocks: list[Block] = [section("\n".join(lines))]
    if per_environment:
        blocks.append(section("*Per environment*\n"
                               + "\n".join(_summary(e, s) for e, s in per_environment)))
    blocks.append(context(
        f"From {when(overall.since, zone)} to {when(overall.until, zone)}, from deploybot's "
        "own records. A deploy counts when it went live and changed the version; it failed "
        "when it failed its watch, was rolled back, or a rollback of it was requested. Time "
        "to restore runs from the failure to the end of the next deploy or rollback of that "
        "service there that passed its checks."))
    return Message(text=title.replace("*", ""), blocks=blocks)
