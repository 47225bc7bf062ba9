"""Parsing the text of `/flags` (pure: the names it is checked against are passed in).

Accepted forms (the service may be left out when exactly one service deploys to that
environment):
    /flags <environment> [service]   the flags the service declares, as they are there
    /flags help
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 300
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "none"


USAGE = (
    "*Usage*\n"
    "• `/flags &lt;environment&gt;` — e.g. `/flags production`, when one service deploys "
    "there\n"
    "• `/flags &lt;environment&gt; &lt;service&gt;` — e.g. `/flags production checkout`\n"
    "• `/flags help` — this message\n"
    "It shows the feature flags the service declares (`services.&lt;name&gt;.flags` in "
    "app.yaml) as they are in that environment: state, default variant and value, variants, "
    "targeting; a flag missing there, or not serving the variant its `expect` names, is "
    "flagged. It needs the environment's deployers role."
)


class FlagsUsageError(CommandUsageError):
    usage = USAGE


@dataclass(frozen=True)
class FlagsArgs:
    environment: str
    service: str


@dataclass(frozen=True)
class FlagsHelpArgs:
    pass


def parse_flags(text: str, *, environments: Collection[str],
                services_in: Mapping[str, Collection[str]], services: Collection[str],
                flag_environments: Collection[str], declaring: Collection[str]
                ) -> FlagsArgs | FlagsHelpArgs:
    """Parse `/flags`; raise FlagsUsageError with the reason. `services_in`: environment →
    the services deploying there; `flag_environments`: those with `flags.<environment>`;
    `declaring`: the services that declare flags."""
    if len(text) > MAX_TEXT:
        raise FlagsUsageError(f"That command is {len(text)} characters long; the limit is "
                              f"{MAX_TEXT}.")
    words = text.split()
    if words == ["help"]:
        return FlagsHelpArgs()
    if not words:
        raise FlagsUsageError("Which environment? e.g. `/flags production`.")
    for w in words:
        if w.startswith("-"):
            raise FlagsUsageError(f"Unknown option {shown(w)}: `/flags` takes no options.")
        if not _WORD.match(w):
            raise FlagsUsageError(f"{shown(w)} is not a name: only letters, digits and "
                                  "`. _ + -` are allowed.")
    environment, rest = words[0], words[1:]
    if environment not in environments:
        if environment in services and rest and rest[0] in environments:
            raise FlagsUsageError(f"Put the environment first: `/flags {rest[0]} "
                                  f"{environment}`.")
        raise FlagsUsageError(f"Unknown environment {shown(environment)}. Known environments: "
                              f"{_names(environments)}.")
    if environment not in flag_environments:
        raise FlagsUsageError(
            f"No feature flags are configured for `{environment}`: app.yaml has no "
            f"`flags.{environment}` saying where its flags live (flagd's definitions or an "
            "OFREP flag service; see docs/flags.md).")
    here = sorted(services_in.get(environment, ()))
    if len(rest) > 1:
        raise FlagsUsageError(f"Too many words: {shown(' '.join(rest[1:]))} was not expected "
                              "(`/flags` takes an environment and a service).")
    if not rest:
        if not here:
            raise FlagsUsageError(f"No service deploys to `{environment}` (see "
                                  "`services.&lt;name&gt;.environments` in app.yaml).")
        if len(here) != 1:
            raise FlagsUsageError(f"Which service? Name one of {_names(here)} after the "
                                  f"environment, e.g. `/flags {environment} {here[0]}`.")
        service = here[0]
    else:
        service = rest[0]
        if service not in services:
            raise FlagsUsageError(f"Unknown service {shown(service)}. Services in "
                                  f"`{environment}`: {_names(here)}.")
        if service not in here:
            raise FlagsUsageError(f"`{service}` is not deployed to `{environment}` "
                                  f"(services there: {_names(here)}).")
    if service not in declaring:
        raise FlagsUsageError(
            f"`{service}` declares no feature flags: list the flags that matter for it in "
            f"`services.{service}.flags` in app.yaml.")
    return FlagsArgs(environment, service)
