"""Parsing the text of `/rollback` (pure: names in, values or a UsageError out).

Accepted forms (the service may be left out when exactly one deploys to the environment):
    /rollback production                  back to the last good version
    /rollback production api
    /rollback production api v1.2.2       back to a named version that ran there before
    /rollback production --version=v1.2.2
    /rollback help
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.domain.commands import check_version_length
from bot.domain.text import meant, shown
from bot.domain.versions import leading_zero_problem, two_spellings
from bot.errors import CommandUsageError

MAX_TEXT = 500  # as /deploy's: a version over its own limit (128) is refused as such
USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/rollback &lt;environment&gt; [service]` — back to the last version that succeeded "
    "and passed its checks there, e.g. `/rollback production api`\n"
    "• `/rollback &lt;environment&gt; [service] &lt;version&gt;` (or `--version=`) — back to a "
    "version that ran there before, e.g. `/rollback production api v1.2.2`\n"
    "• `/rollback help` — this message\n"
    "You get a confirmation first; the version rolled back from is marked faulty."
)
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class RollbackUsageError(CommandUsageError):
    """Bad `/rollback` text."""

    usage = USAGE


@dataclass(frozen=True)
class RollbackArgs:
    environment: str
    service: str
    version: str | None = None  # None: the last good version


@dataclass(frozen=True)
class RollbackHelpArgs:
    pass


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names))


def parse_rollback(
    text: str,
    *,
    environments: Collection[str],
    services_in: Mapping[str, Collection[str]],
    version_patterns: Mapping[str, str],
) -> RollbackArgs | RollbackHelpArgs:
    """`services_in`: environment → the services deployed there."""
    if len(text) > MAX_TEXT:
        raise RollbackUsageError(f"That command is {len(text)} characters long; the limit is "
                                 f"{MAX_TEXT}.")
    words = text.split()
    if words == ["help"]:
        return RollbackHelpArgs()
    if not words:
        raise RollbackUsageError("Which environment? e.g. `/rollback production`.")
    version: str | None = None
    positional: list[str] = []
    for w in words:
        if w.startswith("--version="):
            if version is not None:
                raise RollbackUsageError("The version is given twice.")
            version = w.removeprefix("--version=")
            if not _WORD.match(version):
                raise RollbackUsageError(f"{shown(version)} is not a version.")
            continue
        if w.startswith("-"):
            raise RollbackUsageError(f"Unknown option {shown(w)}.")
        if not _WORD.match(w):
            raise RollbackUsageError(f"{shown(w)} is not a name or a version: only letters, "
                                     "digits and `. _ + -` are allowed.")
        positional.append(w)
    if not positional:
        raise RollbackUsageError("Which environment? e.g. `/rollback production`.")
    environment = positional.pop(0)
    if (environment not in environments and environment in version_patterns
            and positional and positional[0] in environments):
        # `/rollback api production`: the service first, as /deploy takes it
        words = [positional[0], environment, *positional[1:],
                 *([version] if version is not None else [])]
        raise RollbackUsageError("The environment comes before the service. Did you mean "
                                 f"{shown('/rollback ' + ' '.join(words), limit=MAX_TEXT)}?")
    if environment not in environments:
        guess = meant(environment, environments)
        hint = f" Did you mean `{guess}`?" if guess is not None else ""
        raise RollbackUsageError(f"Unknown environment {shown(environment)}.{hint} Known "
                                 f"environments: {_names(environments)}.")
    here = services_in.get(environment, ())
    service: str | None = None
    if positional and positional[0] in version_patterns:
        service = positional.pop(0)
        if service not in here:
            raise RollbackUsageError(f"`{service}` is not deployed to `{environment}`.")
    if positional and not any(re.fullmatch(version_patterns[s], positional[0])
                              for s in here):
        guess = meant(positional[0], here)
        if guess is not None:  # `/rollback production wbe`: a service, mistyped
            raise RollbackUsageError(f"Unknown service {shown(positional[0])}. Did you mean "
                                     f"`{guess}`? Services in `{environment}`: "
                                     f"{_names(here)}.")
    if positional:
        if version is not None or len(positional) > 1:
            raise RollbackUsageError(f"Too many words: {shown(' '.join(positional))} was not "
                                     "expected.")
        version = positional[0]
    if service is None:
        if len(here) != 1:
            raise RollbackUsageError(f"Which service? Name one of {_names(here)} after the "
                                     "environment.")
        service = next(iter(here))
    if version is not None:
        check_version_length(version, RollbackUsageError)
    if version is not None and not re.fullmatch(version_patterns[service], version):
        raise RollbackUsageError(f"{shown(version)} is not a valid version for `{service}` "
                                 f"(expected a match of `{version_patterns[service]}`).")
    meant_version = (two_spellings(version, version_patterns[service])
                     if version is not None else None)
    if version is not None and meant_version is not None:
        raise RollbackUsageError(leading_zero_problem(version, meant_version))
    return RollbackArgs(environment=environment, service=service, version=version)
