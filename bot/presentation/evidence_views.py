"""The message a failed rollout or watch leaves in its deployment's thread: the failing
pod's last termination, its container's last log lines (redacted before they get here),
the warning events, and Pods / Logs buttons for the rest (pure Block Kit)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.failure_evidence import FailureEvidence
from bot.domain.text import clip
from bot.domain.workloads import EventView, PodView
from bot.presentation import ids
from bot.presentation.parts import Block, Message, _button, when
from bot.presentation.sections import context, section

#: Slack's limit on a section's text; the log block keeps under it with its fences.
SECTION_LIMIT = 3000


def _plain(text: str, limit: int | None = None) -> str:
    """Text from the cluster for display: cut to `limit` at a word (before escaping: a cut
    must not split `&lt;`), what Slack would act on escaped (`<!channel>`, `&`), and no
    backticks that would close a code block early."""
    if limit is not None:
        text = clip(text, limit)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("```", "'''"))


def _pod_line(pod: PodView, zone: ZoneInfo) -> str:
    state = pod.waiting_reason or pod.phase
    parts = [f"Pod `{pod.name}` ({pod.version or 'unknown version'}): *{state}*, "
             f"ready {pod.ready}/{pod.containers}, {pod.restarts} restart"
             f"{'s' if pod.restarts != 1 else ''}"]
    if pod.unschedulable:
        parts.append(f"cannot be scheduled: {_plain(pod.unschedulable, 300)}")
    elif pod.waiting_message:
        parts.append(_plain(pod.waiting_message, 300))
    term = pod.last_termination
    if term is not None:
        code = f", exit code {term.exit_code}" if term.exit_code is not None else ""
        at = f" at {when(term.finished, zone)}" if term.finished else ""
        parts.append(f'container "{pod.container}" last ended: *{_plain(term.reason)}*'
                     f"{code}{at}" + (f" — {_plain(term.message, 200)}" if term.message
                                     else ""))
    return "\n".join(parts)


def _log_block(lines: tuple[str, ...], previous: bool, container: str) -> Block:
    which = "its previous (crashed) run" if previous else "its current run"
    head = f'Last {len(lines)} log line{"s" if len(lines) != 1 else ""} of "{container}" ' \
           f"({which}, secrets masked):\n"
    body = "\n".join(_plain(line) for line in lines)
    room = SECTION_LIMIT - len(head) - 8
    if len(body) > room:  # keep the last lines: the crash is at the end
        body = "…" + body[-(room - 1):]
    return section(f"{head}```{body}```")


def _event_line(e: EventView, zone: ZoneInfo) -> str:
    seen = f" (last {when(e.last_seen, zone)})" if e.last_seen else ""
    times = f" ({e.count} times)" if e.count > 1 else ""
    return f"⚠️ *{_plain(e.reason)}*{times} {e.object}: {_plain(e.message, 300)}{seen}"


def failure_evidence(ev: FailureEvidence, deployment_id: int, zone: ZoneInfo) -> Message:
    """The thread message (times in `zone`); its buttons carry the deployment's id."""
    text = f"What the cluster shows about the failed {ev.service} {ev.version} in " \
           f"{ev.environment}"
    blocks: list[Block] = [section(f"🔍 *{text}*")]
    if ev.pod is not None:
        blocks.append(section(_pod_line(ev.pod, zone)))
        if ev.log_lines:
            blocks.append(_log_block(ev.log_lines, ev.log_previous, ev.pod.container))
    elif not ev.unread:
        blocks.append(section(f"No pod of {ev.version} looks unhealthy now."))
    if ev.events:
        blocks.append(section("\n".join(_event_line(e, zone) for e in ev.events)))
    if ev.unread:
        blocks.append(context("Could not read: " + "; ".join(_plain(u) for u in ev.unread)))
    value = str(deployment_id)
    blocks.append({"type": "actions", "block_id": ids.TROUBLESHOOT_BLOCK, "elements": [
        _button("Pods", ids.SHOW_PODS, value), _button("Logs", ids.SHOW_LOGS, value)]})
    return Message(text=text, blocks=blocks)
