"""Deploy windows enforced end to end, over signed Slack HTTP with the fake Slack Web API.

Production follows the guide's schedule (America/New_York: Monday to Thursday anytime, Friday
before 14:00, weekends emergency only) plus a configured freeze window. Time moves only
through the ManualClock. Covered: a refused `/deploy` that offers to queue it; the queued
deploy released when its window opens (the requester confirms by DM, still approved);
cancelling it; the emergency lane in a freeze; the re-checks at approval and right before the
runner starts; and a Wednesday deploy that none of this touches.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text as sql

from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import AppConfig
from bot.container import build_container
from bot.domain.record import Mark
from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.blocks import MARKS
from bot.scheduling import jobs
from bot.store.simulated import SqlSimulatedWorkloads
from bot.web import build_asgi
from devtools.fake_slack import FakeSlack
from devtools.server import ThreadedServer
from devtools.slack_requests import Reply, SlackRequester
from handlers import build_app
from tests.conftest import (
    APPROVER,
    APPROVER2,
    BOT_TOKEN,
    OUTSIDER,
    REQUESTER,
    SIGNING_SECRET,
    RunningBot,
    base_config,
    running_version,
)
from tests.handlers.spine import (
    CHANNEL,
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    decisions,
    deployment_ids,
    dms,
    has_buttons,
    request,
    settle,
    thread_replies,
    wait_dm,
)
from tests.slack_hold import SlackHold, acked_while_held

NY = ZoneInfo("America/New_York")
ONCALL = "U0DAVE"  # an emergency approver who is not a normal approver
FREEZER = "U0FRANK"  # may add freezes from Slack
DONE, PENDING, SKIPPED = (MARKS[m] for m in (Mark.DONE, Mark.PENDING, Mark.SKIPPED))

GUIDE_SCHEDULE = {
    "monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
    "thursday": "anytime", "friday": {"until": "14:00"},
    "saturday": "emergency_only", "sunday": "emergency_only",
}
OFFSITE = {"name": "Company offsite", "start": "2026-12-08 09:00", "end": "2026-12-09 18:00",
           "reason": "everyone is at the offsite", "environments": ["production"]}

SCHEDULE_REASON = "deploys to production are allowed Friday only before 14:00 (America/New_York)"
WEEKEND_REASON = "weekends are for emergency fixes only in production (America/New_York)"
OFFSITE_REASON = ("Company offsite freeze until Wed 2026-12-09 18:00 EST "
                  "(everyone is at the offsite)")


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


WEDNESDAY_10 = ny(11, 18, 10)
FRIDAY_1350, FRIDAY_1358 = ny(11, 20, 13, 50), ny(11, 20, 13, 58)
FRIDAY_1401, FRIDAY_1405 = ny(11, 20, 14, 1), ny(11, 20, 14, 5)
SATURDAY_10 = ny(11, 21, 10)
MONDAY_0000, MONDAY_0001 = ny(11, 23, 0), ny(11, 23, 0, 1)
IN_THE_OFFSITE = ny(12, 8, 10)  # a Tuesday: the schedule is open, the freeze is not


def window_config(**overrides: Any) -> dict[str, Any]:
    cfg = base_config(
        roles={"deployers": [REQUESTER, APPROVER, APPROVER2],
               "approvers": [APPROVER, APPROVER2],
               "emergency_approvers": [ONCALL], "freeze_managers": [FREEZER]},
        environments={
            "staging": {},
            "production": {
                "approval": {"required": 1, "approvers": ["approvers"],
                             "expires_after": "2h"},
                "schedule": GUIDE_SCHEDULE,
            },
        },
        emergency={"approvers": ["emergency_approvers"], "required": 1,
                   "expires_after": "1h"},
        # No holidays; runtime freezes only when a test adds one with /freeze.
        freezes={"windows": [OFFSITE], "managers": ["freeze_managers"]},
    )
    cfg.update(overrides)
    return cfg


@pytest.fixture
def config_data() -> dict[str, Any]:
    return window_config()


# -- helpers ------------------------------------------------------------------------------


def post_of(bot: RunningBot, reply: Reply) -> dict[str, Any]:
    """The one ephemeral answer (text and blocks) to a command or click."""
    assert reply.status == 200, reply.body
    (post,) = bot.requester.response_posts(reply)
    assert post.args.get("response_type") == "ephemeral", post.args
    assert post.args.get("replace_original") is False, post.args
    return post.args


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button in {message.get('text')!r}")


def buttons(message: dict[str, Any]) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements") or []]


def press(bot: RunningBot, message: dict[str, Any], action_id: str, *,
          user: str = REQUESTER) -> dict[str, Any]:
    """Click the `action_id` button of `message` as `user`; the ephemeral answer."""
    reply = bot.requester.click(user_id=user, action_id=action_id,
                                value=button(message, action_id)["value"], message=message)
    return post_of(bot, reply)


def refused(bot: RunningBot, text: str, *, user: str = REQUESTER) -> dict[str, Any]:
    """`/deploy text` that the window refuses: the ephemeral refusal."""
    reply = bot.deploy(text, user=user)
    assert reply.status == 200
    answer = post_of(bot, reply)
    assert answer["text"].startswith("Not now: "), answer["text"]
    return answer


def queue(bot: RunningBot, text: str) -> int:
    """A refused deploy queued with the refusal's button; the new deployment's id."""
    before = set(deployment_ids(bot))
    answer = press(bot, refused(bot, text), ids.QUEUE_FOR_WINDOW)
    (new,) = set(deployment_ids(bot)) - before
    assert f"Deployment #{new} queued" in answer["text"], answer["text"]
    return new


def release(bot: RunningBot) -> int:
    """Run the scheduler's job that asks requesters to start deploys whose window opened;
    how many were asked."""
    jobs.register_instance(bot.container)
    try:
        return jobs.release_scheduled(bot.container.instance)
    finally:
        jobs.unregister_instance(bot.container.instance)


def prompts(bot: RunningBot, user: str = REQUESTER) -> list[dict[str, Any]]:
    """The "window is open" DMs with Start / Cancel buttons sent to `user`."""
    return [m for m in dms(bot, user) if ids.START_SCHEDULED in buttons(m)]


def audit_details(bot: RunningBot, deployment_id: int, action: str) -> dict[str, Any]:
    with bot.container.database.engine.connect() as conn:
        (raw,) = conn.execute(
            sql("SELECT details FROM audit_events WHERE deployment_id = :d AND action = :a"),
            {"d": deployment_id, "a": action}).scalars().all()
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def everything_posted(bot: RunningBot) -> str:
    """Every text and block Slack received (posts, updates, ephemeral answers), as JSON."""
    calls = [c for c in bot.slack.calls() if c.method in
             ("chat.postMessage", "chat.update", "response_url")]
    return json.dumps([c.args for c in calls], ensure_ascii=False)


def finish(bot: RunningBot) -> None:
    assert bot.container.runner.wait_idle(timeout=30)


# -- a refused deploy ---------------------------------------------------------------------


@pytest.mark.parametrize(("now", "reason", "opens"), [
    pytest.param(FRIDAY_1405, SCHEDULE_REASON, "Mon 2026-11-23 00:00 EST", id="friday-14:05"),
    pytest.param(ny(11, 20, 14, 0), SCHEDULE_REASON, "Mon 2026-11-23 00:00 EST",
                 id="friday-14:00-is-closed"),
    pytest.param(SATURDAY_10, WEEKEND_REASON, "Mon 2026-11-23 00:00 EST", id="saturday"),
    pytest.param(IN_THE_OFFSITE, OFFSITE_REASON, "Wed 2026-12-09 18:00 EST", id="freeze"),
])
def test_a_refused_deploy_says_why_and_when_and_offers_to_queue_it(
    bot: RunningBot, now: datetime, reason: str, opens: str
) -> None:
    bot.clock.set(now)

    answer = refused(bot, "production v1.2.3")

    text = blocks_text(answer)
    assert answer["text"] == "Not now: api v1.2.3 cannot go to production"
    assert "*Not now:* `api` `v1.2.3` cannot go to *production*." in text
    assert f"• {reason}" in text
    assert f"The next window opens *{opens}*." in text
    # the way out when it cannot wait, for this deploy
    assert '`/deploy api production v1.2.3 --emergency "reason"`' in text
    queue_button = button(answer, ids.QUEUE_FOR_WINDOW)
    assert queue_button["text"]["text"] == f"Queue it for {opens}"
    assert queue_button["value"] == "api production v1.2.3"
    # Nothing stored, nothing in the channel.
    settle(bot)
    assert deployment_ids(bot) == []
    assert audit_actions(bot) == []
    assert bot.slack.calls("chat.postMessage") == []
    assert bot.slack.calls("chat.update") == []


def test_the_ack_comes_first_and_the_refusal_comes_privately(
        bot: RunningBot, slack_hold: SlackHold) -> None:
    bot.clock.set(FRIDAY_1405)
    # The ack comes back while the answer is held: the window is checked after the ack.
    reply = acked_while_held(slack_hold, lambda: bot.deploy("production v1.2.3"),
                             "response_url")
    assert reply.json["response_type"] == "ephemeral"
    assert "Requesting `api` `v1.2.3` → *production*" in reply.json["text"]
    assert "Not now" in post_of(bot, reply)["text"]


def test_staging_has_no_schedule_and_is_not_refused_on_friday_afternoon(
    bot: RunningBot,
) -> None:
    bot.clock.set(FRIDAY_1405)
    i = request(bot, "staging v1.2.3")
    wait_dm(bot)
    finish(bot)
    assert bot.deployment(i).state is State.SUCCEEDED


# -- queued for the window ----------------------------------------------------------------


def test_a_queued_deploy_is_released_when_the_window_opens_and_still_needs_approval(
    bot: RunningBot,
) -> None:
    bot.clock.set(FRIDAY_1405)
    answer = press(bot, refused(bot, "production v1.2.3"), ids.QUEUE_FOR_WINDOW)

    (i,) = deployment_ids(bot)
    # It needs its approvals, which may come ahead of the window (test_window_edges.py);
    # nobody gives them here, so the requester is asked to start it when the window opens.
    assert answer["text"].startswith(
        f"🗓️ Deployment #{i} queued: `api` `v1.2.3` → *production*. It needs 1 approval(s) "
        f"from someone other than you, which can be given ahead on its card in <#{CHANNEL}>: "
        "approved, it starts by itself when the window opens, Mon 2026-11-23 00:00 EST; "
        "otherwise I will ask you to start it then.")
    assert f"`/deploy cancel {i}`" in answer["text"]
    d = bot.deployment(i)
    assert d.state is State.SCHEDULED
    assert d.not_before == MONDAY_0000
    assert (d.requested_by, d.prompted_at, d.approvals_required) == (REQUESTER, None, 1)
    assert audit_actions(bot, i) == ["deploy.scheduled"]
    details = audit_details(bot, i, "deploy.scheduled")
    assert datetime.fromisoformat(details["not_before"]) == MONDAY_0000
    assert details["reasons"] == [SCHEDULE_REASON]
    # The card waits in the channel, with Approve (ahead of the window) and Cancel.
    card = bot.card(i)
    assert card["thread_ts"] is None
    assert "Waiting for the deploy window — opens Mon 2026-11-23 00:00 EST" in blocks_text(card)
    assert buttons(card) == [ids.APPROVE_AHEAD, ids.CANCEL_SCHEDULED]
    record = blocks_text(thread_replies(bot, card["ts"])[0])
    assert f"{PENDING} Approval — when the deploy window opens" in record
    assert "⚪ Tests passing — not checked" in record  # nothing is claimed done
    assert dms(bot) == []

    # Still closed over the weekend: nobody is asked.
    bot.clock.set(ny(11, 22, 23, 59))
    assert release(bot) == 0
    assert prompts(bot) == []

    # Monday 00:01: the requester is asked, once, however often the job runs.
    bot.clock.set(MONDAY_0001)
    assert release(bot) == 1
    assert release(bot) == 0
    (dm,) = prompts(bot)
    assert f"your queued deploy #{i} api v1.2.3 → production can start now" in dm["text"]
    assert "still needs its approvals" in dm["text"]
    assert buttons(dm) == [ids.START_SCHEDULED, ids.CANCEL_SCHEDULED]
    d = bot.deployment(i)
    assert (d.state, d.prompted_at) == (State.SCHEDULED, MONDAY_0001)
    assert f"<@{REQUESTER}> was asked to start it" in blocks_text(bot.card(i))
    assert audit_actions(bot, i) == ["deploy.scheduled", "deploy.window_open"]

    # Someone else cannot start it.
    answer = press(bot, dm, ids.START_SCHEDULED, user=APPROVER)
    assert answer["text"] == (f"⚠️ Only <@{REQUESTER}>, who queued deployment #{i}, can "
                              "start it.")
    assert bot.deployment(i).state is State.SCHEDULED

    # The requester starts it: it enters approval like any request.
    bot.clock.set(ny(11, 23, 9))
    answer = press(bot, dm, ids.START_SCHEDULED)
    assert f"Deployment #{i} requested" in answer["text"]
    assert "needs 1 approval(s) from someone other than you" in answer["text"]
    d = bot.deployment(i)
    assert d.state is State.AWAITING_APPROVAL
    assert d.approvals_required == 1
    assert d.expires_at == ny(11, 23, 11)
    card = bot.card(i)
    assert buttons(card) == [ids.APPROVE, ids.REJECT]
    assert "Awaiting approval" in card["text"]
    record = blocks_text(thread_replies(bot, card["ts"])[0])
    assert f"{PENDING} Approval — 0/1" in record
    # A second press of the old DM button does nothing.
    answer = press(bot, dm, ids.START_SCHEDULED)
    assert f"Deployment #{i} is no longer waiting for its window (awaiting approval)" \
        in answer["text"]

    # Approved, it runs, and is announced.
    assert f"You approved deployment #{i}; it is starting now" in click_reply(bot, i, APPROVER)
    finish(bot)
    d = bot.deployment(i)
    assert d.state is State.SUCCEEDED
    assert decisions(bot, i) == [(APPROVER, True)]
    assert audit_actions(bot, i) == ["deploy.scheduled", "deploy.window_open",
                                     "deploy.confirmed", "deploy.approved", "deploy.started",
                                     "deploy.verifying", "deploy.verification",
                                     "deploy.succeeded"]
    (ann,) = announcements(bot)
    assert "api `v1.2.3` is live in production" in blocks_text(ann)
    assert f"approved by <@{APPROVER}>" in blocks_text(ann)
    assert not has_buttons(bot.card(i))
    wait_dm(bot, count=2)
    assert "succeeded" in dms(bot)[-1]["text"]
    assert len(prompts(bot)) == 1


def test_once_the_window_opened_the_queued_card_says_so_and_approve_is_not_ahead(
        bot: RunningBot) -> None:
    """Released when its window opens (the requester asked to start it), the card no longer
    says it waits for a window that "opens" at a time gone by, nor offers to approve it
    "ahead of its window": the window is open, and an approval starts it at once."""
    bot.clock.set(FRIDAY_1405)
    i = queue(bot, "production v1.2.3")
    before = button(bot.card(i), ids.APPROVE_AHEAD)["confirm"]
    assert before["title"]["text"] == "Approve this deploy ahead of its window?"

    bot.clock.set(MONDAY_0001)
    assert release(bot) == 1
    card = bot.card(i)
    shown = blocks_text(card)
    assert "Waiting for the deploy window" not in shown and "opens Mon" not in shown, shown
    assert (f"🟢 Deploy window open since Mon 2026-11-23 00:00 EST — <@{REQUESTER}> was "
            "asked to start it") in shown, shown
    assert "ahead of its window" not in shown, shown
    assert ("It can be approved now: with 1 more approval(s) it starts by itself at once "
            f"(the window is open). Or <@{REQUESTER}> starts it with the Start button I sent, "
            "and it goes to approval as usual.") in shown, shown
    confirm = button(card, ids.APPROVE_AHEAD)["confirm"]
    assert confirm["title"]["text"] == "Approve this deploy?"
    assert confirm["text"]["text"].endswith(
        "Its deploy window is open: with its approvals it starts at once."), confirm

    answer = press(bot, card, ids.APPROVE_AHEAD, user=APPROVER)
    assert answer["text"] == (f"✅ You approved deployment #{i}; its window is open: it is "
                              "starting now."), answer
    finish(bot)
    assert bot.deployment(i).state is State.SUCCEEDED
    assert "Waiting for the deploy window" not in blocks_text(bot.card(i))


def test_a_deploy_queued_behind_a_freeze_goes_when_the_freeze_is_removed(
        bot: RunningBot) -> None:
    """Queued for the end of an incident freeze (18:00) and approved ahead, it stayed
    '🗓️ Waiting for the deploy window — opens Wed 18:00' after `/freeze remove`, while
    `/freeze` said production was open: it waited hours for a window that had opened. The
    removal brings it forward: the next release tick starts it (its window checked again
    then, as always)."""
    bot.clock.set(WEDNESDAY_10)
    reply = bot.requester.command(
        "/freeze", 'add "Incident" 2026-11-18 09:00 to 2026-11-18 18:00 production',
        user_id=FREEZER)
    assert reply.status == 200
    settle(bot)
    i = queue(bot, "production v1.2.3")
    assert bot.deployment(i).not_before == ny(11, 18, 18)
    answer = press(bot, bot.card(i), ids.APPROVE_AHEAD, user=APPROVER)
    assert "ahead of its window" in answer["text"], answer
    bot.clock.set(ny(11, 18, 10, 5))
    reply = bot.requester.command("/freeze", "remove 1", user_id=FREEZER)
    assert reply.status == 200
    settle(bot)
    assert bot.deployment(i).not_before == ny(11, 18, 10, 5)

    bot.clock.set(ny(11, 18, 10, 6))
    assert release(bot) == 1
    finish(bot)
    assert bot.deployment(i).state is State.SUCCEEDED


def test_a_queued_deploy_whose_window_a_freeze_took_is_not_told_the_window_is_open(
        bot: RunningBot) -> None:
    """Queued on Friday for Monday 00:00 (not approved ahead), then a freeze Monday
    00:00-09:00: at 00:00 the channel read '🧊 The Monday migration freeze has started' and,
    the same minute, the requester's DM '🟢 The deploy window is open: your queued deploy …
    can start now' and its card '🟢 Deploy window open since Mon 00:00'. As a deploy
    approved ahead already was, it is moved to the freeze's end, and asked about then."""
    bot.clock.set(FRIDAY_1405)
    i = queue(bot, "production v1.2.3")
    reply = bot.requester.command(
        "/freeze", 'add "Monday migration" 2026-11-23 00:00 to 2026-11-23 09:00 production',
        user_id=FREEZER)
    assert reply.status == 200
    settle(bot)

    bot.clock.set(MONDAY_0001)
    assert release(bot) == 0
    assert prompts(bot) == []
    assert bot.deployment(i).not_before == ny(11, 23, 9)
    shown = blocks_text(bot.card(i))
    assert "Deploy window open" not in shown, shown
    assert "opens Mon 2026-11-23 09:00 EST" in shown, shown

    bot.clock.set(ny(11, 23, 9, 1))
    assert release(bot) == 1
    assert len(prompts(bot)) == 1


