"""The `/rollback` text parser (bot.domain.rollback_commands): a mistyped environment is
answered with the one meant."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_VERSION_PATTERN
from bot.domain.rollback_commands import RollbackArgs, RollbackUsageError, parse_rollback

ENVIRONMENTS = ("development", "staging", "production")


def parse(text: str) -> object:
    return parse_rollback(text, environments=ENVIRONMENTS,
                          services_in={e: ("api",) for e in ENVIRONMENTS},
                          version_patterns={"api": DEFAULT_VERSION_PATTERN})


def test_the_usual_forms() -> None:
    assert parse("production") == RollbackArgs("production", "api", None)
    assert parse("production api v1.2.2") == RollbackArgs("production", "api", "v1.2.2")


@pytest.mark.parametrize(("text", "problem"), [
    ("prod", "Unknown environment `prod`. Did you mean `production`? Known environments: "
             "`development`, `production`, `staging`."),
    ("Production api", "Unknown environment `Production`. Did you mean `production`? Known "
                       "environments: `development`, `production`, `staging`."),
    ("qa", "Unknown environment `qa`. Known environments: `development`, `production`, "
           "`staging`."),
])
def test_an_unknown_environment_names_the_one_meant(text: str, problem: str) -> None:
    with pytest.raises(RollbackUsageError) as e:
        parse(text)
    assert e.value.problem == problem


def test_a_mistyped_service_is_not_taken_for_a_version() -> None:
    """`/rollback production wbe` answered "`wbe` is not a valid version for `api`"."""
    with pytest.raises(RollbackUsageError) as e:
        parse_rollback("production wbe", environments=ENVIRONMENTS,
                       services_in={e: ("api", "web") for e in ENVIRONMENTS},
                       version_patterns={"api": DEFAULT_VERSION_PATTERN,
                                         "web": DEFAULT_VERSION_PATTERN})
    assert e.value.problem == ("Unknown service `wbe`. Did you mean `web`? Services in "
                               "`production`: `api`, `web`.")


def test_a_version_with_a_leading_zero_names_the_version_meant() -> None:
    with pytest.raises(RollbackUsageError) as info:
        parse("production api v1.02.2")
    assert info.value.problem == (
        "`v1.02.2` writes a number with a leading zero, which a semantic version does not "
        "(semver.org §2): did you mean `v1.2.2`? Both would name one version.")
