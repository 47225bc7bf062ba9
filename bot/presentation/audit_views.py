"""Block Kit for `/audit`: a page of the audit log, newest first (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.audit import AuditEvent
from bot.domain.text import reason_text, unescaped
from bot.presentation.blocks import Message, when
from bot.presentation.sections import Block, context, section

#: The longest details shown per event (the export has them whole).
DETAILS_MAX = 400


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True)


def details_text(details: Mapping[str, Any]) -> str:
    """`key: value · …`, Slack markup escaped (a command's text cannot mention anyone). A
    refusal's message is kept as it was sent, escaped already: it is decoded first, so that
    `&lt;` shows as `<` rather than `&lt;`; backticks become quotes (a cut must not leave a
    code span open)."""
    text = " · ".join(f"{k}: {_value(v)}" for k, v in details.items())
    return reason_text(unescaped(text).replace("`", "'"), limit=DETAILS_MAX)


def _actor(actor: str) -> str:
    return f"<@{actor}>" if actor[:1] in ("U", "W") and actor.isalnum() else reason_text(actor)


def event_line(e: AuditEvent, zone: ZoneInfo) -> str:
    head = [f"*#{e.id}*", when(e.at, zone), _actor(e.actor), f"`{e.action}`"]
    if e.environment:
        head.append(f"*{e.environment}*")
    if e.deployment_id is not None:
        head.append(f"deployment #{e.deployment_id}")
    line = " · ".join(head)
    if e.details:
        line += "\n" + details_text(e.details)
    return line


def audit_view(events: Sequence[AuditEvent], zone: ZoneInfo, *, environment: str | None,
               since: datetime | None, since_text: str | None, more: bool,
               before_id: int | None) -> Message:
    where = environment or "all environments"
    start = f", since {when(since, zone)}" if since else ""
    page = f", before #{before_id}" if before_id else ""
    title = f"Audit log: {where}{start}{page}"
    blocks: list[Block] = [section(f"*{title}* — newest first")]  # one bold: no nesting
    if not events:
        blocks.append(section("_No events._"))
    blocks += [section(event_line(e, zone)) for e in events]
    hints: list[str] = [f"Times in {zone.key}."]
    if more and events:
        words = ["/audit"] + ([environment] if environment else []) \
            + ([since_text] if since_text else []) + ["before", str(events[-1].id)]
        hints.append(f"Showing the newest {len(events)}; older ones: `{' '.join(words)}`.")
    export = ["deploybot audit export --format csv"]
    if since is not None:
        export.append(f"--since {since.isoformat(timespec='seconds')}")
    if environment:
        export.append(f"--environment {environment}")
    hints.append(f"All of them: `{' '.join(export)}`.")
    blocks.append(context(" ".join(hints)))
    return Message(text=title, blocks=blocks)
