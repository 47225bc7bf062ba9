"""Parsing the text of `/deploy` (pure: no config objects, no I/O).

Accepted forms (the service may be left out when exactly one exists):
    /deploy production v1.2.3
    /deploy api production v1.2.3
    /deploy production --version=v1.2.3
    /deploy help | status
    /deploy cancel <id> | abort <id>
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.domain.text import clip, meant, shown
from bot.domain.versions import leading_zero_problem, two_spellings
from bot.errors import CommandUsageError

MAX_TEXT = 500
MAX_REASON = 300
#: The longest version a deployment can hold: the length of every version column
#: (bot.store.models uses it). A longer one is refused when the command is parsed.
MAX_VERSION = 128
USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/deploy` — a form: service, environment, version (recent ones offered), emergency\n"
    "• `/deploy &lt;environment&gt; &lt;version&gt;` — e.g. `/deploy production v1.2.3`\n"
    "• `/deploy &lt;service&gt; &lt;environment&gt; &lt;version&gt;` — "
    "e.g. `/deploy api production v1.2.3`\n"
    "• `/deploy &lt;environment&gt; --version=&lt;version&gt;`\n"
    "• `/deploy &lt;environment&gt; &lt;version&gt; --emergency \"reason or incident link\"` — "
    "outside the deploy windows, with emergency approval\n"
    "• `/deploy &lt;environment&gt; &lt;version&gt; --force \"reason\"` — deploy a version "
    "marked faulty (rolled back from) anyway\n"
    "• `/deploy cancel &lt;id&gt;` — cancel a deploy waiting for its window\n"
    "• `/deploy abort &lt;id&gt;` — stop a deploy rolling out or being watched, and roll "
    "back to the version it replaced\n"
    "• `/deploy status` — what runs where, and the last deployments\n"
    "• `/deploy help` — this message"
)
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class UsageError(CommandUsageError):
    """Bad `/deploy` text."""

    usage = USAGE


@dataclass(frozen=True)
class DeployArgs:
    service: str
    environment: str
    version: str
    emergency_reason: str | None = None
    force_reason: str | None = None  # deploy a version marked faulty anyway, and why
    release: str | None = None  # the release name `version` (its tag) was asked for as
    instance: str | None = None  # a per-PR instance ("pr-7"), for pull request deploys


@dataclass(frozen=True)
class CancelArgs:
    deployment_id: int


@dataclass(frozen=True)
class AbortArgs:
    deployment_id: int


@dataclass(frozen=True)
class HelpArgs:
    pass


@dataclass(frozen=True)
class FormArgs:
    """`/deploy` with no text: open the form (the modal) instead."""


@dataclass(frozen=True)
class StatusArgs:
    pass


Parsed = DeployArgs | HelpArgs | StatusArgs | CancelArgs | AbortArgs | FormArgs


def request_text(args: DeployArgs) -> str:
    """The `/deploy` text that parses back to `args` (for a button that repeats it)."""
    def quoted(reason: str) -> str:
        return f'"{reason}"' if '"' not in reason else f"“{reason}”"
    text = f"{args.service} {args.environment} {args.version}"
    if args.emergency_reason is not None:
        text += f" --emergency {quoted(args.emergency_reason)}"
    if args.force_reason is not None:
        text += f" --force {quoted(args.force_reason)}"
    return text

def _quoted_option(name: str) -> re.Pattern[str]:
    """`--name "reason"` (straight or curly quotes), or `--name=reason-without-spaces`."""
    return re.compile(
        rf"""(?:^|\s)--{name}(?P<sep>=|\s+)(?:"(?P<q>[^"]*)"|“(?P<c>[^”]*)”|(?P<w>[^\s"“”]+))?"""
        rf"""|(?:^|\s)--{name}\s*$"""
    )


_EMERGENCY = _quoted_option("emergency")
_FORCE = _quoted_option("force")


def _take_reason(text: str, option: re.Pattern[str], name: str, missing: str, *,
                 bare_word: bool = True) -> tuple[str, str | None]:
    """Split `--<name> "reason"` off the command text: (rest, reason or None)."""
    found = list(option.finditer(text))
    flag = f"--{name}"
    if not found:
        if flag in text:
            raise UsageError(f'Put the {name} reason in quotes: `{flag} "reason"`.')
        return text, None
    if len(found) > 1:
        raise UsageError(f"`{flag}` is given twice.")
    m = found[0]
    reason = (m.group("q") or m.group("c") or m.group("w") or "").strip()
    rest = text[m.end():].lstrip()
    if not reason and rest[:1] in ('"', "“") and ('"' if rest[0] == '"' else "”") not in rest[1:]:
        raise UsageError(f'The {name} reason has no closing quote: `{flag} "reason"`.')
    if not reason:
        raise UsageError(missing)
    if len(reason) > MAX_REASON:
        raise UsageError(f"The {name} reason is {len(reason)} characters long; "
                         f"the limit is {MAX_REASON}.")
    rest = text[m.end():]
    word = m.group("w")
    if word and word.startswith(("'", "\u2018")) and m.group("sep") != "=":
        # `--emergency 'checkout down'`: single quotes group nothing here.
        opened = (word + rest)[1:]
        said = re.split("['\u2019]", opened, maxsplit=1)[0].strip() or "reason"
        meant_text = flag + ' "' + clip(said, 60) + '"'
        raise UsageError(f"Put the {name} reason in double quotes: "
                         f"{shown(meant_text, limit=80)}.")
    if word and m.group("sep") != "=" and (rest.split() or not bare_word):
        # `--emergency checkout down`: the reason has spaces but no quotes.
        raise UsageError(f'Put the {name} reason in quotes: `{flag} "{m.group("w")} …"`.')
    return text[: m.start()] + " " + rest, reason


def _take_emergency(text: str) -> tuple[str, str | None]:
    return _take_reason(text, _EMERGENCY, "emergency",
                        'An emergency deploy needs a reason: `--emergency "checkout is down, '
                        'INC-123"` (an incident link is fine).')


def _take_force(text: str) -> tuple[str, str | None]:
    return _take_reason(text, _FORCE, "force",
                        'Deploying a version marked faulty needs a reason: `--force "fixed by '
                        'the config change in INC-123"`.', bare_word=False)


def _one_of(kind: str, value: str, known: Collection[str]) -> str:
    if value in known:
        return value
    names = ", ".join(f"`{k}`" for k in sorted(known))
    guess = meant(value, known)
    hint = f" Did you mean `{guess}`?" if guess is not None else ""
    raise UsageError(f"Unknown {kind} {shown(value)}.{hint} Known {kind}s: {names}.")


def _refuse_swapped(first: str, second: str, version: str, environments: Collection[str],
                    services: Collection[str], emergency_reason: str | None,
                    force_reason: str | None) -> None:
    """`/deploy staging api v1.2.3`: an environment, then a service (and neither word the
    other kind too) — refused naming the command meant, words in their order."""
    if (first in environments and first not in services
            and second in services and second not in environments):
        meant = request_text(DeployArgs(service=second, environment=first, version=version,
                                        emergency_reason=emergency_reason,
                                        force_reason=force_reason))
        raise UsageError(f"The service comes before the environment. Did you mean "
                         f"{shown('/deploy ' + meant, limit=MAX_TEXT + 20)}?")


def _refuse_version_first(positional: list[str], environments: Collection[str],
                          services: Collection[str], emergency_reason: str | None,
                          force_reason: str | None) -> None:
    """`/deploy v1.2.3 staging` (or `/deploy api v1.2.3 staging`): a version, then the
    environment — refused naming the command meant, words in their order."""
    if len(positional) not in (2, 3):
        return
    *service_given, version, environment = positional
    if version in environments or version in services:
        return
    if service_given and (service_given[0] not in services
                          or service_given[0] in environments):
        return
    service = (service_given[0] if service_given
               else next(iter(services)) if len(services) == 1 else None)
    if service is None:
        example = f"/deploy {sorted(services)[0]} {environment} {version}"
        raise UsageError("The environment comes before the version, and the service before "
                         f"both: e.g. {shown(example, limit=MAX_TEXT + 20)}.")
    meant = request_text(DeployArgs(service=service, environment=environment,
                                    version=version, emergency_reason=emergency_reason,
                                    force_reason=force_reason))
    raise UsageError("The environment comes before the version. Did you mean "
                     f"{shown('/deploy ' + meant, limit=MAX_TEXT + 20)}?")


def check_version_length(version: str, error: type[CommandUsageError]) -> None:
    """Raise `error` naming the limit when `version` is longer than a deployment holds."""
    if len(version) > MAX_VERSION:
        raise error(f"The version is {len(version)} characters long; the limit is "
                    f"{MAX_VERSION}.")


def _abort(words: list[str]) -> AbortArgs:
    """`/deploy abort <id>` (or `#<id>`): the number on the deployment's card."""
    if not words:
        raise UsageError("Which deployment should I abort? Give its number, e.g. "
                         "`/deploy abort 42` (it is on the deployment's card).")
    if len(words) > 1:
        raise UsageError(f"`/deploy abort` takes one deployment number; "
                         f"{shown(' '.join(words[1:]))} was not expected.")
    number = words[0].removeprefix("#")
    # ASCII digits only, and few enough to be a database id (a 64-bit integer)
    if number.isascii() and number.isdigit() and len(number) <= 18:
        return AbortArgs(int(number))
    raise UsageError(f"{shown(words[0])} is not a deployment number; e.g. "
                     "`/deploy abort 42` (the number is on the deployment's card).")


