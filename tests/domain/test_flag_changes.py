"""Parsing `/flag` and the rules a flag change follows (bot.domain.flag_changes)."""

from __future__ import annotations

import pytest

from bot.domain.deployment import Kind
from bot.domain.flag_changes import (
    FlagArgs,
    FlagHelpArgs,
    FlagUsageError,
    acts_as,
    flag_request_text,
    parse_flag,
)

ENVS = ("production", "staging")


def parse(text: str) -> object:
    return parse_flag(text, environments=ENVS)


def test_the_forms_it_takes() -> None:
    assert parse("production new-checkout off") == FlagArgs("production", "new-checkout",
                                                             "off")
    assert parse('staging banner green "brand refresh"') == FlagArgs(
        "staging", "banner", "green", "brand refresh")
    assert parse("staging banner green “curly quotes”") == FlagArgs(
        "staging", "banner", "green", "curly quotes")
    assert parse("help") == FlagHelpArgs()
    assert parse("production new-checkout off").turns_off  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "problem"), [
    ("", "Which flag? Give the environment, the flag and on, off or a variant."),
    ("moon x off", "Unknown environment `moon`. Known environments: `production`, "
                   "`staging`."),
    ("staging", "Which flag in staging? e.g. `/flag staging new-checkout off`."),
    ("staging x", "Turn `x` to what? Give `on`, `off` or one of its variants: "
                  "`/flag staging x off`."),
    ("staging x off now please", 'Put the reason in quotes: `/flag staging x off "…"`.'),
    ('staging x off "no end', 'The reason has no closing quote: `"reason"` at the end.'),
    ("staging x <!here>", "`&lt;!here&gt;` is not `on`, `off` or a variant's name."),
    ('staging x off "' + "r" * 301 + '"', "The reason is too long (at most 300 "
                                          "characters)."),
])
def test_bad_text_names_the_problem_then_shows_the_usage(text: str, problem: str) -> None:
    with pytest.raises(FlagUsageError) as e:
        parse(text)
    assert e.value.problem == problem
    assert "*Usage*" in str(e.value)


def test_off_follows_the_rollback_rule_and_on_or_a_variant_the_deploy_rule() -> None:
    assert acts_as(Kind.FLAG, "off") is Kind.ROLLBACK
    assert acts_as(Kind.FLAG, "on") is Kind.DEPLOY
    assert acts_as(Kind.FLAG, "green") is Kind.DEPLOY
    assert acts_as(Kind.MIGRATE, None) is Kind.MIGRATE


def test_the_request_as_a_command() -> None:
    assert flag_request_text(FlagArgs("staging", "x", "off", "why not")) == \
        '/flag staging x off "why not"'
