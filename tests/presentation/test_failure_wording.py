"""The words of a failed result (issue 12): a rollout that failed and left the new version
applied is told as a failed rollout, never as a failed watch — on the card's Rollback / Keep
ask, in the announcement, the requester's DM and a routed alert — and an abort is told as
an abort. The Cause line does not repeat the rollback note its headline already says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.alerts import Alert, alert_for
from bot.domain.deployment import Deployment, Verification
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.alert_views import headline, pager_summary, slack_text
from bot.presentation.blocks import (
    Message,
    announcement,
    deployment_card,
    requester_note,
    verdict_reply,
)

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")
CAUSE = "the new pods cannot pull the image registry.example/api:v1.2.4-bad"
LEFT = (f"{CAUSE}; v1.2.4-bad is left applied in staging (automatic rollback is off there): "
        "roll back to v1.2.3, or keep it")
OFFERED = Verification(ok=False, summary="the rollout failed", reasons=(CAUSE,),
                       offer_rollback=True)
WATCH = "failed verification: the pods of api v1.2.4-bad restarted 3 times"


def deployment(state: State, error: str, **kw: object) -> Deployment:
    d = Deployment(id=2, service="api", environment="staging", version="v1.2.4-bad",
                   previous_version="v1.2.3", state=state, requested_by="U0ALICE",
                   requested_at=T0, approvals_required=0, error=error,
                   started_at=T0, finished_at=T0 + timedelta(minutes=2))
    return replace(d, **kw)  # type: ignore[arg-type]


def text(m: Message) -> str:
    out = [m.text]
    for b in m.blocks:
        if "text" in b and isinstance(b["text"], dict):
            out.append(b["text"]["text"])
        out += [e.get("text", "") for e in b.get("elements", []) if isinstance(e, dict)
                and isinstance(e.get("text"), str)]
    return "\n".join(out)


def cause_line(body: str) -> str | None:
    return next((ln for ln in body.splitlines() if ln.startswith("Cause: ")), None)


def alert(d: Deployment) -> Alert:
    a = alert_for(d, production={"production"})
    assert a is not None
    return a


# -- the card's Rollback / Keep ask -----------------------------------------------------


def test_the_card_asks_after_a_failed_rollout_without_claiming_a_failed_check() -> None:
    card = deployment_card(deployment(State.FAILED, LEFT, verification=OFFERED), ZONE)
    body = text(card)
    assert ("*`v1.2.4-bad` failed its rollout and is left applied:* its new pods never "
            "became ready, the old ones still serve. Roll back to `v1.2.3`, or keep it?") \
        in body, body
    assert "failed its checks" not in body and "still live" not in body
    assert any(b.get("block_id") == ids.VERDICT_BLOCK for b in card.blocks)


def test_the_card_asks_after_a_failed_watch_as_before() -> None:
    watched = Verification(ok=False, summary="restarts", reasons=("restarts",),
                           offer_rollback=True)
    error = f"{WATCH}; v1.2.4-bad is still live (automatic rollback is off in staging)"
    body = text(deployment_card(deployment(State.FAILED, error, verification=watched), ZONE))
    assert ("*`v1.2.4-bad` failed its checks and is still live.* Roll back to `v1.2.3`, or "
            "keep it?") in body, body
    assert "failed its rollout" not in body


def test_keep_after_a_failed_rollout_keeps_it_applied_not_live() -> None:
    kept = deployment(State.FAILED, LEFT,
                      verification=OFFERED.decided("keep", by="U0BOB", at=T0))
    body = text(deployment_card(kept, ZONE))
    assert "<@U0BOB> chose to keep `v1.2.4-bad` applied at " in body, body
    reply = verdict_reply(kept, None)
    assert reply.startswith("🟠 `v1.2.4-bad` stays applied in *staging* (its rollout failed"), \
        reply
    assert "stays live" not in reply


# -- the announcement and the requester's DM --------------------------------------------


def test_an_automatic_rollback_after_a_failed_rollout_is_announced_as_such() -> None:
    d = deployment(State.ROLLED_BACK, f"{CAUSE}; rolled back to v1.2.3")
    body = text(announcement(d, ZONE, None, severity=Severity.CRITICAL))
    assert ("⚠️ *Deploy of api `v1.2.4-bad` to staging failed its rollout and was rolled back "
            "to `v1.2.3`*") in body, body
    assert "verification" not in body
    assert cause_line(body) == f"Cause: {CAUSE}"  # no "; rolled back to v1.2.3" again
    dm = requester_note(d, ZONE, None).text
    assert dm == (f"⚠️ Your deploy #2 api v1.2.4-bad → staging failed its rollout and was "
                  f"rolled back to v1.2.3: {CAUSE}."), dm


def test_an_automatic_rollback_after_a_failed_watch_keeps_its_words_without_the_note() -> None:
    d = deployment(State.ROLLED_BACK, f"{WATCH}; rolled back to v1.2.3")
    body = text(announcement(d, ZONE, None, severity=Severity.CRITICAL))
    assert "failed verification, rolled back to `v1.2.3`*" in body, body
    assert cause_line(body) == f"Cause: {WATCH}"
    dm = requester_note(d, ZONE, None).text
    assert f"failed verification and was rolled back to v1.2.3: {WATCH}." in dm, dm


@pytest.mark.parametrize(("error", "during"), [
    ("aborted by <@U0BOB>; rolled back to v1.2.3", ""),
    ("aborted by <@U0BOB> during the watch; rolled back to v1.2.3", " during the watch"),
])
def test_an_abort_rolled_back_is_announced_as_an_abort_without_a_cause_line(
        error: str, during: str) -> None:
    d = deployment(State.ROLLED_BACK, error, abort_requested_by="U0BOB")
    body = text(announcement(d, ZONE, None, severity=Severity.HIGH))
    assert (f"🛑 *Deploy of api `v1.2.4-bad` to staging was aborted by <@U0BOB>{during}, "
            "rolled back to `v1.2.3`*") in body, body
    assert cause_line(body) is None and "verification" not in body
    assert "was aborted by <@U0BOB> and rolled back to v1.2.3." in \
        requester_note(d, ZONE, None).text


def test_a_failed_rollout_left_applied_is_announced_with_its_whole_cause() -> None:
    d = deployment(State.FAILED, LEFT, verification=OFFERED)
    body = text(announcement(d, ZONE, None, severity=Severity.MEDIUM))
    assert "❌ *Deploy of api `v1.2.4-bad` to staging failed*" in body, body
    assert cause_line(body) == f"Cause: {LEFT}"


# -- a routed alert ---------------------------------------------------------------------


def test_an_alert_of_an_automatic_rollback_after_a_failed_rollout() -> None:
    a = alert(deployment(State.ROLLED_BACK, f"{CAUSE}; rolled back to v1.2.3"))
    assert headline(a) == ("Deploy #2 of api v1.2.4-bad to staging failed its rollout and "
                           "was rolled back to v1.2.3")
    assert cause_line(slack_text(a, None)) == f"Cause: {CAUSE}"
    assert pager_summary(a) == f"deploybot: {headline(a)}: {CAUSE}"


def test_an_alert_of_an_automatic_rollback_after_a_failed_watch() -> None:
    a = alert(deployment(State.ROLLED_BACK, f"{WATCH}; rolled back to v1.2.3"))
    assert headline(a) == ("Deploy #2 of api v1.2.4-bad to staging failed verification and "
                           "was rolled back to v1.2.3")
    assert cause_line(slack_text(a, None)) == f"Cause: {WATCH}"


@pytest.mark.parametrize(("error", "during"), [
    ("aborted by <@U0BOB>; rolled back to v1.2.3", ""),
    ("aborted by <@U0BOB> during the watch; rolled back to v1.2.3", " during the watch"),
])
def test_an_alert_of_an_abort_says_who_aborted_it(error: str, during: str) -> None:
    a = alert(deployment(State.ROLLED_BACK, error, abort_requested_by="U0BOB"))
    assert headline(a) == (f"Deploy #2 of api v1.2.4-bad to staging was aborted by "
                           f"<@U0BOB>{during} and rolled back to v1.2.3")
    assert "failed" not in slack_text(a, None) and cause_line(slack_text(a, None)) is None
    assert pager_summary(a) == f"deploybot: {headline(a)}"


def test_an_alert_of_an_abort_whose_rollback_failed_says_what_followed() -> None:
    then = "the rollback to v1.2.3 failed too: boom"
    a = alert(deployment(State.FAILED, f"aborted by <@U0BOB>; {then}",
                         abort_requested_by="U0BOB"))
    assert headline(a) == "Deploy #2 of api v1.2.4-bad to staging was aborted by <@U0BOB>"
    assert cause_line(slack_text(a, None)) == f"Cause: {then}"


def test_an_alert_of_a_failed_rollout_left_applied_keeps_its_whole_cause() -> None:
    a = alert(deployment(State.FAILED, LEFT, verification=OFFERED))
    assert headline(a) == "Deploy #2 of api v1.2.4-bad to staging failed"
    assert cause_line(slack_text(a, None)) == f"Cause: {LEFT}"
