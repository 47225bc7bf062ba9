"""What Slack shows of a flag change (Kind.FLAG): its card, the kill-switch button after a
failed watch, the requester's answer, the announcement, the thread note — each also read by
the message check (tests/presentation/message_lint.py)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.deployment import Kind, Verification
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.blocks import announcement, deployment_card, request_accepted
from bot.presentation.flag_views import flag_thread_note
from tests.handlers.spine import blocks_text
from tests.presentation.message_lint import problems
from tests.presentation.test_message_lint import FAILED_WATCH, ZONE, dep

CHANGE = dep(id=7, kind=Kind.FLAG, target="new-checkout", version="off",
             previous_version="on", progress="default variant `on` → `off`", rollback_of=3)


def test_the_card_says_which_flag_turns_to_what_from_what() -> None:
    card = deployment_card(dep(id=7, kind=Kind.FLAG, target="new-checkout", version="off",
                               previous_version="on", state=State.AWAITING_APPROVAL,
                               decisions=()), ZONE)
    text = blocks_text({"blocks": card.blocks})
    assert card.text.startswith("🚩 Flag change #7 new-checkout → off in production")
    assert "*Flag:* `new-checkout`   *Turn to:* `off`   *Default variant now:* `on`" in text
    assert "Turn flag `new-checkout` to `off` in *production*." in text  # the dialog
    assert not any(b.get("block_id") == ids.ABORT_BLOCK for b in card.blocks)
    assert problems(card) == []


def test_a_failed_watch_offers_the_kill_switches_beside_rollback_and_keep() -> None:
    failed = replace(FAILED_WATCH, verification=Verification(
        ok=False, summary="crash-looping", offer_rollback=True))
    card = deployment_card(failed, ZONE, kill_switches=("new-checkout",))
    (verdict,) = [b for b in card.blocks if b.get("block_id") == ids.VERDICT_BLOCK]
    assert [(e["action_id"], e.get("value")) for e in verdict["elements"]] == [
        (ids.ROLL_BACK, "42"), (ids.KEEP, "42"), (ids.TURN_FLAG_OFF, "42:new-checkout")]
    assert verdict["elements"][2]["text"]["text"] == "Turn new-checkout off"
    assert problems(card) == []
    # Without kill switches, Rollback / Keep only.
    (plain,) = [b for b in deployment_card(failed, ZONE).blocks
                if b.get("block_id") == ids.VERDICT_BLOCK]
    assert len(plain["elements"]) == 2


def test_the_answer_the_announcement_and_the_thread_note() -> None:
    queued = request_accepted(dep(id=7, kind=Kind.FLAG, target="new-checkout", version="off",
                                  state=State.QUEUED, approvals_required=0), ZONE)
    assert queued.text == ("🚩 Flag change #7 started: flag `new-checkout` → `off` in "
                           "*production*. Follow it in <#C0DEPLOYS>.")
    ann = announcement(CHANGE, ZONE, "https://slack.example/p1", severity=Severity.HIGH)
    text = blocks_text({"blocks": ann.blocks})
    assert text.startswith("🚩 *Flag `new-checkout` → `off` in production*\n"
                           "default variant `on` → `off`\n"), text
    note = flag_thread_note(CHANGE, "https://slack.example/p7")
    assert blocks_text({"blocks": note.blocks}) == (
        "🚩 Flag `new-checkout` → `off` in *production* (<https://slack.example/p7|flag "
        "change #7> by <@U0ALICE>, approved by <@U0CAROL>): default variant `on` → `off`")
    failed = flag_thread_note(replace(CHANGE, state=State.FAILED, error="try again"), None)
    assert blocks_text({"blocks": failed.blocks}).startswith(
        "❌ Flag `new-checkout` was not turned to `off` in *production* (flag change #7 by ")
    for message in (queued, ann, note, failed):
        assert problems(message) == [], message
