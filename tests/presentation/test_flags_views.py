"""What `/flags` answers (bot.presentation.flags_views) reads right in Slack: valid Block
Kit within its limits, balanced mrkdwn, and a store's hostile variant names and values
never firing (tests/presentation/message_lint.py) — for flagd's definitions (healthy, missing,
wrong expect, DISABLED) and an OFREP evaluation, and many flags capped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.domain.checklist import ITEMS, unevaluated, with_flags
from bot.domain.deployment import Deployment
from bot.domain.flag_status import Declared, FlagReading, from_document, from_evaluations
from bot.domain.flags import Evaluation, FlagDocument
from bot.domain.flags_command import FlagsArgs
from bot.domain.states import State
from bot.presentation.blocks import deployment_card, deployment_record
from bot.presentation.checklist_views import with_checklist
from bot.presentation.flags_views import MAX_FLAGS, flags_message
from tests.domain.test_flags import document
from tests.presentation.message_lint import FIRING, HOSTILE, problems

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")
ARGS = FlagsArgs("production", "checkout")


def text_of(message: object) -> str:
    return "\n".join(b["text"]["text"] if "text" in b and isinstance(b["text"], dict)
                     else " ".join(str(e.get("text", "")) for e in b.get("elements", []))
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


def hostile_reading() -> FlagReading:
    """A flag whose variant and value, as the store holds them, would ping everyone."""
    data = document()
    data["flags"]["banner-color"] = {"state": "ENABLED", "defaultVariant": "<!channel>",
                                     "variants": {"<!channel>": HOSTILE}}
    return from_document([Declared("banner-color", "red"), Declared("simple")],
                         FlagDocument.parse(data, where="x"), where="FeatureFlag x", at=AT)


def test_the_record_and_the_card_show_what_the_store_says_escaped_once() -> None:
    d = Deployment(id=7, service="api", environment="production", version="v1.2.3",
                   previous_version="v1.2.2", state=State.AWAITING_APPROVAL,
                   requested_by="U0ALICE", requested_at=AT, approvals_required=1)
    reading = hostile_reading()
    checklist = with_flags(unevaluated(ITEMS, "no GitHub repository configured for api"),
                           reading)
    record = deployment_record(replace(d, state=State.SUCCEEDED, started_at=AT,
                                       finished_at=AT), ZONE, checklist, (), reading)
    card = with_checklist(deployment_card(d, ZONE), d, checklist)
    for message in (record, card):
        assert problems(message) == []
        shown = text_of(message)
        assert not any(f in shown for f in FIRING)
        assert "`&lt;!channel&gt;`" in shown and "&amp;lt;" not in shown
