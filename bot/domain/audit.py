"""The audit log as the rest of the code sees it (plain values), and the pure rules of what
goes into it: what a Slack request records, with secrets redacted, and how `/audit` and
`deploybot audit export` read a "since".

Besides the state changes the services record (`deploy.requested`, `deploy.approved`, …),
every Slack request is recorded: `slack.command` (a slash command and its text),
`slack.click` (a button) and `slack.refused` (a user-facing error: what was refused and why).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from bot.domain.schedule import first_instant
from bot.redaction import redact_secrets

COMMAND = "slack.command"
CLICK = "slack.click"
REFUSED = "slack.refused"
#: The actions of the request trail (the rest are state changes).
REQUEST_ACTIONS = (COMMAND, CLICK, REFUSED)

#: Column sizes of audit_events (longer values are cut, never rejected).
ACTOR_MAX, ACTION_MAX, CHANNEL_MAX, TS_MAX, ENVIRONMENT_MAX = 64, 64, 64, 32, 63
#: The longest text kept of a command, a button value or a refusal message.
TEXT_MAX = 500

REDACTED = "[redacted]"


@dataclass(frozen=True)
class AuditEntry:
    """One event to record."""

    action: str
    actor: str  # a Slack user id, or "deploybot"
    at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    deployment_id: int | None = None
    environment: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One recorded event, as read back."""

    id: int
    at: datetime
    actor: str
    action: str
    environment: str | None
    deployment_id: int | None
    details: Mapping[str, Any]
    slack_channel: str | None
    slack_ts: str | None


def redact(text: str, *, limit: int | None = TEXT_MAX) -> str:
    """`text` with anything that looks like a secret replaced (e.g. one pasted into a
    command by mistake; bot.redaction: the same secrets the process log and `/logs` mask),
    cut to `limit` characters (NUL characters removed: PostgreSQL's text refuses them)."""
    text = redact_secrets(text.replace("\x00", ""), REDACTED)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def scrub(value: Any) -> Any:
    """`value` (an event's details) with every string in it redacted, nothing cut: no
    secret reaches the audit log, whoever records the event."""
    if isinstance(value, str):
        return redact(value, limit=None)
    if isinstance(value, Mapping):
        return {str(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def clip(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit]


def deployment_number(value: str) -> int | None:
    """The deployment a button's value names (`"12"`, `"#12"`), if it is one."""
    v = value.strip().removeprefix("#")
    return int(v) if v.isascii() and v.isdigit() and 0 < len(v) <= 18 else None


def environment_named(text: str, environments: Collection[str]) -> str | None:
    """The first known environment named as a word of `text` (a command's), if any."""
    for word in re.split(r"[\s,]+", text):
        if word in environments:
            return word
    return None


_AGO = re.compile(r"^(\d{1,5})\s*([mhdw])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}
SINCE_HELP = ("a duration back from now (`30m`, `24h`, `7d`, `2w`), a date (`2026-11-01`, "
              "from its start in the team's time zone) or ISO 8601 (`2026-11-01T09:00`, "
              "`2026-11-01T14:00Z`)")


def parse_since(value: str, *, at: datetime, zone: tzinfo) -> datetime:
    """`7d` (back from `at`), a date (its first instant in `zone`), or an ISO 8601 time
    (without an offset: in `zone`). ValueError naming the accepted forms otherwise."""
    v = value.strip()
    m = _AGO.match(v.lower())
    if m:
        return at - int(m.group(1)) * _UNITS[m.group(2)]
    try:
        if len(v) == 10:
            day = date.fromisoformat(v)
            return first_instant(datetime(day.year, day.month, day.day, tzinfo=zone), zone)
        t = datetime.fromisoformat(v.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{value!r} is not a time I can read: use {SINCE_HELP}") from None
    return first_instant(t, zone) if t.tzinfo is None else t.astimezone(UTC)
