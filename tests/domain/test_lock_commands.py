"""The `/lock` and `/unlock` text parsers: every accepted form, and each bad input with its
own message (followed by the usage); the lock values' rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.deployment import Kind
from bot.domain.lock_commands import (
    MAX_REASON,
    MAX_TEXT,
    USAGE,
    LockArgs,
    LockHelpArgs,
    LockListArgs,
    LockUsageError,
    UnlockArgs,
    duration_text,
    parse_lock,
    parse_unlock,
)
from bot.domain.locks import Lock
from bot.errors import UserError

ENVIRONMENTS = ("development", "staging", "production")
# api deploys everywhere; web only to production
SERVICES = {"api": ENVIRONMENTS, "web": ("production",)}
WEEK = timedelta(days=7)


def lock(text: str, max_duration: timedelta = WEEK):  # type: ignore[no-untyped-def]
    return parse_lock(text, environments=ENVIRONMENTS, services=SERVICES,
                      max_duration=max_duration)


def unlock(text: str):  # type: ignore[no-untyped-def]
    return parse_unlock(text, environments=ENVIRONMENTS, services=SERVICES)


def problem(text: str, *, command: str = "lock") -> str:
    with pytest.raises(LockUsageError) as e:
        (lock if command == "lock" else unlock)(text)
    assert isinstance(e.value, UserError)
    assert e.value.message == f"{e.value.problem}\n\n{USAGE}"
    return e.value.problem


REASON = "investigating checkout errors"
FORMS = "`for 30m`, `for 2h`, `for 2 hours` or `for 1 day` (or `for 1h30m`)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", LockListArgs()),
        ("  ", LockListArgs()),
        ("list", LockListArgs()),
        ("help", LockHelpArgs()),
        (f'production api "{REASON}"', LockArgs("production", "api", REASON)),
        (f'production api "{REASON}" for 2h',
         LockArgs("production", "api", REASON, timedelta(hours=2))),
        (f'production api "{REASON}" for 30m',
         LockArgs("production", "api", REASON, timedelta(minutes=30))),
        (f'production api "{REASON}" for 1d',
         LockArgs("production", "api", REASON, timedelta(days=1))),
        (f'production api "{REASON}" FOR 1h30m',
         LockArgs("production", "api", REASON, timedelta(minutes=90))),
        (f'production api "{REASON}" for 7d', LockArgs("production", "api", REASON, WEEK)),
        # the service may be left out where only one deploys; or come first
        (f'staging "{REASON}"', LockArgs("staging", "api", REASON)),
        (f'api production "{REASON}"', LockArgs("production", "api", REASON)),
        # curly quotes (Slack on a Mac), spaces squeezed
        ("production web “db  failover\u00a0drill” for 45m",
         LockArgs("production", "web", "db failover drill", timedelta(minutes=45))),
        ('production api "a reason with \'quotes\' and <!channel>"',
         LockArgs("production", "api", "a reason with 'quotes' and <!channel>")),
        ('production api"no space"for 2h',
         LockArgs("production", "api", "no space", timedelta(hours=2))),
        # durations in words, as people write them (`/lock production api "x" for 2 hours`)
        (f'production api "{REASON}" for 2 hours',
         LockArgs("production", "api", REASON, timedelta(hours=2))),
        (f'production api "{REASON}" for 30 minutes',
         LockArgs("production", "api", REASON, timedelta(minutes=30))),
        (f'production api "{REASON}" for 1 day',
         LockArgs("production", "api", REASON, timedelta(days=1))),
        (f'production api "{REASON}" for an hour',
         LockArgs("production", "api", REASON, timedelta(hours=1))),
        (f'production api "{REASON}" for 1 hour and 30 minutes',
         LockArgs("production", "api", REASON, timedelta(minutes=90))),
        (f'production api "{REASON}" for 1h 30m',
         LockArgs("production", "api", REASON, timedelta(minutes=90))),
        (f'production api "{REASON}" for 90 mins',
         LockArgs("production", "api", REASON, timedelta(minutes=90))),
        (f'production api "{REASON}" for 2 hrs',
         LockArgs("production", "api", REASON, timedelta(hours=2))),
        (f'production api "{REASON}" for 2 Days',
         LockArgs("production", "api", REASON, timedelta(days=2))),
    ],
)
def test_lock_accepted_forms(text: str, expected: object) -> None:
    assert lock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("production api", UnlockArgs("production", "api")),
        ("  production   web ", UnlockArgs("production", "web")),
        ("staging", UnlockArgs("staging", "api")),
        ("api production", UnlockArgs("production", "api")),
        ("help", LockHelpArgs()),
    ],
)
def test_unlock_accepted_forms(text: str, expected: object) -> None:
    assert unlock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unknown names
        ('prod api "x"', "Unknown environment `prod`. Known environments: `development`, "
                         "`production`, `staging`."),
        ('production apj "x"', "Unknown service `apj`. Known services: `api`, `web`."),
        ('staging web "x"', "`web` is not deployed to `staging` (it deploys to "
                            "`production`)."),
        ('api "x"', "`api` is a service: which environment? e.g. `/lock production api "
                    '"investigating checkout errors"`. Known environments: `development`, '
                    "`production`, `staging`."),
        ('production "x"', "Which service? Name one of `api`, `web` after the environment, "
                           'e.g. `/lock production api "investigating checkout errors"`.'),
        ('"x"', 'Which environment? e.g. `/lock production api "investigating checkout '
                'errors"`.'),
        ('produc<tion api "x"', "`produc&lt;tion` is not a name: only letters, digits and "
                                "`. _ + -` are allowed."),
        # the reason
        ("production api", 'Why lock it? Give a reason in quotes: `/lock production api '
                           '"investigating checkout errors"`.'),
        ("production api for 2h", 'Why lock it? Give a reason in quotes: `/lock production '
                                  'api "investigating checkout errors"`.'),
        ("production api checkout is broken", "Put the reason in quotes: `/lock production "
                                              'api "checkout is broken"`.'),
        ('production api "checkout is broken', "The reason has no closing quote: e.g. "
                                               '`/lock production api "investigating '
                                               'checkout errors"`.'),
        ('production api ""', "The reason is empty: say why, e.g. `/lock production api "
                              '"investigating checkout errors"`.'),
        ('production api "   "', "The reason is empty: say why, e.g. `/lock production api "
                                 '"investigating checkout errors"`.'),
        ('production api "' + "x" * (MAX_REASON + 1) + '"',
         f"The reason is {MAX_REASON + 1} characters long; the limit is {MAX_REASON}."),
        ('production api "one" "two"', "Give one reason, in one pair of quotes."),
        # too many words
        ('production api extra "x"', "Too many words: `extra` was not expected (give the "
                                     "environment and the service, e.g. `/lock production "
                                     'api "investigating checkout errors"`).'),
        ('production api "x" for 2h please', "Too many words: `please` was not expected "
                                             "after the duration."),
        ("list production", "`/lock list` takes nothing after it."),
        ("help me", "`/lock help` takes nothing after it."),
        # the duration
        ('production api "x" for 2x', f"`2x` is not a duration: use {FORMS}."),
        ('production api "x" for two hours', f"`two hours` is not a duration: use {FORMS}."),
        ('production api "x" for 2 fortnights', "`2 fortnights` is not a duration: use "
                                                f"{FORMS}."),
        ('production api "x" for', f"For how long? e.g. {FORMS}."),
        ('production api "x" for 0m', f"`0m` is no time at all: use {FORMS}."),
        ('production api "x" for 0 hours', f"`0 hours` is no time at all: use {FORMS}."),
        ('production api "x" for -2h', f"`-2h` is not a duration: use {FORMS}."),
        ('production api "x" for 8 days', "`8 days` is longer than a lock may last (7d). "
                                          "Leave the duration out to hold the lock until "
                                          "someone unlocks it."),
        ('production api "x" until 15:00', "A lock lasts for a while, not until a time: "
                                           f"say how long, {FORMS}; leave it out to hold "
                                           "the lock until someone unlocks it."),
        ('production api "x" for 8d', "`8d` is longer than a lock may last (7d). Leave the "
                                      "duration out to hold the lock until someone unlocks "
                                      "it."),
        ('production api "x" for 99999999999h', "`99999999999h` is not a duration: use "
                                                f"{FORMS}."),
        ('production api "x" 2h', "Unexpected `2h` after the reason. A lock's duration is "
                                  f"written {FORMS}; leave it out to hold the lock until "
                                  "someone unlocks it."),
        ("x" * (MAX_TEXT + 1), f"That command is {MAX_TEXT + 1} characters long; the limit "
                               f"is {MAX_TEXT}."),
    ],
)
def test_lock_bad_input_gets_its_own_message(text: str, expected: str) -> None:
    assert problem(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Which environment? e.g. `/unlock production api`."),
        ("production", "Which service? Name one of `api`, `web` after the environment, e.g. "
                       "`/unlock production api`."),
        ("prod", "Unknown environment `prod`. Known environments: `development`, "
                 "`production`, `staging`."),
        ("production apj", "Unknown service `apj`. Known services: `api`, `web`."),
        ("staging web", "`web` is not deployed to `staging` (it deploys to `production`)."),
        ("production api now", "Too many words: `now` was not expected (give the environment "
                               "and the service, e.g. `/unlock production api`)."),
        ('production api "done"', "`/unlock` takes no reason: just the environment and the "
                                  "service, e.g. `/unlock production api`."),
    ],
)
def test_unlock_bad_input_gets_its_own_message(text: str, expected: str) -> None:
    assert problem(text, command="unlock") == expected


def test_the_longest_lock_is_configurable() -> None:
    assert lock('production api "x" for 3h', max_duration=timedelta(hours=4)).duration \
        == timedelta(hours=3)
    with pytest.raises(LockUsageError, match=r"longer than a lock may last \(4h\)"):
        lock('production api "x" for 5h', max_duration=timedelta(hours=4))


def test_usage_names_every_form_and_who_may() -> None:
    for form in ("/lock &lt;environment&gt; [service] \\\"reason\\\"", "for 2h", "/lock list",
                 "/unlock &lt;environment&gt; [service]", "/lock help"):
        assert form.replace("\\", "") in USAGE
    assert "deployers" in USAGE and "approvers" in USAGE


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(minutes=30), "30m"), (timedelta(hours=2), "2h"), (timedelta(days=1), "1d"),
    (timedelta(minutes=90), "1h30m"), (timedelta(days=2, hours=4), "2d4h"),
    (timedelta(0), "0m"),
])
def test_duration_text(delta: timedelta, text: str) -> None:
    assert duration_text(delta) == text


T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


def test_a_lock_blocks_everyone_but_its_holder_and_never_a_rollback() -> None:
    held = Lock(id=1, environment="production", service="api", holder="U0BOB", reason="x",
                origin="manual", created_at=T0, expires_at=T0 + timedelta(hours=2))
    assert held.blocks("U0ALICE")
    assert held.blocks("U0ALICE", kind=Kind.MIGRATE)
    assert not held.blocks("U0BOB")
    assert not held.blocks("U0ALICE", kind=Kind.ROLLBACK)
    assert held.held_at(T0 + timedelta(minutes=119)) and not held.held_at(T0 + timedelta(hours=2))
    assert held.age(T0 + timedelta(minutes=25)) == timedelta(minutes=25)
    assert held.age(T0 - timedelta(minutes=1)) == timedelta(0)
