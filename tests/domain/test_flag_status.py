"""bot.domain.flag_status: the declared flags as flagd's definitions or an OFREP evaluation
hold them — missing, `expect` holding or not (on/off as a change reads them, DISABLED holding
none), and the reading kept as JSON unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.flag_status import (
    Declared,
    from_document,
    from_evaluations,
    from_json,
    to_json,
    unreadable,
)
from bot.domain.flags import Evaluation, FlagDocument
from tests.domain.test_flags import document

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def doc() -> FlagDocument:
    return FlagDocument.parse(document(), where="here")


def test_flags_that_exist_and_hold_their_expect_are_ok() -> None:
    r = from_document([Declared("new-checkout", "on"), Declared("simple", "yes"),
                       Declared("simple")], doc(), where="FeatureFlag x", at=AT)
    assert r.ok and r.missing == [] and r.wrong == []
    first = r.flags[0]
    assert (first.state, first.variant, first.value, first.targeting) == (
        "ENABLED", "on", "true", "targeting: 2 rules (if, $ref, ends_with)")
    assert r.values() == "`new-checkout` `on` (true), `simple` `yes` (true), `simple` `yes` (true)"


def test_a_missing_flag_and_a_wrong_expect_are_named() -> None:
    r = from_document([Declared("new-checkout", "off"), Declared("gone")], doc(),
                      where="x", at=AT)
    assert not r.ok and r.missing == ["gone"]
    assert [f.wrong for f in r.wrong] == ["serves `on`, expected `off`"]
    assert r.problems() == "`gone` missing; `new-checkout` serves `on`, expected `off`"


def test_on_and_off_are_read_as_a_change_reads_them_and_disabled_holds_nothing() -> None:
    r = from_document([Declared("simple", "on"), Declared("simple", "off"),
                       Declared("banner-color", "red"), Declared("banner-color", "on")],
                      doc(), where="x", at=AT)
    ok_on, wrong_off, disabled, not_boolean = r.flags
    assert ok_on.ok
    assert wrong_off.wrong == "serves `yes`, expected `off`"
    assert disabled.wrong == ("is DISABLED (applications get their code default), expected "
                              "`red`")
    assert not_boolean.wrong is not None and not_boolean.wrong.startswith(
        "cannot serve the expected `on`: Flag `banner-color` cannot be turned on")
    assert disabled.served == "DISABLED (the applications' code default)"


def test_ofrep_evaluations_hold_by_variant_or_by_boolean_value() -> None:
    r = from_evaluations(
        [Declared("a", "on"), Declared("b", "blue"), Declared("c", "off"), Declared("d"),
         Declared("e")],
        {"a": Evaluation("a", value=True, reason="STATIC"),
         "b": Evaluation("b", value="#00f", variant="blue"),
         "c": Evaluation("c", value=True, variant="enabled"),
         "d": None,
         "e": Evaluation("e", error_code="TARGETING_KEY_MISSING", error_details="needed")},
        where="the flag service at http://f", at=AT)
    a, b, c, d, e = r.flags
    assert a.ok and b.ok and a.served == "true"
    assert c.wrong == "serves `enabled`, expected `off`"
    assert not d.found and r.missing == ["d"]
    assert e.error == "TARGETING_KEY_MISSING: needed" and not e.ok
    assert r.source == "ofrep"


def test_a_reading_is_kept_as_json_unchanged() -> None:
    r = from_document([Declared("new-checkout", "off"), Declared("gone")], doc(), where="x",
                      at=AT)
    assert from_json(to_json(r)) == r
    bad = unreadable("flagd", "FeatureFlag x", at=AT, problem="403")
    assert from_json(to_json(bad)) == bad
    assert bad.problems() == "could not be read: 403" and not bad.ok

