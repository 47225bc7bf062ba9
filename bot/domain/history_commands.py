"""Parsing the text of `/deploys` (pure: the known names are passed in).

Accepted forms (an environment and a service, each optional, in either order):
    /deploys [environment] [service]          the last 20 deployments there
    /deploys stats [environment] [service]    the DORA measures over the last 30 days
    /deploys help
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_TEXT = 200
#: How many deployments `/deploys` lists.
HISTORY_LIMIT = 20

USAGE = (  # `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
    "*Usage*\n"
    "• `/deploys` — the last 20 deployments (deploys, rollbacks, migration runs), newest "
    "first\n"
    "• `/deploys &lt;environment&gt; [&lt;service&gt;]` — e.g. `/deploys production api`; "
    "`/deploys api` for one service everywhere\n"
    "• `/deploys stats [&lt;environment&gt;] [&lt;service&gt;]` — deployment frequency, change "
    "failure rate and time to restore over the last 30 days (default: the production "
    "environments)\n"
    "• `/deploy status` — the version running per environment and service\n"
    "• `/deploys help` — this message"
)


class HistoryUsageError(CommandUsageError):
    """Bad `/deploys` text."""

    usage = USAGE


@dataclass(frozen=True)
class HistoryArgs:
    environment: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class StatsArgs:
    environment: str | None = None  # None: the production environments
    service: str | None = None


@dataclass(frozen=True)
class HistoryHelpArgs:
    pass


HistoryParsed = HistoryArgs | StatsArgs | HistoryHelpArgs


def _names(known: Collection[str]) -> str:
    return ", ".join(f"`{k}`" for k in sorted(known))


def parse_history(text: str, *, environments: Collection[str],
                  services: Mapping[str, Collection[str]]) -> HistoryParsed:
    """`services`: each service and the environments it deploys to."""
    if len(text) > MAX_TEXT:
        raise HistoryUsageError(f"That command is {len(text)} characters long; the limit is "
                                f"{MAX_TEXT}.")
    words = text.split()
    if words in (["help"], ["-h"], ["--help"]):
        return HistoryHelpArgs()
    stats = bool(words) and words[0] == "stats"
    if stats:
        words = words[1:]
    if len(words) > 2:
        raise HistoryUsageError(f"Too many words: {shown(' '.join(words[2:]))} was not "
                                "expected. Name at most one environment and one service.")
    environment: str | None = None
    service: str | None = None
    for w in words:
        if w in environments and environment is None:
            environment = w
        elif w in services and service is None:
            service = w
        elif w in environments or w in services:
            raise HistoryUsageError(f"{shown(w)} is given twice, or two environments or two "
                                    "services are named; name at most one of each.")
        else:
            raise HistoryUsageError(
                f"Unknown environment or service {shown(w)}. Environments: "
                f"{_names(environments)}; services: {_names(services)}.")
    if environment is not None and service is not None \
            and environment not in services[service]:
        raise HistoryUsageError(f"`{service}` is not deployed to `{environment}` (it deploys "
                                f"to {_names(services[service])}).")
    if stats:
        return StatsArgs(environment=environment, service=service)
    return HistoryArgs(environment=environment, service=service)
