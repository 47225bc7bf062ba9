"""What `/flags` answers (bot.presentation.flags_views) reads right in Slack: valid Block
Kit within its limits, balanced mrkdwn, and a store's hostile variant names and values
never firing (tests/presentation/message_lint.py) — for flagd's definitions (healthy, missing,
wrong expect, DISABLED) and an OFREP evaluation, and many flags capped."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.domain.flag_status import Declared, from_document, from_evaluations
from bot.domain.flags import Evaluation, FlagDocument
from bot.domain.flags_command import FlagsArgs
from bot.presentation.flags_views import MAX_FLAGS, flags_message
from tests.domain.test_flags import document
from tests.presentation.message_lint import FIRING, HOSTILE, problems

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")
ARGS = FlagsArgs("production", "checkout")


def text_of(message: object) -> str:
    return "\n".join(b["text"]["text"] if "text" in b else b["elements"][0]["text"]
                     for b in message.blocks)  # type: ignore[attr-defined]


def test_flagd_flags_healthy_missing_wrong_and_disabled() -> None:
    r = from_document([Declared("new-checkout", "off"), Declared("gone"),
                       Declared("banner-color"), Declared("simple", "on")],
                      FlagDocument.parse(document(), where="x"), where="FeatureFlag x",
                      at=AT)
    m = flags_message(ARGS, r, ZONE)
    assert problems(m) == []
    shown = text_of(m)
    assert "— 4 declared, 1 missing, 1 not as expected" in shown
    assert "DISABLED · default DISABLED — applications get their own code default" in shown
    assert "From flagd's definitions in FeatureFlag x, Mon 2026-12-07 05:00 EST." in shown


def test_an_ofrep_evaluation_says_it_is_read_only() -> None:
    r = from_evaluations([Declared("a", "on"), Declared("b")],
                         {"a": Evaluation("a", value=True, variant="on", reason="STATIC"),
                          "b": Evaluation("b", error_code="GENERAL", error_details="boom")},
                         where="the flag service at http://f", at=AT)
    m = flags_message(ARGS, r, ZONE)
    assert problems(m) == []
    shown = text_of(m)
    assert "over OFREP, read only" in shown
    assert "⚠️ *`b`* — could not be evaluated: GENERAL: boom" in shown


def test_hostile_names_and_values_from_the_store_never_fire() -> None:
    data = document()
    data["flags"]["new-checkout"]["variants"] = {"on": HOSTILE, "off": False}
    data["flags"]["new-checkout"]["targeting"] = None
    r = from_document([Declared("new-checkout", "off")], FlagDocument.parse(data, where="x"),
                      where="x", at=AT)
    m = flags_message(ARGS, r, ZONE)
    assert problems(m) == []
    assert not any(f in text_of(m) for f in FIRING)


def test_many_flags_are_capped_within_slacks_limits() -> None:
    declared = [Declared(f"flag-{n}") for n in range(60)]
    r = from_document(declared, FlagDocument.parse(document(), where="x"), where="x", at=AT)
    m = flags_message(ARGS, r, ZONE)
    assert problems(m) == []
    assert len(m.blocks) == MAX_FLAGS + 2
    assert text_of(m).endswith(f"and {60 - MAX_FLAGS} more flags")