def test_queue_it_after_the_window_opened_is_a_plain_request(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_1405)
    answer = refused(bot, "production v1.2.3")
    bot.clock.set(ny(11, 23, 9))  # the button is clicked on Monday morning

    text = press(bot, answer, ids.QUEUE_FOR_WINDOW)["text"]

    (i,) = deployment_ids(bot)
    assert f"Deployment #{i} requested" in text
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert audit_actions(bot, i) == ["deploy.requested"]
    assert buttons(bot.card(i)) == [ids.APPROVE, ids.REJECT]


def test_start_when_the_window_closed_again_reschedules_it(bot: RunningBot) -> None:
    bot.clock.set(ny(12, 5, 10))  # Saturday before the offsite
    i = queue(bot, "production v1.2.3")
    assert bot.deployment(i).not_before == ny(12, 7, 0)
    bot.clock.set(ny(12, 7, 0, 1))
    assert release(bot) == 1
    (dm,) = prompts(bot)

    # The requester comes back on Tuesday, in the freeze.
    bot.clock.set(IN_THE_OFFSITE)
    answer = press(bot, dm, ids.START_SCHEDULED)

    assert answer["text"] == (f"⚠️ The deploy window closed again: {OFFSITE_REASON}. "
                              "I will ask you again at Wed 2026-12-09 18:00 EST.")
    d = bot.deployment(i)
    assert (d.state, d.not_before, d.prompted_at) == (State.SCHEDULED, ny(12, 9, 18), None)
    assert "opens Wed 2026-12-09 18:00 EST" in blocks_text(bot.card(i))
    assert "was asked to start it" not in blocks_text(bot.card(i))
    assert "deploy.confirmed" not in audit_actions(bot, i)
    # Asked again when that window opens.
    assert release(bot) == 0
    bot.clock.set(ny(12, 9, 18))
    assert release(bot) == 1
    assert len(prompts(bot)) == 2


