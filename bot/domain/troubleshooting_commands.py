"""Parsing the text of `/rollout`, `/pods` and `/events` (pure: the names they are checked
against are passed in, no config objects, no I/O).

Accepted forms (the service may be left out when exactly one service deploys to that
environment):
    /rollout <environment> [service]    the Deployment: replicas, conditions, ReplicaSets
    /pods <environment> [service]       its pods, unhealthy first
    /events <environment> [service]     recent events, warnings first
    /rollout help   (and /pods help, /events help)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.domain.env_service_words import parse_environment_service
from bot.errors import CommandUsageError

Kind = Literal["rollout", "pods", "events"]
_WHAT: dict[Kind, str] = {
    "rollout": "the Deployment's replicas (desired, updated, ready, available), its "
               "conditions, the current and previous ReplicaSet with their versions and "
               "change causes, and how long the current rollout has run — the guide's "
               "`kubectl get deployments`",
    "pods": "each pod's version, ready containers, phase or waiting reason, restarts, last "
            "termination, age and node, unhealthy pods first — the guide's "
            "`kubectl get pods`",
    "events": "the recent Kubernetes events of the Deployment, its ReplicaSets and pods, "
              "warnings first — the guide's `kubectl get events`",
}

def usage(kind: Kind) -> str:
    """The usage of `/<kind>` (`&lt;` `&gt;`: Slack reads a bare <…> as a link or mention)."""
    command = f"/{kind}"
    return (
        "*Usage*\n"
        f"• `{command} &lt;environment&gt;` — e.g. `{command} production`, when one service "
        "deploys there\n"
        f"• `{command} &lt;environment&gt; &lt;service&gt;` — e.g. `{command} production api`\n"
        f"• `{command} help` — this message\n"
        f"It shows {_WHAT[kind]}. It needs the environment's deployers role."
    )


class TroubleshootingUsageError(CommandUsageError):
    """Bad `/rollout`, `/pods` or `/events` text (the subclasses carry each usage)."""


class RolloutUsageError(TroubleshootingUsageError):
    usage = usage("rollout")


class PodsUsageError(TroubleshootingUsageError):
    usage = usage("pods")


class EventsUsageError(TroubleshootingUsageError):
    usage = usage("events")


ERRORS: dict[Kind, type[TroubleshootingUsageError]] = {
    "rollout": RolloutUsageError, "pods": PodsUsageError, "events": EventsUsageError}


@dataclass(frozen=True)
class TroubleshootArgs:
    """`/rollout`, `/pods` or `/events` (`kind`) of `service` in `environment`."""

    kind: Kind
    environment: str
    service: str


@dataclass(frozen=True)
class TroubleshootHelpArgs:
    kind: Kind


TroubleshootParsed = TroubleshootArgs | TroubleshootHelpArgs


def parse_troubleshoot(
    kind: Kind,
    text: str,
    *,
    environments: Collection[str],
    services_in: Mapping[str, Collection[str]],
    services: Collection[str],
) -> TroubleshootParsed:
    """Parse the text of `/<kind>`; raise its TroubleshootingUsageError with the reason.

    `services_in`: environment → the services that deploy there; `services`: every
    configured service (to tell "unknown" from "not deployed there")."""
    found = parse_environment_service(
        text, command=f"/{kind}", error=ERRORS[kind], environments=environments,
        services_in=services_in, services=services)
    if found is None:
        return TroubleshootHelpArgs(kind)
    return TroubleshootArgs(kind, *found)
