"""Parsing `/deploys` (bot.domain.history_commands)."""

from __future__ import annotations

import pytest

from bot.domain.history_commands import (
    HistoryArgs,
    HistoryHelpArgs,
    HistoryUsageError,
    StatsArgs,
    parse_history,
)

ENVS = ("staging", "production")
SERVICES = {"api": ENVS, "web": ("staging",)}


def parse(text: str) -> object:
    return parse_history(text, environments=ENVS, services=SERVICES)


@pytest.mark.parametrize(("text", "expected"), [
    ("", HistoryArgs()),
    ("   ", HistoryArgs()),
    ("production", HistoryArgs(environment="production")),
    ("api", HistoryArgs(service="api")),
    ("production api", HistoryArgs(environment="production", service="api")),
    ("api production", HistoryArgs(environment="production", service="api")),
    ("staging web", HistoryArgs(environment="staging", service="web")),
    ("stats", StatsArgs()),
    ("stats production", StatsArgs(environment="production")),
    ("stats web", StatsArgs(service="web")),
    ("stats api staging", StatsArgs(environment="staging", service="api")),
    ("help", HistoryHelpArgs()),
])
def test_accepted(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("prod", "Unknown environment or service `prod`. Environments: `production`, `staging`; "
             "services: `api`, `web`."),
    ("production nope", "Unknown environment or service `nope`."),
    ("production web", "`web` is not deployed to `production` (it deploys to `staging`)."),
    ("production staging", "two environments or two services"),
    ("api web", "two environments or two services"),
    ("production api extra", "Too many words: `extra` was not expected."),
    ("stats production api x", "Too many words: `x`"),
    ("<!channel>", "Unknown environment or service `&lt;!channel&gt;`."),
    ("x" * 201, "the limit is 200"),
])
def test_refused_with_the_problem_and_the_usage(text: str, problem: str) -> None:
    with pytest.raises(HistoryUsageError) as e:
        parse(text)
    assert problem in e.value.problem
    assert e.value.message.endswith(e.value.message.split("\n\n", 1)[1])
    assert "*Usage*" in e.value.message