def test_a_queued_deploy_is_cancelled_with_its_card_button(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_1405)
    i = queue(bot, "production v1.2.3")
    # An outsider cannot.
    answer = press(bot, bot.card(i), ids.CANCEL_SCHEDULED, user=OUTSIDER)
    assert f"Only <@{REQUESTER}> or an approver for production can cancel" in answer["text"]
    assert bot.deployment(i).state is State.SCHEDULED

    answer = press(bot, bot.card(i), ids.CANCEL_SCHEDULED)

    assert answer["text"] == f"✖️ Deployment #{i} is cancelled."
    d = bot.deployment(i)
    assert d.state is State.CANCELLED
    assert d.error == f"cancelled by <@{REQUESTER}>"
    card = bot.card(i)
    assert "Cancelled" in card["text"]
    assert not has_buttons(card)
    assert audit_actions(bot, i) == ["deploy.scheduled", "deploy.cancelled"]
    # The window opens: nobody is asked about it.
    bot.clock.set(MONDAY_0001)
    assert release(bot) == 0
    assert dms(bot) == []


def test_a_queued_deploy_is_cancelled_with_the_command_and_from_the_dm(
    bot: RunningBot,
) -> None:
    bot.clock.set(FRIDAY_1405)
    a = queue(bot, "production v1.2.3")
    b = queue(bot, "production v1.2.4")
    assert [bot.deployment(x).state for x in (a, b)] == [State.SCHEDULED] * 2

    # An approver may cancel a queued deploy with the command.
    answer = post_of(bot, bot.deploy(f"cancel {a}", user=APPROVER))
    assert answer["text"] == f"✖️ Deployment #{a} is cancelled."
    assert bot.deployment(a).state is State.CANCELLED
    assert bot.deployment(a).error == f"cancelled by <@{APPROVER}>"
    assert not has_buttons(bot.card(a))
    # Cancelling it again says so.
    answer = post_of(bot, bot.deploy(f"cancel #{a}"))
    assert (f"Deployment #{a} is not waiting for a window (cancelled); it cannot be "
            "cancelled.") in answer["text"]
    assert post_of(bot, bot.deploy("cancel 999"))["text"] == \
        "⚠️ Deployment #999 does not exist."

    # The other one is released, and cancelled from its DM instead of being started.
    bot.clock.set(MONDAY_0001)
    assert release(bot) == 1
    (dm,) = prompts(bot)
    assert press(bot, dm, ids.CANCEL_SCHEDULED)["text"] == f"✖️ Deployment #{b} is cancelled."
    assert bot.deployment(b).state is State.CANCELLED
    answer = press(bot, dm, ids.START_SCHEDULED)
    assert f"Deployment #{b} is no longer waiting for its window (cancelled)" in answer["text"]
    assert audit_actions(bot, b) == ["deploy.scheduled", "deploy.window_open",
                                     "deploy.cancelled"]
    assert announcements(bot) == []


