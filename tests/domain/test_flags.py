"""bot.domain.flags: flagd's flag definitions read tolerantly, shown, and changed — on/off
of a boolean flag as its true/false default variant (ENABLED), a named variant, specific
errors for an unknown flag or variant, and every field deploybot does not change written
back as it was read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.flags import (
    FlagChange,
    FlagDocument,
    InvalidFlagDocument,
    NotBoolean,
    UnknownFlag,
    UnknownVariant,
)

WHERE = 'FeatureFlag "app-flags" in namespace "production"'


def document() -> dict[str, Any]:
    return {
        "$schema": "https://flagd.dev/schema/v0/flags.json",
        "metadata": {"flagSetId": "checkout", "version": "7"},
        "flags": {
            "new-checkout": {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "on",
                "targeting": {"if": [{"$ref": "beta"}, "on",
                                     {"ends_with": [{"var": "email"}, "@acme.test"]}, "off",
                                     None]},
                "metadata": {"owner": "payments", "ticket": "PAY-12"},
            },
            "banner-color": {
                "state": "DISABLED",
                "variants": {"red": "#c05543", "green": "#2f5230", "blue": "#0d507b"},
                "defaultVariant": "red",
            },
            "simple": {"state": "ENABLED", "variants": {"yes": True, "no": False},
                       "defaultVariant": "yes"},
        },
        "$evaluators": {"beta": {"in": [{"var": "plan"}, ["beta", "internal"]]}},
    }


def doc() -> FlagDocument:
    return FlagDocument.parse(document(), where=WHERE)


def test_views_show_state_default_variants_and_a_targeting_summary() -> None:
    views = {v.name: v for v in doc().views()}
    checkout = views["new-checkout"]
    assert (checkout.state, checkout.default_variant, checkout.default_value) == (
        "ENABLED", "on", "true")
    assert checkout.variants == (("on", "true"), ("off", "false"))
    assert checkout.targeting == "targeting: 2 rules (if, $ref, ends_with)"
    banner = views["banner-color"]
    assert not banner.enabled and banner.default_value == '"#c05543"'
    assert banner.targeting is None
    assert views["simple"].targeting is None


def test_off_is_the_false_variant_as_default_kept_enabled_and_nothing_else_moves() -> None:
    changed = FlagChange("new-checkout", "off").apply(doc(), where=WHERE)
    assert changed.changed
    assert (changed.before.default_variant, changed.after.default_variant) == ("on", "off")
    assert changed.after.state == "ENABLED"
    written = json.loads(changed.document.to_json())
    expected = document()
    expected["flags"]["new-checkout"]["defaultVariant"] = "off"
    assert written == expected  # targeting, metadata, $evaluators, $schema kept


def test_off_says_the_targeting_still_serves_on_to_the_contexts_it_matches() -> None:
    changed = FlagChange("new-checkout", "off").apply(doc(), where=WHERE)
    assert changed.caveats == (
        "its targeting (2 rules (if, $ref, ends_with)) still decides for the contexts it "
        "matches and can serve `on`; `off` is the default for everyone else",)
    # the targeting names both variants: turned on, it can still serve `off`
    on = FlagChange("new-checkout", "on").apply(changed.document, where=WHERE)
    assert on.after.default_variant == "on" and "can serve `off`" in on.caveats[0]


def test_on_and_off_of_a_boolean_flag_whose_variants_have_other_names() -> None:
    off = FlagChange("simple", "off").apply(doc(), where=WHERE)
    assert off.after.default_variant == "no" and off.caveats == ()
    assert FlagChange("simple", "on").apply(off.document, where=WHERE).after.default_variant \
        == "yes"


def test_a_variant_by_name_enables_a_disabled_flag_and_says_so() -> None:
    changed = FlagChange("banner-color", "blue").apply(doc(), where=WHERE)
    assert (changed.after.state, changed.after.default_variant, changed.after.default_value) \
        == ("ENABLED", "blue", '"#0d507b"')
    assert changed.caveats == ("`banner-color` was DISABLED (applications got their own code "
                               "default); it is ENABLED now",)


def test_setting_what_is_already_set_changes_nothing() -> None:
    changed = FlagChange("simple", "on").apply(doc(), where=WHERE)
    assert not changed.changed
    assert changed.document.data == doc().data


def test_an_unknown_flag_lists_the_flags_there() -> None:
    with pytest.raises(UnknownFlag) as info:
        FlagChange("new-chekout", "off").apply(doc(), where=WHERE)
    assert info.value.message == (
        f"There is no flag `new-chekout` in {WHERE} (flags there: banner-color, new-checkout, "
        "simple).")


def test_an_unknown_variant_lists_the_variants() -> None:
    with pytest.raises(UnknownVariant) as info:
        FlagChange("banner-color", "purple").apply(doc(), where=WHERE)
    assert info.value.message == ("Flag `banner-color` has no variant `purple`: its variants "
                                  "are `red`, `green`, `blue`.")


def test_on_or_off_of_a_flag_that_is_not_boolean_asks_for_a_variant() -> None:
    with pytest.raises(NotBoolean) as info:
        FlagChange("banner-color", "off").apply(doc(), where=WHERE)
    assert info.value.message == (
        "Flag `banner-color` cannot be turned off: its variants are not true/false. Name one "
        "of its variants instead: `red`, `green`, `blue`.")


def test_two_true_variants_and_none_named_on_is_ambiguous() -> None:
    data = document()
    data["flags"]["simple"]["variants"] = {"yes": True, "sure": True, "no": False}
    with pytest.raises(NotBoolean, match="several variants are true and none is named `on`"):
        FlagChange("simple", "on").apply(FlagDocument.parse(data, where=WHERE), where=WHERE)


@pytest.mark.parametrize(("text", "problem"), [
    ("[]", "expected a JSON object"),
    ('{"flag": {}}', "`flags` is missing or not an object"),
    ('{"flags": {"a": 1}}', "flag `a` is not an object"),
    ("{", "is not valid JSON"),
])
def test_what_is_not_a_flag_document_says_where_and_why(text: str, problem: str) -> None:
    with pytest.raises(InvalidFlagDocument) as info:
        FlagDocument.from_json(text, where=WHERE)
    assert WHERE in str(info.value) and problem in str(info.value)


def test_keys_deploybot_does_not_know_are_written_back() -> None:
    data = document()
    data["flags"]["simple"]["x-later-flagd-field"] = {"kept": True}
    data["x-top"] = 1
    changed = FlagChange("simple", "off").apply(FlagDocument.parse(data, where=WHERE),
                                                where=WHERE)
    written = json.loads(changed.document.to_json())
    assert written["flags"]["simple"]["x-later-flagd-field"] == {"kept": True}
    assert written["x-top"] == 1


def test_the_document_read_is_a_copy_the_caller_cannot_change() -> None:
    data = document()
    parsed = FlagDocument.parse(data, where=WHERE)
    data["flags"]["simple"]["defaultVariant"] = "no"
    assert parsed.flag("simple", where=WHERE).default_variant == "yes"
