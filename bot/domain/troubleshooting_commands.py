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

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 300

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
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


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


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "none"


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
    error = ERRORS[kind]
    command = f"/{kind}"
    if len(text) > MAX_TEXT:
        raise error(f"That command is {len(text)} characters long; the limit is {MAX_TEXT}.")
    words = text.split()
    if words == ["help"]:
        return TroubleshootHelpArgs(kind)
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
        raise error(f"Unknown environment {shown(environment)}. Known environments: "
                    f"{_names(environments)}.")
    here = sorted(services_in.get(environment, ()))
    if not rest:
        if not here:
            raise error(f"No service deploys to `{environment}` (see "
                        "`services.&lt;name&gt;.environments` in app.yaml).")
        if len(here) != 1:
            raise error(f"Which service? Name one of {_names(here)} after the environment, "
                        f"e.g. `{command} {environment} {here[0]}`.")
        return TroubleshootArgs(kind, environment, here[0])
    service, extra = rest[0], rest[1:]
    if service not in services:
        raise error(f"Unknown service {shown(service)}. Services in `{environment}`: "
                    f"{_names(here)}.")
    if service not in here:
        raise error(f"`{service}` is not deployed to `{environment}` (services there: "
                    f"{_names(here)}).")
    if extra:
        raise error(f"Too many words: {shown(' '.join(extra))} was not expected "
                    f"(`{command}` takes an environment and a service).")
    return TroubleshootArgs(kind, environment, service)
