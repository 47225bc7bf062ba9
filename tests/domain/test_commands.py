"""The `/deploy` text parser: every accepted form, and each bad input with its own message."""

from __future__ import annotations

import re

import pytest

from bot.config import DEFAULT_VERSION_PATTERN
from bot.domain.commands import (
    MAX_TEXT,
    USAGE,
    DeployArgs,
    HelpArgs,
    StatusArgs,
    UsageError,
    parse_deploy,
)
from bot.errors import UserError

ENVIRONMENTS = ("development", "staging", "production")
ONE_SERVICE = ("api",)
TWO_SERVICES = ("api", "web")


def parse(text: str, services: tuple[str, ...] = ONE_SERVICE):
    return parse_deploy(
        text,
        environments=ENVIRONMENTS,
        services=services,
        version_patterns={s: DEFAULT_VERSION_PATTERN for s in services},
    )


@pytest.mark.parametrize(
    ("text", "services", "expected"),
    [
        ("production v1.2.3", ONE_SERVICE, DeployArgs("api", "production", "v1.2.3")),
        ("api production v1.2.3", ONE_SERVICE, DeployArgs("api", "production", "v1.2.3")),
        ("production --version=v1.2.3", ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.3")),
        ("api staging --version=v2.0.0", ONE_SERVICE, DeployArgs("api", "staging", "v2.0.0")),
        ("  production   v1.2.3  ", ONE_SERVICE, DeployArgs("api", "production", "v1.2.3")),
        ("staging 1.2.3-rc.1", ONE_SERVICE, DeployArgs("api", "staging", "1.2.3-rc.1")),
        ("web production v1.2.3", TWO_SERVICES, DeployArgs("web", "production", "v1.2.3")),
        ("api development v0.0.1", TWO_SERVICES, DeployArgs("api", "development", "v0.0.1")),
        ("help", ONE_SERVICE, HelpArgs()),
        ("  help ", TWO_SERVICES, HelpArgs()),
        ("status", ONE_SERVICE, StatusArgs()),
        ("status", TWO_SERVICES, StatusArgs()),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_accepted_forms(text: str, services: tuple[str, ...], expected: object) -> None:
    assert parse(text, services) == expected


@pytest.mark.parametrize(
    ("text", "services", "problem"),
    [
        ("", ONE_SERVICE, "Tell me what to deploy."),
        ("   \t ", ONE_SERVICE, "Tell me what to deploy."),
        ("prod v1.2.3", ONE_SERVICE,
         "Unknown environment `prod`. Known environments: `development`, `production`, "
         "`staging`."),
        ("web production v1.2.3", ONE_SERVICE, "Unknown service `web`. Known services: `api`."),
        ("db production v1.2.3", TWO_SERVICES,
         "Unknown service `db`. Known services: `api`, `web`."),
        ("api prod v1.2.3", TWO_SERVICES,
         "Unknown environment `prod`. Known environments: `development`, `production`, "
         "`staging`."),
        ("production v1.2.3", TWO_SERVICES,
         "Which service? Name one of `api`, `web` before the environment."),
        ("production v1.2.3 now", ONE_SERVICE, "Too many words: `now` was not expected."),
        ("api production v1.2.3 extra", ONE_SERVICE,
         "Too many words: `extra` was not expected."),
        ("production --version=v1.2.3 --version=v1.2.4", ONE_SERVICE,
         "The version is given twice."),
        ("production", ONE_SERVICE, "Which version? e.g. `/deploy production v1.2.3`."),
        ("api production", ONE_SERVICE, "Which version? e.g. `/deploy production v1.2.3`."),
        ("--version=v1.2.3", ONE_SERVICE,
         "Which environment? e.g. `/deploy production v1.2.3`."),
        ("production --force v1.2.3", ONE_SERVICE, "Unknown option `--force`."),
        ("production v1.2.3 -f", ONE_SERVICE, "Unknown option `-f`."),
    ],
)
def test_bad_input_has_a_specific_message(
    text: str, services: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse(text, services)
    assert info.value.problem == problem
    # the full message is the problem followed by the usage
    assert info.value.message.endswith(USAGE)
    assert isinstance(info.value, UserError)


@pytest.mark.parametrize("version", ["1.2", "v1", "latest", "v1.2.3.4", "V1.2.3"])
def test_malformed_version_names_the_pattern(version: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(f"production {version}")
    problem = info.value.problem
    assert f"`{version}` is not a valid version for `api`" in problem
    assert f"`{DEFAULT_VERSION_PATTERN}`" in problem


def test_version_pattern_is_per_service() -> None:
    patterns = {"api": DEFAULT_VERSION_PATTERN, "web": r"^\d{8}$"}
    args = parse_deploy("web production 20261118", environments=ENVIRONMENTS,
                        services=TWO_SERVICES, version_patterns=patterns)
    assert args == DeployArgs("web", "production", "20261118")
    with pytest.raises(UsageError, match=re.escape(r"`^\d{8}$`")):
        parse_deploy("web production v1.2.3", environments=ENVIRONMENTS,
                     services=TWO_SERVICES, version_patterns=patterns)


@pytest.mark.parametrize(
    ("text", "shown_as"),
    [
        ("production v1.2.3; rm -rf /", "`v1.2.3;`"),
        ("production `v1.2.3`", "`'v1.2.3'`"),
        ("production $(reboot)", "`$(reboot)`"),
        ("<!channel> v1.2.3", "`&lt;!channel&gt;`"),
        ("production <!channel>", "`&lt;!channel&gt;`"),
        ("production <@U0ALICE>", "`&lt;@U0ALICE&gt;`"),
        ("production *bold*", "`*bold*`"),
    ],
)
def test_unsafe_words_are_refused_and_echoed_harmlessly(text: str, shown_as: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.problem == (
        f"{shown_as} is not a name or a version: only letters, digits and `. _ + -` "
        "are allowed."
    )
    message = info.value.message
    assert "<!channel>" not in message
    assert "<!" not in message and "<@" not in message
    # the echoed input sits in a code span with no backtick of its own inside
    assert shown_as.count("`") == 2


def test_ten_kilobytes_are_refused_without_echoing_them() -> None:
    text = "production v1.2.3 " + "x" * 10 * 1024
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.problem == (
        f"That command is {len(text)} characters long; the limit is {MAX_TEXT}."
    )
    assert "xxxxxxxxxx" not in info.value.message
    assert len(info.value.message) < 1000


def test_text_at_the_limit_is_parsed_not_refused_for_length() -> None:
    text = "production v1.2.3".ljust(MAX_TEXT)
    assert len(text) == MAX_TEXT
    assert parse(text) == DeployArgs("api", "production", "v1.2.3")
