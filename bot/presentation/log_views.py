"""What `/logs` says in Slack: the comment that introduces the posted log file, the ephemeral
answer that links to it, and the answer when nothing was left to post. Pure: the values
come from bot.services.logs (`LogRead`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain.log_commands import duration_text
from bot.domain.text import shown


@dataclass(frozen=True)
class LogRead:
    """One `/logs` read, as the views need it."""

    environment: str
    service: str
    pod: str
    container: str
    previous: bool
    tail: int
    since_seconds: int | None
    grep: str | None
    read_lines: int  # lines the cluster answered with
    lines: int  # lines in the file (after --grep)
    read_cut: bool  # the cluster had more than deploybot reads
    read_cap: int  # bytes deploybot reads at most
    posted_cut_lines: int  # the oldest lines left out of the file (its size cap)
    post_cap: int  # bytes deploybot posts at most
    masked: int  # secrets masked


def _size(n: int) -> str:
    return f"{n // 1_000_000} MB" if n >= 1_000_000 else f"{n // 1000} kB"


def _what(r: LogRead) -> str:
    run = ", its previous run" if r.previous else ""
    return f"`{r.pod}` ({r.container}{run}) — `{r.service}` in *{r.environment}*"


def _asked(r: LogRead) -> str:
    out = f"last {r.tail} lines"
    if r.since_seconds is not None:
        out += f" of the last {duration_text(timedelta(seconds=r.since_seconds))}"
    if r.grep is not None:
        out += (f"; {r.lines} of {r.read_lines} matching {shown(r.grep, limit=60)} "
                "(any case)")
    return out


def cuts(r: LogRead) -> list[str]:
    """What was left out, and why, in plain words."""
    out: list[str] = []
    if r.read_cut:
        out.append(f"✂️ The log is longer than the {_size(r.read_cap)} deploybot reads from "
                   f"the cluster: these are its newest {r.read_lines} lines of the "
                   f"{r.tail} asked for.")
    if r.posted_cut_lines:
        out.append(f"✂️ The file is cut to its newest {_size(r.post_cap)}: "
                   f"{r.posted_cut_lines} older lines left out.")
    return out


def file_comment(r: LogRead, user_id: str) -> str:
    """The message the file is shared with."""
    masked = (f" {r.masked} secret{'s' if r.masked != 1 else ''} masked."
              if r.masked else "")
    lines = [f"📄 Log of {_what(r)}, asked by <@{user_id}>: {_asked(r)}. Secrets are "
             f"redacted.{masked}", *cuts(r)]
    return "\n".join(lines)


def posted_notice(r: LogRead, *, permalink: str, in_thread: bool, note: str | None) -> str:
    """The ephemeral answer: where the file went, with its link."""
    where = "in the deployment's thread" if in_thread else "to you in a direct message"
    link = f" <{permalink}|Open the file>." if permalink else ""
    out = f"📄 Posted the log of {_what(r)} {where} ({r.lines} lines).{link}"
    if note:
        out += f"\n{note}"
    return "\n".join([out, *cuts(r)])


def nothing_notice(r: LogRead) -> str:
    """The ephemeral answer when no line is left to post (nothing logged, none matched)."""
    if r.grep is not None and r.read_lines:
        return (f"🔍 No line of {_what(r)} matches {shown(r.grep, limit=60)} (any case) in "
                f"the {r.read_lines} lines read ({_asked(r).split(';')[0]}). Nothing was "
                "posted.")
    return f"📭 {_what(r)} logged nothing ({_asked(r)}). Nothing was posted."


def reading_notice(environment: str, service: str, pod: str | None, flags: str) -> str:
    """The ack of `/logs`: what is being read."""
    which = f"pod `{pod}`" if pod else "its least healthy pod"
    return (f"⏳ Reading the log of `{service}` in *{environment}* ({which}, "
            f"{shown(flags, limit=120)})… it comes as a file, secrets redacted.")


def answer_text(posted_read: LogRead, *, permalink: str, in_thread: bool,
                note: str | None) -> str:
    """The answer to a `/logs` read: where the file went, or why nothing was posted."""
    if not posted_read.lines:
        return nothing_notice(posted_read)
    return posted_notice(posted_read, permalink=permalink, in_thread=in_thread, note=note)
