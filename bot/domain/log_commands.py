"""Parsing the text of `/logs` (pure: the names it checks against are passed in, no I/O).

Accepted forms (the guide's `kubectl logs`; the service may be left out when exactly one
service deploys to that environment):
    /logs <environment> [service] [pod] [--previous] [--since 10m] [--tail 200] [--grep text]
    /logs help

`pod` left out: the least healthy pod of the service's current version. Flags may come in
any order after the environment, as `--tail 50` or `--tail=50`; `--grep` text with spaces
is quoted (`--grep "connection refused"`; Slack's curly quotes work too).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 500
DEFAULT_TAIL = 200
MAX_TAIL = 5000  # lines; what is read is capped in bytes besides (bot.services.logs)
MAX_SINCE = timedelta(days=7)
MAX_GREP = 200
PREVIOUS, SINCE, TAIL, GREP = "--previous", "--since", "--tail", "--grep"
FLAGS = (PREVIOUS, SINCE, TAIL, GREP)
USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/logs &lt;environment&gt; [service] [pod]` — the tail of a pod's log, e.g. "
    "`/logs staging api` (pod left out: the least healthy pod of the current version)\n"
    "• `--previous` — the log of the container's previous run (the one that crashed)\n"
    "• `--since 10m` — only lines from the last 10 minutes (`30s`, `2h`, `1h30m`; at most "
    "7 days)\n"
    f"• `--tail 200` — the last lines (default {DEFAULT_TAIL}, at most {MAX_TAIL})\n"
    "• `--grep text` — only lines containing the text (any case; quote it when it has "
    "spaces: `--grep \"connection refused\"`)\n"
    "• `/logs help` — this message\n"
    "The log is posted as a file, secrets redacted: in the deployment's thread when there "
    "is a recent one, else to you. It needs the environment's `logs.viewers` role."
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
#: A pod's name: a DNS subdomain (RFC 1123), as Kubernetes names pods.
_POD = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_DURATION = re.compile(r"^(?:\d{1,6}[smhd])+$")
_PART = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1),
          "d": timedelta(days=1)}
#: Opening quote → its closing one (Slack may turn typed quotes into curly ones).
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u201d": "\u201d", "\u2018": "\u2019",
           "\u2019": "\u2019"}
_HINTS = {
    "-f": "`/logs` posts a tail; it cannot follow a log (Slack is not a terminal). Ask again "
          "later, e.g. with `--since 5m`.",
    "--follow": "`/logs` posts a tail; it cannot follow a log (Slack is not a terminal). Ask "
                "again later, e.g. with `--since 5m`.",
    "-p": f"Write `{PREVIOUS}` in full.",
    "--container": "`/logs` reads the pod's main container (the one that restarted most).",
    "-c": "`/logs` reads the pod's main container (the one that restarted most).",
}


class LogsUsageError(CommandUsageError):
    """Bad `/logs` text."""

    usage = USAGE


@dataclass(frozen=True)
class LogsArgs:
    environment: str
    service: str
    pod: str | None = None  # None: the least healthy pod of the current version
    previous: bool = False
    since: timedelta | None = None
    tail: int = DEFAULT_TAIL
    grep: str | None = None

    @property
    def flags(self) -> str:
        """The flags as they would be typed (for notices and the audit log)."""
        out = [PREVIOUS] if self.previous else []
        if self.since is not None:
            out.append(f"{SINCE} {duration_text(self.since)}")
        out.append(f"{TAIL} {self.tail}")
        if self.grep is not None:
            out.append(f'{GREP} "{self.grep}"')
        return " ".join(out)


@dataclass(frozen=True)
class LogsHelpArgs:
    pass


LogsParsed = LogsArgs | LogsHelpArgs


def duration_text(d: timedelta) -> str:
    """`1h30m`, `10m`, `45s`, `2d` (the largest units first)."""
    seconds = int(d.total_seconds())
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool


def _tokens(text: str) -> list[_Token]:
    """Words split on spaces; a quoted part ("…", '…', curly quotes) at the start of a word
    or after `=` is one word, quotes removed; a quote inside a word (`can't`) is kept."""
    out: list[_Token] = []
    word, quoted, in_word, i = "", False, False, 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            if in_word:
                out.append(_Token(word, quoted))
            word, quoted, in_word = "", False, False
        elif c in _QUOTES and (not in_word or word.endswith("=")):
            end = text.find(_QUOTES[c], i + 1)
            if end < 0:
                raise LogsUsageError(f"The quote {shown(text[i:], limit=30)} is not closed: "
                                     'quote text with spaces, e.g. `--grep "connection '
                                     'refused"`.')
            # quoted: the word itself was (`--grep="a b"` is still a flag)
            word, quoted, in_word = word + text[i + 1:end], quoted or not in_word, True
            i = end
        else:
            word, in_word = word + c, True
        i += 1
    if in_word:
        out.append(_Token(word, quoted))
    return out


def _since(value: str) -> timedelta:
    if not _DURATION.match(value):
        raise LogsUsageError(f"{shown(value)} is not a duration for `{SINCE}`: write e.g. "
                             "`30s`, `10m`, `2h` or `1h30m`.")
    d = sum((int(n) * _UNITS[u] for n, u in _PART.findall(value)), timedelta())
    if d <= timedelta(0):
        raise LogsUsageError(f"`{SINCE} {value}` is no time at all: give a duration above "
                             "zero, e.g. `10m`.")
    if d > MAX_SINCE:
        raise LogsUsageError(f"`{SINCE} {value}` goes back further than 7 days; ask for at "
                             "most `7d`.")
    return d


def _tail(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) == 0:
        raise LogsUsageError(f"{shown(value)} is not a number of lines for `{TAIL}`: give a "
                             f"positive whole number, e.g. `{TAIL} 200`.")
    if int(value) > MAX_TAIL:
        raise LogsUsageError(f"`{TAIL} {value}` is too many lines: at most {MAX_TAIL} (use "
                             f"`{SINCE}` or `{GREP}` to find older lines).")
    return int(value)


def _grep(value: str) -> str:
    if not value.strip():
        raise LogsUsageError(f"`{GREP}` needs the text to look for, e.g. `{GREP} timeout` or "
                             f'`{GREP} "connection refused"`.')
    if len(value) > MAX_GREP:
        raise LogsUsageError(f"The `{GREP}` text is {len(value)} characters long; the limit "
                             f"is {MAX_GREP}.")
    return value


@dataclass
class _Flags:
    previous: bool = False
    since: timedelta | None = None
    tail: int | None = None
    grep: str | None = None


def _split(tokens: list[_Token]) -> tuple[list[_Token], _Flags]:
    """The positional words and the flags (each at most once)."""
    words: list[_Token] = []
    flags = _Flags()
    seen: set[str] = set()
    i = 0
    while i < len(tokens):
        t = tokens[i]
        i += 1
        if t.quoted or not t.text.startswith("-"):
            words.append(t)
            continue
        name, eq, inline = t.text.partition("=")
        if name not in FLAGS:
            hint = _HINTS.get(name, "")
            raise LogsUsageError(f"Unknown option {shown(t.text)}. " + (hint or (
                "The options are " + ", ".join(f"`{f}`" for f in FLAGS) + ".")))
        if name in seen:
            raise LogsUsageError(f"`{name}` is given twice.")
        seen.add(name)
        if name == PREVIOUS:
            if eq:
                raise LogsUsageError(f"`{PREVIOUS}` takes no value.")
            flags.previous = True
            continue
        if eq:
            value: str | None = inline
        elif i < len(tokens) and (tokens[i].quoted or not tokens[i].text.startswith("--")):
            value = tokens[i].text
            i += 1
        else:
            value = None
        if name == GREP:
            flags.grep = _grep(value or "")
        elif value is None or value == "":
            example = "10m" if name == SINCE else "200"
            raise LogsUsageError(f"`{name}` needs a value, e.g. `{name} {example}`.")
        elif name == SINCE:
            flags.since = _since(value)
        else:
            flags.tail = _tail(value)
    return words, flags


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "none"


def parse_logs(text: str, *, environments: Collection[str],
               services_in: Mapping[str, Collection[str]],
               services: Collection[str] = ()) -> LogsParsed:
    """Parse `/logs` text; raise `LogsUsageError` with the reason. `services_in`: each
    environment → the services deployed to it; `services`: every configured service."""
    if len(text) > MAX_TEXT:
        raise LogsUsageError(f"That command is {len(text)} characters long; the limit is "
                             f"{MAX_TEXT}.")
    tokens = _tokens(text)
    if not tokens:
        raise LogsUsageError("Which environment? e.g. `/logs staging` or "
                             "`/logs production api --previous`.")
    if [t.text for t in tokens] == ["help"]:
        return LogsHelpArgs()
    words, flags = _split(tokens)
    known = set(services).union(*services_in.values()) if services_in else set(services)
    if not words:
        raise LogsUsageError("Which environment? Name it before the options, e.g. "
                             "`/logs staging api --previous`.")
    for w in words:
        if w.quoted:
            raise LogsUsageError(f"{shown(w.text)}: only the `{GREP}` text may be quoted.")
        if not _NAME.match(w.text):
            raise LogsUsageError(f"{shown(w.text)} is not a name: only letters, digits and "
                                 "`. _ + -` are allowed.")
    env_word, rest = words[0].text, [w.text for w in words[1:]]
    if env_word not in environments:
        if env_word in known and rest and rest[0] in environments:
            raise LogsUsageError(f"Put the environment first: `/logs {rest[0]} {env_word}"
                                 + ("" if len(rest) == 1 else " …") + "`.")
        raise LogsUsageError(f"Unknown environment {shown(env_word)}. Known environments: "
                             f"{_names(environments)}.")
    here = sorted(services_in.get(env_word, ()))
    if len(rest) > 2:
        raise LogsUsageError(f"Too many words: {shown(' '.join(rest[2:]))} was not expected "
                             "(`/logs &lt;environment&gt; [service] [pod]`).")
    service, pod = _service_and_pod(env_word, rest, here, known, services_in)
    return LogsArgs(environment=env_word, service=service, pod=pod, previous=flags.previous,
                    since=flags.since, tail=flags.tail or DEFAULT_TAIL, grep=flags.grep)


def _service_and_pod(env: str, rest: list[str], here: list[str], known: Collection[str],
                     services_in: Mapping[str, Collection[str]]) -> tuple[str, str | None]:
    def named(word: str) -> str:
        if word not in known:
            raise LogsUsageError(f"Unknown service {shown(word)}. Services in `{env}`: "
                                 f"{_names(here)}.")
        if word not in here:
            elsewhere = [e for e, s in services_in.items() if word in s]
            raise LogsUsageError(f"`{word}` is not deployed to `{env}` (it deploys to "
                                 f"{_names(elsewhere)}).")
        return word

    def only() -> str:
        if not here:
            raise LogsUsageError(f"No service deploys to `{env}`.")
        if len(here) > 1:
            raise LogsUsageError(f"Which service? Name one of {_names(here)} after the "
                                 f"environment, e.g. `/logs {env} {here[0]}`.")
        return here[0]

    def pod(word: str) -> str:
        if len(word) > 253 or not _POD.match(word):
            raise LogsUsageError(f"{shown(word)} is not a pod name (lower-case letters, "
                                 "digits, `-` and `.`, as `/pods` lists them).")
        return word

    if not rest:
        return only(), None
    if len(rest) == 2:
        return named(rest[0]), pod(rest[1])
    word = rest[0]
    if word in known or len(here) != 1:
        if word not in known and len(here) > 1 and _POD.match(word):
            raise LogsUsageError(f"Unknown service {shown(word)}. Services in `{env}`: "
                                 f"{_names(here)}; to name a pod, put its service first: "
                                 f"`/logs {env} {here[0]} {word}`.")
        return named(word), None
    return here[0], pod(word)
