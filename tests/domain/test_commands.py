"""The `/deploy` text parser: every accepted form, and each bad input with its own message."""

from __future__ import annotations

import re

import pytest

from bot.config import DEFAULT_VERSION_PATTERN
from bot.domain.commands import (
    MAX_REASON,
    MAX_TEXT,
    USAGE,
    CancelArgs,
    DeployArgs,
    FormArgs,
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
        ("", ONE_SERVICE, FormArgs()),  # no text: the form (a modal) opens
        ("   \t ", TWO_SERVICES, FormArgs()),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_accepted_forms(text: str, services: tuple[str, ...], expected: object) -> None:
    assert parse(text, services) == expected


@pytest.mark.parametrize(
    ("text", "services", "problem"),
    [
        ("prod v1.2.3", ONE_SERVICE,
         "Unknown environment `prod`. Did you mean `production`? Known environments: "
         "`development`, `production`, `staging`."),
        ("web production v1.2.3", ONE_SERVICE, "Unknown service `web`. Known services: `api`."),
        ("db production v1.2.3", TWO_SERVICES,
         "Unknown service `db`. Known services: `api`, `web`."),
        ("api prod v1.2.3", TWO_SERVICES,
         "Unknown environment `prod`. Did you mean `production`? Known environments: "
         "`development`, `production`, `staging`."),
        ("Staging v1.2.3", ONE_SERVICE,
         "Unknown environment `Staging`. Did you mean `staging`? Known environments: "
         "`development`, `production`, `staging`."),
        ("wbe staging v1.2.3", TWO_SERVICES,
         "Unknown service `wbe`. Did you mean `web`? Known services: `api`, `web`."),
        ("qa v1.2.3", ONE_SERVICE,
         "Unknown environment `qa`. Known environments: `development`, `production`, "
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
        ("production --force v1.2.3", ONE_SERVICE,
         'Put the force reason in quotes: `--force "v1.2.3 …"`.'),
        ("production v1.2.3 --force", ONE_SERVICE,
         'Deploying a version marked faulty needs a reason: `--force "fixed by the config '
         'change in INC-123"`.'),
        ('production v1.2.3 --force "a" --force "b"', ONE_SERVICE, "`--force` is given twice."),
        ('production v1.2.3 --force "unclosed', ONE_SERVICE,
         'The force reason has no closing quote: `--force "reason"`.'),
        ("production v1.2.3 -f", ONE_SERVICE, "Unknown option `-f`."),
        # The version before the environment: the command meant, not "Which version?".
        ("v1.2.3 staging", ONE_SERVICE, "The environment comes before the version. Did you "
         "mean `/deploy api staging v1.2.3`?"),
        ("web v1.2.3 staging", TWO_SERVICES, "The environment comes before the version. "
         "Did you mean `/deploy web staging v1.2.3`?"),
        ('v1.2.3 production --emergency "db down"', ONE_SERVICE, "The environment comes "
         'before the version. Did you mean `/deploy api production v1.2.3 --emergency "db '
         'down"`?'),
        ("v1.2.3 staging", TWO_SERVICES, "The environment comes before the version, and the "
         "service before both: e.g. `/deploy api staging v1.2.3`."),
        # Single quotes, and `--version` with a space: how to write them.
        ("production v1.2.3 --emergency 'checkout down'", ONE_SERVICE,
         'Put the emergency reason in double quotes: `--emergency "checkout down"`.'),
        ("production v1.2.3 --force 'fixed'", ONE_SERVICE,
         'Put the force reason in double quotes: `--force "fixed"`.'),
        ("production --version v1.2.3", ONE_SERVICE,
         "Write the version with `=`: `--version=v1.2.3`."),
        # `/deploy status` shows every environment: nothing after it.
        ("status production", ONE_SERVICE, "`/deploy status` takes nothing after it: it "
         "shows every environment and service (`production` was not expected)."),
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


@pytest.mark.parametrize(("version", "meant"), [
    ("v01.2.3", "v1.2.3"), ("1.02.3", "1.2.3"), ("v1.2.03", "v1.2.3"),
    ("v1.2.3-rc.01", "v1.2.3-rc.1")])
def test_a_leading_zero_is_refused_naming_the_version_meant(version: str, meant: str) -> None:
    """`v01.2.3` and `v1.2.3` would be two versions that compare as one (semver.org §2
    forbids the leading zero): refused, naming the canonical spelling."""
    with pytest.raises(UsageError) as info:
        parse(f"production {version}")
    assert info.value.problem == (
        f"`{version}` writes a number with a leading zero, which a semantic version does "
        f"not (semver.org §2): did you mean `{meant}`? Both would name one version.")


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


# -- `--emergency "reason"` -------------------------------------------------------------------

INCIDENT = "checkout down <https://status.example.com/inc/42|INC-42>"


@pytest.mark.parametrize(
    ("text", "services", "expected"),
    [
        (f'production v1.2.4 --emergency "{INCIDENT}"', ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", INCIDENT)),
        # anywhere in the command, with or without the service, with --version=
        (f'--emergency "{INCIDENT}" production v1.2.4', ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", INCIDENT)),
        ('production --emergency "db down" v1.2.4', ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", "db down")),
        ('web production --version=v1.2.4 --emergency "db down"', TWO_SERVICES,
         DeployArgs("web", "production", "v1.2.4", "db down")),
        # curly quotes (as typed on a phone or pasted from a document)
        ("production v1.2.4 --emergency “checkout is down”", ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", "checkout is down")),
        # one word needs no quotes
        ("production v1.2.4 --emergency INC-42", ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", "INC-42")),
        ("production v1.2.4 --emergency=INC-42", ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", "INC-42")),
        # surrounding blanks are trimmed; what the reason says is kept as written
        ('production v1.2.4 --emergency "  <!channel> db down  "', ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", "<!channel> db down")),
        ('production v1.2.4 --emergency "uses --version=v9 and -f"', ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", "uses --version=v9 and -f")),
        (f'production v1.2.4 --emergency "{"x" * MAX_REASON}"', ONE_SERVICE,
         DeployArgs("api", "production", "v1.2.4", "x" * MAX_REASON)),
    ],
    ids=lambda v: v[:60] if isinstance(v, str) else None,
)
def test_emergency_forms(text: str, services: tuple[str, ...], expected: DeployArgs) -> None:
    got = parse(text, services)
    assert got == expected
    assert isinstance(got, DeployArgs) and got.emergency_reason == expected.emergency_reason


def test_a_deploy_without_the_flag_is_not_an_emergency() -> None:
    got = parse("production v1.2.4")
    assert isinstance(got, DeployArgs) and got.emergency_reason is None


NEEDS_A_REASON = ('An emergency deploy needs a reason: `--emergency "checkout is down, '
                  'INC-123"` (an incident link is fine).')


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("production v1.2.4 --emergency", NEEDS_A_REASON),
        ("production v1.2.4 --emergency   ", NEEDS_A_REASON),
        ('production v1.2.4 --emergency ""', NEEDS_A_REASON),
        ('production v1.2.4 --emergency "   "', NEEDS_A_REASON),
        ("production v1.2.4 --emergency “”", NEEDS_A_REASON),
        ("production v1.2.4 --emergency=", NEEDS_A_REASON),
        ("--emergency production v1.2.4",
         'Put the emergency reason in quotes: `--emergency "production …"`.'),
        ("production v1.2.4 --emergency checkout down",
         'Put the emergency reason in quotes: `--emergency "checkout …"`.'),
        ('production v1.2.4 --emergency "checkout is down',
         'The emergency reason has no closing quote: `--emergency "reason"`.'),
        ("production v1.2.4 --emergency “checkout is down",
         'The emergency reason has no closing quote: `--emergency "reason"`.'),
        ('production v1.2.4 --emergency "a" --emergency "b"', "`--emergency` is given twice."),
        ('production v1.2.4 --emergency"db down"',
         'Put the emergency reason in quotes: `--emergency "reason"`.'),
        ('production v1.2.4 --emergencies "a"', "Unknown option `--emergencies`."),
        (f'production v1.2.4 --emergency "{"x" * (MAX_REASON + 1)}"',
         f"The emergency reason is {MAX_REASON + 1} characters long; the limit is "
         f"{MAX_REASON}."),
        ('--emergency "db down"', "Tell me what to deploy."),
        ('production --emergency "db down"', "Which version? e.g. `/deploy production v1.2.3`."),
        ('production v1.2 --emergency "db down"',
         f"`v1.2` is not a valid version for `api` (expected a match of "
         f"`{DEFAULT_VERSION_PATTERN}`, e.g. `v1.2.3`)."),
    ],
)
def test_bad_emergency_input_has_a_specific_message(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.problem == problem
    assert info.value.message.endswith(USAGE)


def test_the_usage_shows_the_emergency_lane_and_cancel() -> None:
    assert '`/deploy &lt;environment&gt; &lt;version&gt; --emergency "reason or incident link"`' \
        in USAGE
    assert "`/deploy cancel &lt;id&gt;`" in USAGE


# -- `/deploy cancel <id>` ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cancel 42", CancelArgs(42)),
        ("cancel #42", CancelArgs(42)),
        ("  cancel   7  ", CancelArgs(7)),
        ("cancel 007", CancelArgs(7)),
        ("cancel 0", CancelArgs(0)),  # parsed; the service says no such deployment
        ("cancel 999999999999999999", CancelArgs(999_999_999_999_999_999)),
    ],
)
def test_cancel_forms(text: str, expected: CancelArgs) -> None:
    assert parse(text) == expected
    assert parse(text, TWO_SERVICES) == expected  # no service name needed


@pytest.mark.parametrize(
    "text",
    [
        "cancel",
        "cancel next",
        "cancel 42 43",
        "cancel 42 now",
        "cancel -1",
        "cancel 4.2",
        "cancel #",
        "cancel ##42",
        "cancel \uff14\uff12",  # fullwidth digits
        "cancel 1234567890123456789",  # more than a database id holds
        "cancel 99999999999999999999999999999999",
        'cancel 42 --emergency "x"',
    ],
)
def test_bad_cancel_input_asks_which_deployment(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.problem == "Which deployment? e.g. `/deploy cancel 42`."
    assert info.value.message.endswith(USAGE)


def test_cancel_is_a_word_only_in_first_place() -> None:
    # `cancel` elsewhere is not the subcommand: here it is read as a (bad) version.
    with pytest.raises(UsageError) as info:
        parse("production cancel")
    assert info.value.problem.startswith("`cancel` is not a valid version for `api`")


@pytest.mark.parametrize(("text", "reason"), [
    ('production v1.2.3 --force "fixed by the config change, INC-9"',
     "fixed by the config change, INC-9"),
    ("production --force=hotfix-verified v1.2.3", "hotfix-verified"),
    ("production v1.2.3 --force “curly quotes”", "curly quotes"),
])
def test_force_takes_a_reason(text: str, reason: str) -> None:
    assert parse(text) == DeployArgs(service="api", environment="production", version="v1.2.3",
                              force_reason=reason)
