"""Parsing the text of `/lock` and `/unlock` (pure: the names and the longest lock are
passed in).

Accepted forms (the service may be left out when exactly one service deploys to that
environment; it may also come before the environment):
    /lock                                          the locks in force (also `/lock list`)
    /lock production [service] "reason" [for 2h]   lock it; the reason in quotes
    /lock help
    /unlock production [service]
    /unlock help

A duration is `for` and minutes, hours or days, short or in words: `for 30m`, `for 2h`, `for
1d`, `for 1h30m`, `for 2 hours`, `for 30 minutes`, `for 1 day`, `for an hour`, `for 1 hour
and 30 minutes` (at most the configured longest lock); without one, the lock holds until
someone unlocks it. A time (`until 15:00`) is answered with the forms.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 500
MAX_REASON = 200
DEFAULT_MAX_DURATION = timedelta(days=7)

USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/lock &lt;environment&gt; [service] \"reason\"` — e.g. "
    "`/lock production api \"investigating checkout errors\"`: until someone unlocks it\n"
    "• `/lock &lt;environment&gt; [service] \"reason\" for 2h` — it expires by itself "
    "(`for 30m`, `for 2h`, `for 2 hours`, `for 1 day`, `for 1h30m`)\n"
    "• `/lock` or `/lock list` — the locks in force\n"
    "• `/unlock &lt;environment&gt; [service]` — e.g. `/unlock production api`\n"
    "• `/lock help` — this message\n"
    "A lock refuses deploys to that service and environment by anyone but its holder "
    "(rollbacks still go through). The service may be left out when only one deploys there. "
    "Locking needs the environment's deployers role; unlocking is for the holder, or the "
    "environment's approvers (its deployers where it needs no approval)."
)

_OPEN = {'"': '"', "“": "”", "”": "”", "„": "“"}  # opening quote -> its usual closing quote
#: One part of a duration: a number (or "a"/"an") and its unit, together or apart ("2h",
#: "2 hours", "an hour", "1h" of "1h30m"); parts may be joined by "and" or a comma.
_PART = re.compile(r"\s*(?:(?<=\s)and\s+)?(?P<n>\d{1,6}|an?(?=\s))\s*(?P<unit>days?|d|hours?|"
                   r"hrs?|h|minutes?|mins?|m)(?![a-z])\s*,?")
_UNIT = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
FORMS = "`for 30m`, `for 2h`, `for 2 hours` or `for 1 day` (or `for 1h30m`)"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class LockUsageError(CommandUsageError):
    """Bad `/lock` or `/unlock` text."""

    usage = USAGE


@dataclass(frozen=True)
class LockListArgs:
    pass


@dataclass(frozen=True)
class LockHelpArgs:
    pass


@dataclass(frozen=True)
class LockArgs:
    """Lock `service` in `environment`; `duration` None: until someone unlocks it."""

    environment: str
    service: str
    reason: str
    duration: timedelta | None = None


@dataclass(frozen=True)
class UnlockArgs:
    environment: str
    service: str


LockParsed = LockListArgs | LockHelpArgs | LockArgs
UnlockParsed = UnlockArgs | LockHelpArgs


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "none"


def duration_text(d: timedelta) -> str:
    """'30m', '2h', '1d', '1h30m', '2d 4h' (whole minutes)."""
    minutes = int(d.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return "".join(p for p in parts if p) or "0m"


@dataclass(frozen=True)
class _Known:
    environments: Collection[str]
    services: Mapping[str, Collection[str]]  # service -> the environments it deploys to
    command: str

    def target(self, words: list[str], example: str) -> tuple[str, str]:
        """(environment, service) from `env [service]` or `service env`."""
        if not words:
            raise LockUsageError(f"Which environment? e.g. `{self.command} production api"
                                 f"{example}`.")
        for w in words:
            if not _NAME.match(w):
                raise LockUsageError(f"{shown(w)} is not a name: only letters, digits and "
                                     "`. _ + -` are allowed.")
        if len(words) > 2:
            raise LockUsageError(f"Too many words: {shown(' '.join(words[2:]))} was not "
                                 f"expected (give the environment and the service, e.g. "
                                 f"`{self.command} production api{example}`).")
        if len(words) == 2 and words[0] not in self.environments \
                and words[1] in self.environments:
            words = [words[1], words[0]]  # `api production`
        environment = words[0]
        if environment not in self.environments:
            if environment in self.services:
                raise LockUsageError(f"{shown(environment)} is a service: which environment? "
                                     f"e.g. `{self.command} production {environment}"
                                     f"{example}`. Known environments: "
                                     f"{_names(self.environments)}.")
            raise LockUsageError(f"Unknown environment {shown(environment)}. Known "
                                 f"environments: {_names(self.environments)}.")
        there = sorted(s for s, envs in self.services.items() if environment in envs)
        if len(words) == 1:
            if len(there) == 1:
                return environment, there[0]
            if not there:
                raise LockUsageError(f"No service deploys to `{environment}`.")
            raise LockUsageError(f"Which service? Name one of {_names(there)} after the "
                                 f"environment, e.g. `{self.command} {environment} "
                                 f"{there[0]}{example}`.")
        service = words[1]
        if service not in self.services:
            raise LockUsageError(f"Unknown service {shown(service)}. Known services: "
                                 f"{_names(self.services)}.")
        if service not in there:
            raise LockUsageError(f"`{service}` is not deployed to `{environment}` (it deploys "
                                 f"to {_names(self.services[service])}).")
        return environment, service


def _text(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise LockUsageError(f"That command is {len(text)} characters long; the limit is "
                             f"{MAX_TEXT}.")
    return text.strip()


def _split_reason(text: str) -> tuple[list[str], str | None, list[str]]:
    """(words before the quoted reason, the reason or None when there are no quotes, words
    after it)."""
    starts = [i for i in (text.find(q) for q in _OPEN) if i >= 0]
    if not starts:
        return text.split(), None, []
    start = min(starts)
    opening = text[start]
    closers = {_OPEN[opening], '"'} if opening != '"' else {'"'}
    ends = [i for i in (text.find(c, start + 1) for c in closers) if i >= 0]
    if not ends:
        raise LockUsageError('The reason has no closing quote: e.g. `/lock production api '
                             '"investigating checkout errors"`.')
    end = min(ends)
    reason = " ".join(text[start + 1:end].split())
    after = text[end + 1:]
    if any(q in after for q in _OPEN):
        raise LockUsageError("Give one reason, in one pair of quotes.")
    return text[:start].split(), reason, after.split()


def _duration(text: str) -> tuple[timedelta, str] | None:
    """The duration `text` opens with and what follows it ("2 hours please" → 2h,
    "please"); None when it opens with none."""
    total, pos, parts = timedelta(0), 0, 0
    lowered = text.lower()
    while (m := _PART.match(lowered, pos)) is not None:
        n = 1 if m["n"] in ("a", "an") else int(m["n"])
        total += n * _UNIT[m["unit"][0]]
        pos, parts = m.end(), parts + 1
    return (total, text[pos:].strip()) if parts else None


def parse_duration_words(words: list[str], max_duration: timedelta) -> timedelta | None:
    """`for 2h` (or `for 2 hours`, …) after the reason: None when there are no words."""
    if not words:
        return None
    if words[0].lower() == "until":
        raise LockUsageError(f"A lock lasts for a while, not until a time: say how long, "
                             f"{FORMS}; leave it out to hold the lock until someone unlocks "
                             "it.")
    if words[0].lower() != "for":
        raise LockUsageError(f"Unexpected {shown(' '.join(words))} after the reason. A lock's "
                             f"duration is written {FORMS}; leave it out to hold the lock "
                             "until someone unlocks it.")
    if len(words) == 1:
        raise LockUsageError(f"For how long? e.g. {FORMS}.")
    written = " ".join(words[1:])
    found = _duration(written)
    if found is None:
        raise LockUsageError(f"{shown(written)} is not a duration: use {FORMS}.")
    d, rest = found
    if rest and not rest[0].isalpha():  # "1h 30x"
        raise LockUsageError(f"{shown(written)} is not a duration: use {FORMS}.")
    if rest:
        raise LockUsageError(f"Too many words: {shown(rest)} was not expected after the "
                             "duration.")
    if d <= timedelta(0):
        raise LockUsageError(f"{shown(written)} is no time at all: use {FORMS}.")
    if d > max_duration:
        raise LockUsageError(f"{shown(written)} is longer than a lock may last "
                             f"({duration_text(max_duration)}). Leave the duration out to "
                             "hold the lock until someone unlocks it.")
    return d


def parse_lock(text: str, *, environments: Collection[str],
               services: Mapping[str, Collection[str]],
               max_duration: timedelta = DEFAULT_MAX_DURATION) -> LockParsed:
    """Parse `/lock` text; raise `LockUsageError` naming the problem. `services`: each
    service → the environments it deploys to."""
    known = _Known(environments, services, "/lock")
    text = _text(text)
    words = text.split()
    if not words or words == ["list"]:
        return LockListArgs()
    if words == ["help"]:
        return LockHelpArgs()
    if words[0] in ("list", "help"):
        raise LockUsageError(f"`/lock {words[0]}` takes nothing after it.")
    before, reason, after = _split_reason(text)
    example = ' "investigating checkout errors"'
    if reason is not None:
        environment, service = known.target(before, example)
    else:  # no quotes: the names come first, then what should have been the reason
        names = set(environments) | set(services)
        n = next((i for i, w in enumerate(before[:2]) if w not in names), min(len(before), 2))
        environment, service = known.target(before[:max(n, 1)], example)
        rest = before[max(n, 1):]
        if rest and rest[0].lower() != "for":
            raise LockUsageError(f"Put the reason in quotes: `/lock {environment} {service} "
                                 f"\"{' '.join(rest)[:60]}\"`.")
        raise LockUsageError(f"Why lock it? Give a reason in quotes: `/lock {environment} "
                             f"{service}{example}`.")
    if not reason:
        raise LockUsageError(f"The reason is empty: say why, e.g. `/lock {environment} "
                             f"{service}{example}`.")
    if len(reason) > MAX_REASON:
        raise LockUsageError(f"The reason is {len(reason)} characters long; the limit is "
                             f"{MAX_REASON}.")
    duration = parse_duration_words(after, max_duration)
    return LockArgs(environment=environment, service=service, reason=reason,
                    duration=duration)


def parse_unlock(text: str, *, environments: Collection[str],
                 services: Mapping[str, Collection[str]]) -> UnlockParsed:
    """Parse `/unlock` text; raise `LockUsageError` naming the problem."""
    known = _Known(environments, services, "/unlock")
    text = _text(text)
    words = text.split()
    if words == ["help"]:
        return LockHelpArgs()
    if any(q in text for q in _OPEN):
        raise LockUsageError("`/unlock` takes no reason: just the environment and the "
                             "service, e.g. `/unlock production api`.")
    environment, service = known.target(words, "")
    return UnlockArgs(environment=environment, service=service)
