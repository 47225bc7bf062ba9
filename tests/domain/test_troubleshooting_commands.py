"""Parsing `/rollout`, `/pods` and `/events` (pure): an environment and an optional service,
each bad word refused with its own reason and the command's usage."""

from __future__ import annotations

import pytest

from bot.domain.troubleshooting_commands import (
    EventsUsageError,
    Kind,
    PodsUsageError,
    RolloutUsageError,
    TroubleshootArgs,
    TroubleshootHelpArgs,
    parse_troubleshoot,
    usage,
)

ENVS = ("staging", "production")
IN = {"staging": ("api", "web"), "production": ("api",)}
SERVICES = ("api", "web", "worker")  # worker deploys nowhere


def parse(kind: Kind, text: str) -> TroubleshootArgs | TroubleshootHelpArgs:
    return parse_troubleshoot(kind, text, environments=ENVS, services_in=IN,
                              services=SERVICES)


@pytest.mark.parametrize("kind", ["rollout", "pods", "events"])
def test_environment_and_service(kind: Kind) -> None:
    assert parse(kind, "staging web") == TroubleshootArgs(kind, "staging", "web")
    assert parse(kind, "  production   api ") == TroubleshootArgs(kind, "production", "api")
    assert parse(kind, "help") == TroubleshootHelpArgs(kind)


def test_the_service_may_be_left_out_when_one_deploys_there() -> None:
    assert parse("pods", "production") == TroubleshootArgs("pods", "production", "api")


@pytest.mark.parametrize("kind, text, error, problem", [
    ("rollout", "", RolloutUsageError, "Which environment? e.g. `/rollout production`."),
    ("pods", "staging", PodsUsageError, "Which service? Name one of `api`, `web` after the "
                                        "environment, e.g. `/pods staging api`."),
    ("events", "qa", EventsUsageError, "Unknown environment `qa`. Known environments: "
                                       "`production`, `staging`."),
    ("pods", "staging billing", PodsUsageError, "Unknown service `billing`. Services in "
                                                "`staging`: `api`, `web`."),
    ("rollout", "staging worker", RolloutUsageError,
     "`worker` is not deployed to `staging` (services there: `api`, `web`)."),
    ("events", "staging api extra words", EventsUsageError,
     "Too many words: `extra words` was not expected (`/events` takes an environment and "
     "a service)."),
    ("pods", "staging api --previous", PodsUsageError,
     "Unknown option `--previous`: `/pods` takes no options."),
    ("rollout", "staging a<b", RolloutUsageError,
     "`a&lt;b` is not a name: only letters, digits and `. _ + -` are allowed."),
    ("pods", "web staging", PodsUsageError, "Put the environment first: `/pods staging web`."),
    ("rollout", "x" * 301, RolloutUsageError,
     "That command is 301 characters long; the limit is 300."),
])
def test_bad_text_is_refused_with_its_reason_and_the_usage(
        kind: Kind, text: str, error: type[Exception], problem: str) -> None:
    with pytest.raises(error) as refused:
        parse(kind, text)
    assert refused.value.problem == problem  # type: ignore[attr-defined]
    assert refused.value.message == f"{problem}\n\n{usage(kind)}"  # type: ignore[attr-defined]


def test_no_service_deploys_there() -> None:
    with pytest.raises(PodsUsageError, match="No service deploys to `staging` "
                       r"\(see `services.&lt;name&gt;.environments` in app.yaml\)."):
        parse_troubleshoot("pods", "staging", environments=ENVS, services_in={},
                           services=SERVICES)


def test_the_usage_names_the_command_and_what_it_shows() -> None:
    assert usage("pods").startswith("*Usage*\n• `/pods &lt;environment&gt;` — e.g. "
                                    "`/pods production`")
    assert "`kubectl get pods`" in usage("pods")
    assert "deployers role" in usage("events")
