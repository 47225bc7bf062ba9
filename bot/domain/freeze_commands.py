"""Parsing the text of `/freeze` (pure: the team's zone and the current time are passed in).

Accepted forms:
    /freeze                         open now or not, and why; the next change; upcoming freezes
    /freeze list                    every freeze active now or starting in the next 30 days
    /freeze add "Company offsite" 2026-12-10 09:00 to 2026-12-11 18:00 [env ...]
                [--reason "why"]
    /freeze remove 3                the number shown by `/freeze list` (`#3` works too)
    /freeze help

A start or end is `YYYY-MM-DD HH:MM` in the team's zone, a date alone (the whole day: a start
at 00:00, an end at the end of that day), or ISO 8601 in one word, with an offset
(`2026-12-10T09:00-05:00`, `2026-12-10T14:00Z`) or without one (the team's zone).
Environments default to all; they may be separated by spaces or commas.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from bot.domain.policy import local
from bot.domain.schedule import first_instant
from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 400
MAX_NAME = 80  # the database column's length: bot.store.models uses it
MAX_REASON = 300

USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/freeze` — open now or not and why, the next change, upcoming freezes\n"
    "• `/freeze list` — every freeze now or in the next 30 days, with its number\n"
    "• `/freeze add \"Company offsite\" 2026-12-10 09:00 to 2026-12-11 18:00` — "
    "all environments\n"
    "• `/freeze add \"DB maintenance\" 2026-12-10 to 2026-12-10 production "
    "--reason \"failover drill\"` — a whole day, one environment\n"
    "• `/freeze remove &lt;number&gt;` — e.g. `/freeze remove 3`\n"
    "• `/freeze help` — this message\n"
    "Times are `YYYY-MM-DD HH:MM` in the team's time zone, a date alone for the whole day, "
    "or ISO 8601 with an offset such as `2026-12-10T09:00-05:00`. "
    "Adding and removing freezes needs the freeze managers role."
)


class FreezeUsageError(CommandUsageError):
    """Bad `/freeze` text."""

    usage = USAGE


@dataclass(frozen=True)
class FreezeStatusArgs:
    pass


@dataclass(frozen=True)
class FreezeListArgs:
    pass


@dataclass(frozen=True)
class FreezeHelpArgs:
    pass


@dataclass(frozen=True)
class FreezeAddArgs:
    """A freeze to add: [start, end) as aware UTC instants; `environments` None means all."""

    name: str
    start: datetime
    end: datetime
    environments: tuple[str, ...] | None = None
    reason: str = ""


@dataclass(frozen=True)
class FreezeRemoveArgs:
    number: int


FreezeParsed = (FreezeStatusArgs | FreezeListArgs | FreezeHelpArgs | FreezeAddArgs
                | FreezeRemoveArgs)

_OPEN_QUOTES = '"“”„'
_CLOSE_QUOTES = '"“”'
_REASON = re.compile(
    r"""(?:^|\s)--reason(?:=|\s+)(?:"(?P<q>[^"]*)"|“(?P<c>[^”]*)”|(?P<w>[^\s"“”]+))?"""
    r"""|(?:^|\s)--reason\s*$"""
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MENTION = re.compile(r"<[!@#]")


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _when_help(zone: tzinfo) -> str:
    return (f"Use `YYYY-MM-DD HH:MM` ({_zone_name(zone)} time), a date alone for the whole "
            "day, or ISO 8601 with an offset such as `2026-12-10T09:00-05:00`.")


def _not_a_time(value: str, zone: tzinfo) -> FreezeUsageError:
    return FreezeUsageError(f"{shown(value)} is not a date and time I can read. "
                            + _when_help(zone))


def _day(value: str, zone: tzinfo) -> date:
    if not _DATE.fullmatch(value):
        raise _not_a_time(value, zone)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FreezeUsageError(f"{shown(value)} is not a date (no such day). "
                               + _when_help(zone)) from None


def _clock_time(value: str, whole: str, zone: tzinfo) -> time:
    m = _TIME.fullmatch(value)
    if not m or not (0 <= int(m.group(1)) <= 23 and 0 <= int(m.group(2)) <= 59):
        raise _not_a_time(whole, zone)
    return time(int(m.group(1)), int(m.group(2)))


def _midnight(day: date, zone: tzinfo) -> datetime:
    return first_instant(datetime.combine(day, time()), zone)


def _instant(words: list[str], *, end: bool, zone: tzinfo) -> datetime:
    """A start or end from one or two words (see the module docstring), as an aware instant.
    A date alone is the start of that day, or for an end the start of the next day."""
    whole = " ".join(words)
    if len(words) == 2:
        day = _day(words[0], zone)
        return first_instant(datetime.combine(day, _clock_time(words[1], whole, zone)), zone)
    if len(words) != 1:
        raise _not_a_time(whole, zone)
    word = words[0]
    if _DATE.fullmatch(word):
        day = _day(word, zone)
        return _midnight(day + timedelta(days=1) if end else day, zone)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}\S*", word):
        raise _not_a_time(word, zone)
    try:
        t = datetime.fromisoformat(word)
    except ValueError:
        raise _not_a_time(word, zone) from None
    if t.tzinfo is None:
        return first_instant(t, zone)
    return t


def _take_reason(text: str) -> tuple[str, str]:
    """Split `--reason "why"` off the text: (rest, reason or "")."""
    found = list(_REASON.finditer(text))
    if not found:
        if "--reason" in text:
            raise FreezeUsageError('Put the reason in quotes: `--reason "why"`.')
        return text, ""
    if len(found) > 1:
        raise FreezeUsageError("`--reason` is given twice.")
    m = found[0]
    reason = (m.group("q") or m.group("c") or m.group("w") or "").strip()
    if not reason and text[m.end():].lstrip()[:1] in ('"', "“"):
        raise FreezeUsageError('The reason has no closing quote: `--reason "why"`.')
    if not reason:
        raise FreezeUsageError('The reason is empty: `--reason "why"`, or leave it out.')
    if len(reason) > MAX_REASON:
        raise FreezeUsageError(f"The reason is {len(reason)} characters long; the limit is "
                               f"{MAX_REASON}.")
    if _MENTION.search(reason):
        raise FreezeUsageError("Mentions (`@channel`, `@someone`, `#channel`) are not allowed "
                               "in a freeze reason.")
    return text[: m.start()] + " " + text[m.end():], reason


def _take_name(text: str) -> tuple[str, str]:
    """Split the quoted name off the front of `text`: (name, rest)."""
    example = '`/freeze add "Company offsite" 2026-12-10 09:00 to 2026-12-11 18:00`'
    text = text.strip()
    if not text:
        raise FreezeUsageError(f"Name the freeze and give its start and end, e.g. {example}.")
    if text[0] not in _OPEN_QUOTES:
        raise FreezeUsageError(f"Put the freeze name in quotes, e.g. {example}.")
    close = min((i for i in (text.find(q, 1) for q in _CLOSE_QUOTES) if i > 0), default=-1)
    if close < 0:
        raise FreezeUsageError(f"The freeze name has no closing quote, e.g. {example}.")
    name = " ".join(text[1:close].split())
    if not name:
        raise FreezeUsageError(f"The freeze name is empty, e.g. {example}.")
    if len(name) > MAX_NAME:
        raise FreezeUsageError(f"The freeze name is {len(name)} characters long; the limit is "
                               f"{MAX_NAME}.")
    if _CONTROL.search(name) or "<" in name or ">" in name:
        raise FreezeUsageError("The freeze name may not contain `&lt;`, `&gt;` or control "
                               "characters.")
    return name, text[close + 1:]


def _environments(words: list[str], known: Collection[str],
                  zone: tzinfo) -> tuple[str, ...] | None:
    names = [n for w in words for n in w.split(",") if n]
    if not names:
        return None
    out: list[str] = []
    for n in names:
        if n not in known:
            if n[0].isdigit() or ":" in n:  # e.g. `9am`, `18:00:00`: a time, not a name
                raise _not_a_time(n, zone)
            listed = ", ".join(f"`{k}`" for k in sorted(known))
            raise FreezeUsageError(f"Unknown environment {shown(n)}. Known environments: "
                                   f"{listed} (leave them out to freeze all).")
        if n not in out:
            out.append(n)
    return tuple(out)


def parse_add(text: str, *, environments: Collection[str], zone: tzinfo,
              at: datetime) -> FreezeAddArgs:
    """The part of `/freeze add …` after `add`."""
    name, rest = _take_name(text)
    rest, reason = _take_reason(rest)
    words = rest.split()
    seps = [i for i, w in enumerate(words) if w.lower() == "to"]
    if not seps:
        raise FreezeUsageError("Give the start and the end, separated by `to`: e.g. "
                               "`2026-12-10 09:00 to 2026-12-11 18:00`.")
    if len(seps) > 1:
        raise FreezeUsageError("`to` appears twice; give one start and one end.")
    before, after = words[: seps[0]], words[seps[0] + 1:]
    if not before:
        raise FreezeUsageError("When does the freeze start? Put the start before `to`. "
                               + _when_help(zone))
    if not after:
        raise FreezeUsageError("When does the freeze end? Put the end after `to`. "
                               + _when_help(zone))
    start = _instant(before, end=False, zone=zone)
    n_end = 2 if len(after) > 1 and _TIME.fullmatch(after[1]) else 1
    end = _instant(after[:n_end], end=True, zone=zone)
    envs = _environments(after[n_end:], environments, zone)
    whole_day_end = n_end == 1 and _DATE.fullmatch(after[0]) is not None
    if end < start or (end == start and whole_day_end):
        shown_end = f"the whole day {after[0]}" if whole_day_end else local(end, zone)
        raise FreezeUsageError(f"The end ({shown_end}) is before the start "
                               f"({local(start, zone)}).")
    if end == start:
        raise FreezeUsageError(f"The end is the same moment as the start ({local(start, zone)}); "
                               "a freeze needs an end after its start.")
    if end <= at:
        raise FreezeUsageError(f"That freeze is entirely in the past: it ended "
                               f"{local(end, zone)} (now it is {local(at, zone)}).")
    return FreezeAddArgs(name=name, start=start, end=end, environments=envs, reason=reason)


def parse_freeze(text: str, *, environments: Collection[str], zone: tzinfo,
                 at: datetime) -> FreezeParsed:
    """Parse `/freeze` text; raise `FreezeUsageError` naming the problem. `at` (aware) is now:
    a freeze that is over by then is refused; naive times are read in `zone`."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("parse_freeze needs an aware `at`")
    if len(text) > MAX_TEXT:
        raise FreezeUsageError(f"That command is {len(text)} characters long; the limit is "
                               f"{MAX_TEXT}.")
    words = text.split()
    if not words or words == ["status"]:
        return FreezeStatusArgs()
    sub = words[0].lower()
    if sub == "help" and len(words) == 1:
        return FreezeHelpArgs()
    if sub == "list" and len(words) == 1:
        return FreezeListArgs()
    if sub in ("help", "list", "status"):
        raise FreezeUsageError(f"`/freeze {sub}` takes nothing after it.")
    if sub in ("remove", "rm", "delete"):
        if len(words) == 2 and re.fullmatch(r"#?\d{1,18}", words[1]):
            return FreezeRemoveArgs(int(words[1].removeprefix("#")))
        if len(words) == 2 and ":" in words[1] and not words[1].startswith("runtime:"):
            raise FreezeUsageError(
                f"{shown(words[1])} is not a freeze added with `/freeze add`: freezes from "
                "app.yaml, public holidays and Black Friday / Cyber Monday are changed in "
                "app.yaml.")
        if len(words) == 2 and re.fullmatch(r"runtime:\d{1,18}", words[1]):
            return FreezeRemoveArgs(int(words[1].removeprefix("runtime:")))
        raise FreezeUsageError("Which freeze? Give its number from `/freeze list`, e.g. "
                               "`/freeze remove 3`.")
    if sub == "add":
        rest = text.lstrip()[len(words[0]):]
        return parse_add(rest, environments=environments, zone=zone, at=at)
    raise FreezeUsageError(f"Unknown `/freeze` subcommand {shown(words[0])}: use `add`, "
                           "`list`, `remove` or `help`, or nothing for the status.")
