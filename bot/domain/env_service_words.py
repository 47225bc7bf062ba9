"""The `<environment> [service]` words the read-only commands share (`/rollout`, `/pods`,
`/events`, `/flags`): checked against the names passed in (pure), the service left out when
exactly one service deploys to the environment, each bad input with its own message."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

from bot.domain.text import meant, shown
from bot.errors import CommandUsageError

MAX_TEXT = 300
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def names(values: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(values)) or "none"


def _guess(word: str, known: Collection[str]) -> str:
    """The hint for a mistyped name (" Did you mean `production`?"), else nothing."""
    guess = meant(word, known)
    return f" Did you mean `{guess}`?" if guess is not None else ""


def parse_environment_service(
    text: str,
    *,
    command: str,
    error: type[CommandUsageError],
    environments: Collection[str],
    services_in: Mapping[str, Collection[str]],
    services: Collection[str],
    environment_check: Callable[[str], None] | None = None,
) -> tuple[str, str] | None:
    """(environment, service) from `text`, None for `help`; raise `error` with the reason.
    `services_in`: environment → the services deploying there; `services`: every configured
    one (to tell "unknown" from "not deployed there"); `environment_check`: raises `error`
    when the command does not apply to a known environment."""
    if len(text) > MAX_TEXT:
        raise error(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    words = text.split()
    if words == ["help"]:
        return None
    if not words:
        raise error(f"Which environment? e.g. `{command} production`.")
    for w in words:
        if w.startswith("-"):
            raise error(f"Unknown option {shown(w)}: `{command}` takes no options.")
        if not _WORD.match(w):
            raise error(f"{shown(w)} is not a name: only letters, digits and `. _ + -` are "
                        "allowed.")
    environment, rest = words[0], words[1:]
    if environment not in environments:
        if environment in services and rest and rest[0] in environments:
            raise error(f"Put the environment first: `{command} {rest[0]} {environment}`.")
        raise error(f"Unknown environment {shown(environment)}."
                    f"{_guess(environment, environments)} Known environments: "
                    f"{names(environments)}.")
    if environment_check is not None:
        environment_check(environment)
    here = sorted(services_in.get(environment, ()))
    if not rest:
        if not here:
            raise error(f"No service deploys to `{environment}` (see "
                        "`services.&lt;name&gt;.environments` in app.yaml).")
        if len(here) != 1:
            raise error(f"Which service? Name one of {names(here)} after the environment, "
                        f"e.g. `{command} {environment} {here[0]}`.")
        return environment, here[0]
    service, extra = rest[0], rest[1:]
    if service not in services:
        raise error(f"Unknown service {shown(service)}.{_guess(service, here)} Services in "
                    f"`{environment}`: {names(here)}.")
    if service not in here:
        raise error(f"`{service}` is not deployed to `{environment}` (services there: "
                    f"{names(here)}).")
    if extra:
        raise error(f"Too many words: {shown(' '.join(extra))} was not expected "
                    f"(`{command}` takes an environment and a service).")
    return environment, service
