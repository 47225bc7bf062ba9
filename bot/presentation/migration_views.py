"""What `/migrations` shows (pure; Block Kit and plain text built from plain values): the
acknowledgement while the status Job runs, then its output in a code block trimmed to fit
Slack (the tail, with how many lines were cut), the Job's name, the version and the outcome,
and whether the service's database answers (the check Job), or how to have it checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.presentation.blocks import Block, Message, when
from bot.presentation.sections import context, section

#: At most this many lines of output are shown, and at most this many characters (a
#: section's text is limited to 3000, the code fences and the note need the rest).
MAX_LINES = 50
MAX_CHARS = 2800

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_INTERPRETER = re.compile(r"^(?:.*/)?(?:python[0-9.]*|ruby|node|php|perl|bundle|exec|npx|"
                          r"[\w.-]+\.(?:py|rb|js|php))$")


#: What the hint suggests for `migrations.check_command` (Django's checks, with the database).
EXAMPLE_CHECK_COMMAND = "[python, manage.py, check, --database, default]"


class CheckView(Protocol):
    """The database check Job's outcome (`bot.services.migrations.DatabaseCheck`)."""

    @property
    def answers(self) -> bool: ...

    @property
    def command(self) -> tuple[str, ...]: ...

    @property
    def job(self) -> str | None: ...

    @property
    def reason(self) -> str | None: ...


class StatusView(Protocol):
    """One status Job's outcome (`bot.services.migrations.MigrationStatus`)."""

    @property
    def environment(self) -> str: ...

    @property
    def service(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def command(self) -> tuple[str, ...]: ...

    @property
    def job(self) -> str: ...

    @property
    def succeeded(self) -> bool: ...

    @property
    def output(self) -> str: ...

    @property
    def cause(self) -> str | None: ...

    @property
    def at(self) -> datetime: ...

    @property
    def database(self) -> CheckView | None: ...

    @property
    def check_key(self) -> str: ...


def _escape(text: str) -> str:
    """Text for mrkdwn: control characters removed, `& < >` escaped (Slack acts on them even
    in code), backticks made harmless (they would end the code span or block)."""
    text = _CONTROL.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("`", "'")


def command_label(command: Sequence[str]) -> str:
    """The command as the user knows it: `python manage.py showmigrations` → `showmigrations`
    (leading interpreters and scripts dropped); other commands in full."""
    words = list(command)
    while len(words) > 1 and _INTERPRETER.match(words[0]):
        words.pop(0)
    label = " ".join(words)
    return label if len(label) <= 60 else label[:59] + "…"


def running_notice(command: Sequence[str], *, service: str, environment: str,
                   check: Sequence[str] | None = None) -> str:
    """The acknowledgement: '⏳ Running `showmigrations` for api in production…' (and
    'then `check` (does the database answer?)' when a check command is set)."""
    then = (f", then `{_escape(command_label(check))}` (does the database answer?)"
            if check else "")
    jobs = "one-off Jobs" if check else "a one-off Job"
    return (f"⏳ Running `{_escape(command_label(command))}` for {service} in {environment}"
            f"{then}… ({jobs} from the version running there; the answer follows here)")


def database_line(status: StatusView) -> str:
    """'Database: answers', 'Database: does not answer — <why>', or how to have it checked."""
    d = status.database
    if d is None:
        return (f"⚪ _Database not checked: set `{_escape(status.check_key)}` (e.g. "
                f"`{EXAMPLE_CHECK_COMMAND}`) to have `/migrations` check that it answers._")
    label = _escape(command_label(d.command))
    where = f"`{label}` in Job `{_escape(d.job)}`" if d.job else f"`{label}`"
    if d.answers:
        return f"🟢 *Database: answers* — {where} succeeded"
    why = _escape(d.reason or "the check failed")
    return f"🔴 *Database: does not answer* — {why}\n{where}"


def trimmed(output: str, *, max_lines: int = MAX_LINES,
            max_chars: int = MAX_CHARS) -> tuple[list[str], int]:
    """The last lines of `output` (escaped) that fit, and how many earlier lines were cut."""
    lines = _escape(output).rstrip().splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if len(kept) == max_lines:
            break
        if len(line) > max_chars:
            line = "…" + line[-(max_chars - 1):]
        if size + len(line) + 1 > max_chars:
            break
        kept.append(line)
        size += len(line) + 1
    kept.reverse()
    return kept, len(lines) - len(kept)


def migration_status_view(status: StatusView, zone: ZoneInfo) -> Message:
    """The status Job's output in a code block, with its Job, version and outcome."""
    s = status
    label = _escape(command_label(s.command))
    if s.succeeded:
        head = (f"✅ *Migration status of `{s.service}` in {s.environment}* — "
                f"version `{_escape(s.version)}`")
    else:
        cause = _escape(s.cause or "the Job failed")
        head = (f"❌ *The migration status of `{s.service}` in {s.environment} could not be "
                f"read* — version `{_escape(s.version)}`\n{cause}")
    lines, cut = trimmed(s.output)
    body = ("```\n" + "\n".join(lines) + "\n```") if lines else "_The Job wrote no output._"
    note = f"… {cut} earlier line(s) not shown\n" if cut else ""
    meta = (f"`{label}` in Job `{_escape(s.job)}` · "
            f"{'succeeded' if s.succeeded else 'failed'} · {when(s.at, zone)}")
    database = database_line(s)
    blocks: list[Block] = [
        section(head), section(database), section(note + body), context(meta),
    ]
    return Message(text=f"{head}\n{database}\n{note}{body}\n{meta}", blocks=blocks)
