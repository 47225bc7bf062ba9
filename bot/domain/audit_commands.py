"""Parsing the text of `/audit` (pure: the known environments, the time and the team's zone
are passed in).

Accepted forms (each part optional, in any order):
    /audit [environment] [since] [before <id>]
    /audit production 7d               the last 7 days in production
    /audit since 2026-11-01            since the start of that day in the team's zone
    /audit production before 1234      the page of events older than #1234
    /audit help

`since` is a duration back from now (`30m`, `24h`, `7d`, `2w`), a date, or ISO 8601; the
word `since` in front of it is optional.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.domain.audit import SINCE_HELP, parse_since
from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 200
#: How many events one `/audit` answer shows.
PAGE_SIZE = 25

USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/audit` — the latest events (commands, clicks, refusals and state changes), newest "
    "first\n"
    "• `/audit &lt;environment&gt; &lt;since&gt;` — e.g. `/audit production 7d`\n"
    "• `/audit since 2026-11-01` — since the start of that day\n"
    "• `/audit … before &lt;id&gt;` — the next page: events older than that one\n"
    "• `/audit help` — this message\n"
    f"`since` is {SINCE_HELP}. Everything: `deploybot audit export` on the command line. "
    "Needs the audit viewers role."
)


class AuditUsageError(CommandUsageError):
    """Bad `/audit` text."""

    usage = USAGE


@dataclass(frozen=True)
class AuditArgs:
    environment: str | None = None
    since: datetime | None = None
    before_id: int | None = None  # only events with a smaller id (the next page)
    since_text: str | None = None  # as typed, for the "next page" hint


@dataclass(frozen=True)
class AuditHelpArgs:
    pass


AuditParsed = AuditArgs | AuditHelpArgs


def _id(word: str) -> int:
    number = word.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return int(number)
    raise AuditUsageError(f"{shown(word)} is not an event number (e.g. `before 1234`).")


def parse_audit(text: str, *, environments: Collection[str], at: datetime,
                zone: tzinfo) -> AuditParsed:
    if len(text) > MAX_TEXT:
        raise AuditUsageError(f"That command is {len(text)} characters long; the limit is "
                              f"{MAX_TEXT}.")
    words = text.split()
    if words in (["help"], ["-h"], ["--help"]):
        return AuditHelpArgs()
    environment: str | None = None
    since: datetime | None = None
    since_text: str | None = None
    before: int | None = None
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if w == "before":
            if nxt is None:
                raise AuditUsageError("Before which event? e.g. `/audit before 1234`.")
            if before is not None:
                raise AuditUsageError("`before` is given twice.")
            before = _id(nxt)
            i += 2
            continue
        if w in environments:
            if environment is not None:
                raise AuditUsageError("Name at most one environment.")
            environment = w
            i += 1
            continue
        if w == "since":
            if nxt is None:
                raise AuditUsageError(f"Since when? Use {SINCE_HELP}.")
            w, i = nxt, i + 1
            nxt = words[i + 1] if i + 1 < len(words) else None
        if since is not None:
            raise AuditUsageError(f"{shown(w)} was not expected: the start is given already.")
        # `2026-11-01 09:00`: a date and a wall time in two words
        if nxt is not None and len(w) == 10 and len(nxt) == 5 and nxt[2:3] == ":":
            w, i = f"{w}T{nxt}", i + 1
        try:
            since = parse_since(w, at=at, zone=zone)
        except ValueError:
            names = ", ".join(f"`{e}`" for e in sorted(environments))
            raise AuditUsageError(f"{shown(w)} is neither an environment ({names}) nor a "
                                  f"start time. A start time is {SINCE_HELP}.") from None
        since_text = w
        i += 1
    if since is not None and since > at:
        raise AuditUsageError(f"{shown(since_text or '')} is in the future.")
    return AuditArgs(environment=environment, since=since, before_id=before,
                     since_text=since_text)
