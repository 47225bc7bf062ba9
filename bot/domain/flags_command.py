"""Parsing the text of `/flags` (pure: the names it is checked against are passed in).

Accepted forms (the service may be left out when exactly one service deploys to that
environment):
    /flags <environment> [service]   the flags the service declares, as they are there
    /flags help
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.domain.env_service_words import parse_environment_service
from bot.errors import CommandUsageError

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
    def configured(environment: str) -> None:
        if environment not in flag_environments:
            raise FlagsUsageError(
                f"No feature flags are configured for `{environment}`: app.yaml has no "
                f"`flags.{environment}` saying where its flags live (flagd's definitions or "
                "an OFREP flag service; see docs/flags.md).")

    found = parse_environment_service(
        text, command="/flags", error=FlagsUsageError, environments=environments,
        services_in=services_in, services=services, environment_check=configured)
    if found is None:
        return FlagsHelpArgs()
    environment, service = found
    if service not in declaring:
        raise FlagsUsageError(
            f"`{service}` declares no feature flags: list the flags that matter for it in "
            f"`services.{service}.flags` in app.yaml.")
    return FlagsArgs(environment, service)
