"""Reject asks for a reason (issue 18), over signed Slack HTTP against the fake Slack: the
Reject button opens a modal (views.open with the click's trigger_id); its submission, a
signed view_submission, rejects with the reason — on the card, in the requester's DM, in
the audit — and the answer comes where the click's would have (its response_url; a DM from
the App Home). A blank reason is refused in the form; a click that may not reject is
refused at once, no modal."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from bot.domain.states import State
from bot.presentation import ids
from devtools.slack_requests import app_home_opened_event, text_value
from tests.conftest import APPROVER, OUTSIDER, REQUESTER, RunningBot
from tests.handlers.spine import (
    blocks_text,
    dms,
    ephemeral_text,
    opened_modal,
    request,
    wait_dm,
)
from tests.presentation.message_lint import HOSTILE


def click_reject(bot: RunningBot, deployment_id: int, user: str = APPROVER) -> Any:
    opened = len(bot.slack.open_views())
    reply = bot.requester.click(user_id=user, action_id=ids.REJECT,
                                value=str(deployment_id), message=bot.card(deployment_id))
    assert reply.status == 200 and reply.body == ""
    return reply, opened_modal(bot, reply, opened)


def reason(typed: str | None) -> dict[str, dict[str, dict[str, Any]]]:
    return {ids.REJECT_REASON: {ids.REJECT_REASON: text_value(typed)}}


def rejected_details(bot: RunningBot) -> list[dict[str, Any]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT details FROM audit_events "
                                 "WHERE action = 'deploy.rejected'")).scalars().all()
    return [r if isinstance(r, dict) else json.loads(r) for r in rows]


def test_reject_asks_why_and_the_reason_is_on_the_card_in_the_dm_and_the_audit(
        bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    click, view = click_reject(bot, i)
    assert view is not None and view["callback_id"] == ids.REJECT_FORM
    assert f"Deployment #{i}" in blocks_text(view)
    assert bot.deployment(i).state is State.AWAITING_APPROVAL  # nothing decided yet

    submitted = bot.requester.submit_view(view, reason("the migration is not reviewed"),
                                          user_id=APPROVER)
    assert submitted.status == 200 and submitted.body == ""  # the modal closes
    assert f"You rejected deployment #{i}" in ephemeral_text(bot, click)  # as a click's

    (dm,) = wait_dm(bot, REQUESTER)
    assert (f"was rejected by <@{APPROVER}>: the migration is not reviewed."
            in dm.args["text"])
    d = bot.deployment(i)
    assert d.state is State.REJECTED
    assert [(x.user_id, x.reason) for x in d.decisions] == [
        (APPROVER, "the migration is not reviewed")]
    assert f"🚫 rejected by <@{APPROVER}> at" in blocks_text(bot.card(i))
    assert ": the migration is not reviewed" in blocks_text(bot.card(i))
    assert rejected_details(bot) == [{"reason": "the migration is not reviewed"}]


def test_a_blank_reason_is_refused_in_the_form(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    _, view = click_reject(bot, i)
    for typed in (None, "   \n "):
        reply = bot.requester.submit_view(view, reason(typed), user_id=APPROVER)
        assert reply.json is not None and reply.json["response_action"] == "errors"
        assert "Say why" in reply.json["errors"][ids.REJECT_REASON]
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert rejected_details(bot) == []


def test_a_user_who_may_not_reject_is_refused_at_once_without_a_modal(
        bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    click, view = click_reject(bot, i, OUTSIDER)
    assert view is None
    assert "approve" in ephemeral_text(bot, click).lower()
    assert bot.slack.open_views() == []
    assert bot.deployment(i).state is State.AWAITING_APPROVAL


def test_a_hostile_reason_never_fires(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    _, view = click_reject(bot, i)
    bot.requester.submit_view(view, reason(HOSTILE), user_id=APPROVER)
    (dm,) = wait_dm(bot, REQUESTER)
    shown = blocks_text(bot.card(i)) + dm.args["text"] + blocks_text(dms(bot)[-1])
    for firing in ("<!channel>", "<@U123>", "<b>"):
        assert firing not in shown
    assert "&lt;!channel&gt;" in shown


def test_an_expired_trigger_is_told_and_nothing_is_decided(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    original = bot.requester._trigger

    def stale(user_id: str) -> str:
        trigger_id = original(user_id)
        bot.slack.expire_triggers()
        return trigger_id

    bot.requester._trigger = stale  # type: ignore[method-assign]
    click, view = click_reject(bot, i)
    assert view is None
    assert "would not open the form" in ephemeral_text(bot, click)
    assert bot.deployment(i).state is State.AWAITING_APPROVAL


def test_rejecting_from_the_app_home_asks_why_and_answers_by_dm(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    bot.requester.event(app_home_opened_event(APPROVER))
    (call,) = bot.slack.wait_for("views.publish",
                                 predicate=lambda c: c.args.get("user_id") == APPROVER)
    home = call.args["view"]
    reply = bot.requester.view_click(user_id=APPROVER, action_id=ids.REJECT, value=str(i),
                                     view=home)
    assert reply.status == 200
    bot.slack.wait_for("views.open")
    (opened,) = bot.slack.open_views()
    bot.requester.submit_view(opened.view, reason("wrong version"), user_id=APPROVER)
    (answer,) = wait_dm(bot, APPROVER)
    assert answer.args["text"].startswith(f"🚫 You rejected deployment #{i}")
    assert bot.deployment(i).decisions[0].reason == "wrong version"
