"""The `<environment> [service]` words of `/rollout`, `/pods`, `/events`, `/flags`
(bot.domain.env_service_words): a mistyped name is answered with the one meant."""

from __future__ import annotations

import pytest

from bot.domain.env_service_words import parse_environment_service
from bot.errors import CommandUsageError

ENVIRONMENTS = ("development", "staging", "production")


class PodsUsageError(CommandUsageError):
    usage = "/pods <environment> [service]"


def parse(text: str) -> tuple[str, str] | None:
    return parse_environment_service(
        text, command="/pods", error=PodsUsageError, environments=ENVIRONMENTS,
        services_in={e: ("api", "web") for e in ENVIRONMENTS}, services=("api", "web"))


def test_an_environment_and_a_service() -> None:
    assert parse("production web") == ("production", "web")


@pytest.mark.parametrize(("text", "problem"), [
    ("prod api", "Unknown environment `prod`. Did you mean `production`? Known environments: "
                 "`development`, `production`, `staging`."),
    ("production wbe", "Unknown service `wbe`. Did you mean `web`? Services in `production`: "
                       "`api`, `web`."),
    ("qa api", "Unknown environment `qa`. Known environments: `development`, `production`, "
               "`staging`."),
])
def test_a_mistyped_name_is_answered_with_the_one_meant(text: str, problem: str) -> None:
    with pytest.raises(PodsUsageError) as e:
        parse(text)
    assert e.value.problem == problem