def parse_deploy(
    text: str,
    *,
    environments: Collection[str],
    services: Collection[str],
    version_patterns: Mapping[str, str],
) -> Parsed:
    """Parse `/deploy` text against the known names; raise `UsageError` with the reason."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    words = text.split()
    if not words:
        return FormArgs()
    if words == ["help"]:
        return HelpArgs()
    if words[0] == "status" and words[0] not in services:
        if len(words) == 1:
            return StatusArgs()
        raise UsageError("`/deploy status` takes nothing after it: it shows every environment "
                         f"and service ({shown(' '.join(words[1:]))} was not expected).")
    if words[0] == "cancel":
        number = words[1].removeprefix("#") if len(words) == 2 else ""
        # ASCII digits only, and few enough to be a database id (a 64-bit integer)
        if number.isascii() and number.isdigit() and len(number) <= 18:
            return CancelArgs(int(number))
        raise UsageError("Which deployment? e.g. `/deploy cancel 42`.")
    if words[0] == "abort":
        return _abort(words[1:])
    text, emergency_reason = _take_emergency(text)
    text, force_reason = _take_force(text)
    words = text.split()
    if not words:
        raise UsageError("Tell me what to deploy.")
    for i, w in enumerate(words):
        if w == "--version" and i + 1 < len(words):  # `--version v1.2.3`
            raise UsageError(f"Write the version with `=`: "
                             f"{shown('--version=' + words[i + 1], limit=MAX_TEXT)}.")
        if w.startswith("-") and not w.startswith("--version="):
            raise UsageError(f"Unknown option {shown(w)}.")
        if not _WORD.match(w.removeprefix("--version=")):
            raise UsageError(
                f"{shown(w)} is not a name or a version: only letters, digits and `. _ + -` "
                "are allowed."
            )

    version: str | None = None
    positional: list[str] = []
    for w in words:
        if w.startswith("--version="):
            if version is not None:
                raise UsageError("The version is given twice.")
            version = w.removeprefix("--version=")
        else:
            positional.append(w)
    if version is None and positional:
        if positional[-1] in environments:  # `/deploy production`: the version is missing
            _refuse_version_first(positional, environments, services, emergency_reason,
                                  force_reason)
            raise UsageError("Which version? e.g. `/deploy production v1.2.3`.")
        if len(positional) == 3:
            _refuse_swapped(positional[0], positional[1], positional[2], environments,
                            services, emergency_reason, force_reason)
        if len(positional) > 3 or (len(positional) == 3 and positional[0] not in services
                                   and positional[0] in environments):
            keep = 2 if positional[0] in environments else 3
            extra = " ".join(positional[keep:])
            raise UsageError(f"Too many words: {shown(extra)} was not expected.")
        version = positional.pop()
    if not version:
        raise UsageError("Which version? e.g. `/deploy production v1.2.3`.")
    if len(positional) > 2:
        raise UsageError(f"Too many words: {shown(' '.join(positional[2:]))} was not expected.")
    if len(positional) == 0:
        raise UsageError("Which environment? e.g. `/deploy production v1.2.3`.")
    if len(positional) == 1:
        environment = _one_of("environment", positional[0], environments)
        if len(services) != 1:
            names = ", ".join(f"`{s}`" for s in sorted(services))
            raise UsageError(f"Which service? Name one of {names} before the environment.")
        service = next(iter(services))
    else:
        _refuse_swapped(positional[0], positional[1], version, environments, services,
                        emergency_reason, force_reason)
        service = _one_of("service", positional[0], services)
        environment = _one_of("environment", positional[1], environments)

    check_version_length(version, UsageError)
    pattern = version_patterns[service]
    if not re.fullmatch(pattern, version):
        raise UsageError(
            f"{shown(version)} is not a valid version for `{service}` "
            f"(expected a match of `{pattern}`, e.g. `v1.2.3`)."
        )
    meant_version = two_spellings(version, pattern)
    if meant_version is not None:
        raise UsageError(leading_zero_problem(version, meant_version))
    return DeployArgs(service=service, environment=environment, version=version,
                      emergency_reason=emergency_reason, force_reason=force_reason)
