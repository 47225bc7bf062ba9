"""bot.domain.checklist with the declared flags read (issue 17): "Feature flags configured"
✅ when every declared flag is as expected, ❌ naming what is missing or wrong, ⏳ when they
could not be read; never tickable then. Without a reading the item stays manual."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.checklist import (
    FEATURE_FLAGS,
    ITEMS,
    Mark,
    Tick,
    evaluate,
    rules_for,
    unevaluated,
    with_flags,
)
from bot.domain.checklist_facts import Facts
from bot.domain.flag_status import Declared, from_document, unreadable
from bot.domain.flags import FlagDocument
from tests.domain.test_flags import document

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
RULES = rules_for(items=ITEMS, required_in={}, environment="production", production=True,
                  required_checks=(), migration_paths=())


def item(facts: Facts, ticks: list[Tick] | None = None) -> tuple[Mark, str, bool]:
    state = evaluate(RULES, facts, ticks or []).get(FEATURE_FLAGS)
    assert state is not None
    return state.mark, state.detail, state.tickable


def test_flags_as_expected_are_ok_and_not_tickable() -> None:
    r = from_document([Declared("simple", "on")], FlagDocument.parse(document(), where="x"),
                      where="FeatureFlag x", at=AT)
    assert item(Facts(flags=r)) == (
        Mark.OK, "as declared in FeatureFlag x: `simple` `yes` (true)", False)


def test_missing_or_wrong_flags_fail_and_a_tick_does_not_make_them_green() -> None:
    r = from_document([Declared("gone"), Declared("simple", "off")],
                      FlagDocument.parse(document(), where="x"), where="x", at=AT)
    ticked = [Tick(FEATURE_FLAGS, by="U1", at=AT)]
    assert item(Facts(flags=r), ticked) == (
        Mark.FAILED, "`gone` missing; `simple` serves `yes`, expected `off`", False)


def test_unreadable_flags_are_pending_with_why() -> None:
    r = unreadable("flagd", "x", at=AT, problem="not allowed to get featureflags")
    assert item(Facts(flags=r))[:2] == (
        Mark.PENDING, "could not be checked: not allowed to get featureflags")


def test_without_a_reading_the_item_stays_manual() -> None:
    assert item(Facts()) == (Mark.PENDING, "tick it, or mark it not applicable with a reason",
                             True)


def test_an_unevaluated_checklist_gets_the_flags_item_only() -> None:
    r = from_document([Declared("gone")], FlagDocument.parse(document(), where="x"),
                      where="x", at=AT)
    checklist = with_flags(unevaluated(ITEMS, "no GitHub repository configured for web"), r)
    marks = {i.item: i.mark for i in checklist.items}
    assert marks.pop(FEATURE_FLAGS) is Mark.FAILED
    assert set(marks.values()) == {Mark.NOT_CHECKED}
    assert with_flags(checklist, None) is checklist