def test_cancel_is_only_for_deploys_waiting_for_a_window(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")  # Wednesday: awaiting approval
    answer = post_of(bot, bot.deploy(f"cancel {i}"))
    assert answer["text"] == (f"⚠️ Deployment #{i} is not waiting for a window (awaiting "
                              "approval); it cannot be cancelled. Use its Reject button "
                              "instead.")
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert audit_actions(bot, i) == ["deploy.requested"]


@pytest.mark.parametrize("text", ["cancel next", "cancel", "cancel " + "9" * 25])
def test_bad_cancel_text_gets_the_usage_and_changes_nothing(bot: RunningBot, text: str) -> None:
    reply = bot.deploy(text)
    assert reply.json["response_type"] == "ephemeral"
    assert "Which deployment? e.g. `/deploy cancel 42`." in reply.json["text"]
    assert "*Usage*" in reply.json["text"]
    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []
    assert deployment_ids(bot) == []


# -- the emergency lane -------------------------------------------------------------------

EMERGENCY = 'production v1.2.4 --emergency "checkout down <https://status.example.com/inc/42|INC-42>"'


def test_an_emergency_deploy_in_a_freeze_needs_the_emergency_approvers_and_is_loud(
    bot: RunningBot,
) -> None:
    bot.clock.set(IN_THE_OFFSITE)

    i = request(bot, EMERGENCY)

    d = bot.deployment(i)
    reason = "checkout down <https://status.example.com/inc/42|INC-42>"
    assert (d.state, d.emergency_reason) == (State.AWAITING_APPROVAL, reason)
    assert d.approvals_required == 1
    assert d.expires_at == IN_THE_OFFSITE + timedelta(hours=1)
    # The audit log carries the reason and what it overrides.
    assert audit_actions(bot, i) == ["deploy.emergency_requested"]
    details = audit_details(bot, i, "deploy.emergency_requested")
    assert details["emergency_reason"] == reason
    assert details["overrides"] == [OFFSITE_REASON]
    # The loud alert, top level in the channel, with the reason and its link.
    (alert,) = [m for m in announcements(bot) if "EMERGENCY" in str(m["text"])]
    assert alert["thread_ts"] is None
    alert_text = blocks_text(alert)
    assert f"*EMERGENCY deploy requested* by <@{REQUESTER}>" in alert_text
    assert "*Reason:* checkout down <https://status.example.com/inc/42>" in alert_text
    assert f"overrides: {OFFSITE_REASON}" in alert_text
    assert "Needs 1 approval(s) from the emergency approvers" in alert_text
    # The card carries it too.
    card = bot.card(i)
    card_text = blocks_text(card)
    assert "EMERGENCY deploy" in card_text
    assert "*Emergency reason:* checkout down <https://status.example.com/inc/42>" in card_text
    assert "Approvals: 0/1 (emergency approvers)" in card_text
    assert buttons(card) == [ids.APPROVE, ids.REJECT]

    # A normal approver may not approve an emergency deploy.
    for approve in (True, False):
        text = click_reply(bot, i, APPROVER, approve=approve)
        assert text == (f"⚠️ Deployment #{i} (api `v1.2.4` to production) is an emergency "
                        "deploy: only the emergency approvers may approve or reject it.")
    assert decisions(bot, i) == []
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    # The emergency approver starts it, in the freeze.
    assert f"You approved deployment #{i}; it is starting now" in click_reply(bot, i, ONCALL)
    finish(bot)
    d = bot.deployment(i)
    assert d.state is State.SUCCEEDED
    assert decisions(bot, i) == [(ONCALL, True)]
    assert audit_actions(bot, i) == ["deploy.emergency_requested", "deploy.approved",
                                     "deploy.started", "deploy.verifying", "deploy.verification",
                                     "deploy.succeeded"]
    assert running_version(bot.container.cluster, "production", "api") == "v1.2.4"
    live = [m for m in announcements(bot) if "is live" in blocks_text(m)]
    assert len(live) == 1
    assert "*Emergency reason:*" in blocks_text(bot.card(i))
    record = blocks_text(thread_replies(bot, bot.card(i)["ts"])[0])
    assert "*Emergency deploy:* checkout down <https://status.example.com/inc/42>" in record
    assert f"{DONE} Approval — <@{ONCALL}>" in record


def test_an_emergency_reason_cannot_ping_the_channel(bot: RunningBot) -> None:
    bot.clock.set(SATURDAY_10)

    i = request(bot, 'production v1.2.4 --emergency "<!channel> db is on fire <@U0BOB> '
                     '<https://status.example.com/inc/7|INC-7>"')

    assert bot.deployment(i).emergency_reason.startswith("<!channel> db is on fire")
    posted = everything_posted(bot)
    for raw in ("<!channel>", "<@U0BOB>", "<!here>"):
        assert raw not in posted
    (alert,) = [m for m in announcements(bot) if "EMERGENCY" in str(m["text"])]
    assert ("*Reason:* &lt;!channel&gt; db is on fire &lt;@U0BOB&gt; "
            "<https://status.example.com/inc/7>") in blocks_text(alert)
    assert f"overrides: {WEEKEND_REASON}" in blocks_text(alert)


@pytest.mark.parametrize("text", [
    "production v1.2.4 --emergency",
    'production v1.2.4 --emergency ""',
    'production v1.2.4 --emergency "   "',
])
def test_an_emergency_without_a_reason_gets_the_usage(bot: RunningBot, text: str) -> None:
    bot.clock.set(SATURDAY_10)
    reply = bot.deploy(text)
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert "An emergency deploy needs a reason" in reply.json["text"]
    assert "*Usage*" in reply.json["text"]
    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []
    assert deployment_ids(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


# -- checked again at approval and at start ------------------------------------------------


def test_an_approval_in_a_freeze_added_since_is_refused_and_not_recorded(
    bot: RunningBot,
) -> None:
    """The window closed after the request (a freeze added from Slack) but opens again
    before the request expires: the approver is told from when. (Past the schedule's
    closing, a request has expired with it: test_window_edges.py.)"""
    bot.clock.set(WEDNESDAY_10)
    i = request(bot, "production v1.2.3")
    assert bot.deployment(i).expires_at == ny(11, 18, 12)  # not clipped: open until Friday
    bot.clock.set(ny(11, 18, 10, 5))
    reply = bot.requester.command(
        "/freeze", 'add "DB failover" 2026-11-18 10:05 to 2026-11-18 10:30', user_id=FREEZER)
    assert reply.status == 200
    settle(bot)
    card_before = bot.card(i)
    bot.clock.set(ny(11, 18, 10, 10))

    text = click_reply(bot, i, APPROVER)

    assert text == ("⚠️ Not approved: the deploy window is closed now — DB failover freeze "
                    "until Wed 2026-11-18 10:30 EST. It can be approved from Wed 2026-11-18 "
                    "10:30 EST, before it expires at Wed 2026-11-18 12:00 EST.")
    d = bot.deployment(i)
    assert d.state is State.AWAITING_APPROVAL
    assert decisions(bot, i) == []
    assert audit_actions(bot, i) == ["deploy.requested"]
    assert bot.card(i) == card_before
    # Rejecting is still possible.
    assert f"You rejected deployment #{i}" in click_reply(bot, i, APPROVER, approve=False)
    assert bot.deployment(i).state is State.REJECTED


def test_an_approval_in_a_freeze_ending_as_the_request_expires_is_not_promised_later(
    bot: RunningBot,
) -> None:
    """Requested at 10:00:30 (expires 12:00:30), then a freeze 10:05 to 12:00 was added: the
    approver read 'It can be approved from Wed 12:00 EST, before it expires at Wed 12:00
    EST' — thirty seconds nobody can use, said as two equal times. Less than a minute of
    window before the expiry is no window: the request expires now, its requester is offered
    the queue, as when the window opens only after the expiry (test_window_edges.py)."""
    bot.clock.set(WEDNESDAY_10 + timedelta(seconds=30))
    i = request(bot, "production v1.2.3")
    assert bot.deployment(i).expires_at == ny(11, 18, 12) + timedelta(seconds=30)
    bot.clock.set(ny(11, 18, 10, 5))
    reply = bot.requester.command(
        "/freeze", 'add "DB failover" 2026-11-18 10:05 to 2026-11-18 12:00', user_id=FREEZER)
    assert reply.status == 200
    settle(bot)
    bot.clock.set(ny(11, 18, 10, 10))

    text = click_reply(bot, i, APPROVER)

    assert "can be approved from" not in text
    assert text.startswith("⚠️ Not approved: the deploy window is closed now — DB failover "
                           f"freeze until Wed 2026-11-18 12:00 EST. Deployment #{i} expired "
                           "at Wed 2026-11-18 10:10 EST: it could not start before the window "
                           "opens again.")
    d = bot.deployment(i)
    assert d.state is State.EXPIRED
    assert d.not_before == ny(11, 18, 12)
    assert decisions(bot, i) == []


class Hold:
    """A simulated rollout that waits until released: keeps the runner's one worker busy
    without sleeping for real (it is the cluster's `sleep`, injected as the container
    allows)."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self.entered = threading.Event()

    def close(self) -> None:
        self.entered.clear()
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def sleep(self, seconds: float) -> None:
        self.entered.set()
        if not self._open.wait(timeout=30):
            raise AssertionError("the held rollout was never released")


class TestTheWindowIsCheckedAgainRightBeforeTheStart:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return window_config(runner={"workers": 1})

    @pytest.fixture
    def hold(self) -> Hold:
        return Hold()

    @pytest.fixture
    def bot(self, config: AppConfig, database_url: str, fake_slack: FakeSlack,
            clock: ManualClock, hold: Hold,
            simulated_workloads: SqlSimulatedWorkloads) -> Iterator[RunningBot]:
        cluster = SimulatedCluster(config.simulated, workloads=simulated_workloads,
                                   clock=clock, sleep=hold.sleep)
        container = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                                    slack_api_url=fake_slack.base_url, clock=clock,
                                    cluster=cluster, progress_every=timedelta(0))
        app = build_app(container, signing_secret=SIGNING_SECRET)
        server = ThreadedServer(build_asgi(app)).start()
        requester = SlackRequester(f"{server.url}/slack/events", SIGNING_SECRET, fake_slack)
        try:
            yield RunningBot(container, fake_slack, requester, server, clock)
        finally:
            hold.open()
            requester.close()
            server.stop()
            container.close()

    def test_approved_at_13_58_but_starting_at_14_01_does_not_start(
        self, bot: RunningBot, hold: Hold
    ) -> None:
        bot.clock.set(FRIDAY_1350)
        i = request(bot, "production v1.2.4")
        # The only worker is busy with a staging rollout that is held.
        hold.close()
        busy = request(bot, "staging v1.2.3")
        assert hold.entered.wait(timeout=10)

        bot.clock.set(FRIDAY_1358)
        assert f"You approved deployment #{i}; it is starting now" in click_reply(
            bot, i, APPROVER)
        assert bot.deployment(i).state is State.QUEUED  # approved in the window
        bot.clock.set(FRIDAY_1401)  # ...but the worker gets to it at 14:01
        hold.open()
        finish(bot)

        assert bot.deployment(busy).state is State.SUCCEEDED
        d = bot.deployment(i)
        assert d.state is State.CANCELLED
        assert d.error == f"the deploy window closed before it could start: {SCHEDULE_REASON}"
        assert d.started_at is None and d.finished_at == FRIDAY_1401
        assert audit_actions(bot, i) == ["deploy.requested", "deploy.approved",
                                         "deploy.refused_at_start"]
        assert audit_details(bot, i, "deploy.refused_at_start") == {
            "reasons": [SCHEDULE_REASON]}
        # No rollout happened: production still runs what it ran.
        assert running_version(bot.container.cluster, "production", "api") == "v1.2.2"
        assert not [m for m in announcements(bot) if "production" in blocks_text(m)]
        # The card says so, without buttons.
        card = bot.card(i)
        assert "Cancelled" in card["text"]
        assert f"the deploy window closed before it could start: {SCHEDULE_REASON}" \
            in blocks_text(card)
        assert not has_buttons(card)
        record = blocks_text(thread_replies(bot, card["ts"])[0])
        assert f"{DONE} Approval — <@{APPROVER}>" in record
        assert f"{SKIPPED} Rollout" in record
        # The requester is told, with the reason.
        (dm,) = [m for m in dms(bot) if f"#{i} " in m["text"]]
        assert dm["text"].startswith(
            f"✖️ Your deploy #{i} api v1.2.4 → production was cancelled: the deploy window "
            f"closed before it could start: {SCHEDULE_REASON}.")

    def test_an_emergency_deploy_approved_before_the_cut_off_still_starts_after_it(
        self, bot: RunningBot, hold: Hold
    ) -> None:
        bot.clock.set(FRIDAY_1350)
        i = request(bot, 'production v1.2.4 --emergency "INC-9"')
        hold.close()
        request(bot, "staging v1.2.3")
        assert hold.entered.wait(timeout=10)
        bot.clock.set(FRIDAY_1358)
        assert "it is starting now" in click_reply(bot, i, ONCALL)
        bot.clock.set(FRIDAY_1401)
        hold.open()
        finish(bot)
        assert bot.deployment(i).state is State.SUCCEEDED
        assert running_version(bot.container.cluster, "production", "api") == "v1.2.4"


# -- an ordinary Wednesday -----------------------------------------------------------------


def test_a_wednesday_deploy_is_untouched_by_windows(bot: RunningBot) -> None:
    bot.clock.set(WEDNESDAY_10)

    i = request(bot, "production v1.2.3")

    assert buttons(bot.card(i)) == [ids.APPROVE, ids.REJECT]
    assert f"You approved deployment #{i}; it is starting now" in click_reply(bot, i, APPROVER)
    finish(bot)
    wait_dm(bot)
    d = bot.deployment(i)
    assert d.state is State.SUCCEEDED
    assert (d.emergency_reason, d.not_before, d.prompted_at) == (None, None, None)
    assert audit_actions(bot, i) == ["deploy.requested", "deploy.approved", "deploy.started",
                                     "deploy.verifying", "deploy.verification",
                                     "deploy.succeeded"]
    card_text = blocks_text(bot.card(i))
    assert "EMERGENCY" not in card_text and "Emergency" not in card_text
    assert "window" not in card_text.lower()
    # In the channel: the card (and its record thread) and the result, nothing else.
    top = [m for m in bot.slack.messages(CHANNEL) if m["thread_ts"] is None]
    assert top[0]["ts"] == bot.card(i)["ts"]
    (ann,) = announcements(bot)
    assert "api `v1.2.3` is live in production" in blocks_text(ann)
    assert len(top) == 2
    assert "EMERGENCY" not in everything_posted(bot)
    assert release(bot) == 0
    (dm,) = dms(bot)
    assert "succeeded" in dm["text"]
    # Emergency approvers are not approvers of ordinary deploys.
    j = request(bot, "production v1.2.5")
    assert "not an approver for production" in click_reply(bot, j, ONCALL)
    assert decisions(bot, j) == []


def test_queue_it_twice_keeps_one_queued_deploy(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_1405)
    refusal = refused(bot, "production v1.2.3")
    first = press(bot, refusal, ids.QUEUE_FOR_WINDOW)
    again = press(bot, refusal, ids.QUEUE_FOR_WINDOW)  # a double click on the same button

    assert deployment_ids(bot) == [1]
    assert "Deployment #1 queued" in first["text"]
    assert "Deployment #1 queued" in again["text"]
    assert audit_actions(bot, 1) == ["deploy.scheduled"]


def test_a_queued_deploy_nobody_starts_expires(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_1405)
    i = queue(bot, "production v1.2.3")
    bot.clock.set(MONDAY_0001)
    assert release(bot) == 1
    # start_within defaults to 4 h: at 04:00 it is still waiting, after that it expires.
    bot.clock.set(MONDAY_0001 + timedelta(hours=3, minutes=59))
    release(bot)
    assert bot.deployment(i).state is State.SCHEDULED

    bot.clock.set(MONDAY_0001 + timedelta(hours=4))
    release(bot)

    d = bot.deployment(i)
    assert d.state is State.EXPIRED
    assert d.error is not None and "not started within 4:00:00" in d.error
    assert "Expired" in bot.card(i)["text"]
    assert not has_buttons(bot.card(i))
    assert any("expired" in m["text"] for m in dms(bot))
    assert audit_actions(bot, i)[-1] == "deploy.expired"
    # Its Start button, pressed late, changes nothing.
    (prompt,) = prompts(bot)
    answer = press(bot, prompt, ids.START_SCHEDULED)
    assert "no longer waiting for its window" in answer["text"]
    assert bot.deployment(i).state is State.EXPIRED
