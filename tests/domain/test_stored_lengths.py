"""Text a command stores is checked against its column's length when the command is parsed
(issue 14): a version that matches the pattern but is longer than the column is refused with
its own message, not accepted and then lost to a failed insert."""

from __future__ import annotations

import pytest

from bot.config import DEFAULT_VERSION_PATTERN
from bot.domain.commands import MAX_VERSION, DeployArgs, UsageError, parse_deploy
from bot.domain.rollback_commands import RollbackArgs, RollbackUsageError, parse_rollback

ENVIRONMENTS = ("staging", "production")
LONG_SUFFIX = "v1.2.3-" + "a" * 200  # the two examples
LONG_NINES = "v" + "9" * 300 + ".0.0"
AT_THE_LIMIT = "v1.2.3-" + "a" * (MAX_VERSION - len("v1.2.3-"))


def deploy(text: str) -> object:
    return parse_deploy(text, environments=ENVIRONMENTS, services=("api",),
                        version_patterns={"api": DEFAULT_VERSION_PATTERN})


def rollback(text: str) -> object:
    return parse_rollback(text, environments=ENVIRONMENTS,
                          services_in={"staging": ("api",), "production": ("api",)},
                          version_patterns={"api": DEFAULT_VERSION_PATTERN})


def test_the_limit_is_the_column_of_128() -> None:
    assert MAX_VERSION == 128
    assert len(AT_THE_LIMIT) == MAX_VERSION


@pytest.mark.parametrize("version", [LONG_SUFFIX, LONG_NINES, AT_THE_LIMIT + "a"])
@pytest.mark.parametrize("form", ["staging {v}", "api staging {v}", "staging --version={v}",
                                  'staging {v} --emergency "checkout is down"'])
def test_a_deploy_of_a_version_longer_than_the_column_is_refused_with_the_limit(
        version: str, form: str) -> None:
    with pytest.raises(UsageError) as e:
        deploy(form.format(v=version))
    assert e.value.problem == (f"The version is {len(version)} characters long; the limit "
                               f"is {MAX_VERSION}.")


def test_a_version_at_the_limit_is_accepted() -> None:
    assert deploy(f"staging {AT_THE_LIMIT}") == DeployArgs("api", "staging", AT_THE_LIMIT)


@pytest.mark.parametrize("version", [LONG_SUFFIX, LONG_NINES])
@pytest.mark.parametrize("form", ["staging {v}", "staging api {v}", "staging --version={v}"])
def test_a_rollback_to_a_version_longer_than_the_column_is_refused_with_the_limit(
        version: str, form: str) -> None:
    with pytest.raises(RollbackUsageError) as e:
        rollback(form.format(v=version))
    assert e.value.problem == (f"The version is {len(version)} characters long; the limit "
                               f"is {MAX_VERSION}.")


def test_a_rollback_to_a_version_at_the_limit_is_accepted() -> None:
    assert rollback(f"staging {AT_THE_LIMIT}") == RollbackArgs("staging", "api", AT_THE_LIMIT)
