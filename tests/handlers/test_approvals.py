"""Who may deploy and approve, and the approval rules, over signed Slack HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.states import State
from bot.scheduling import jobs
from tests.conftest import APPROVER, APPROVER2, OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    CHANNEL,
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    decisions,
    deployment_ids,
    dms,
    ephemeral_text,
    has_buttons,
    request,
    run_to_end,
    wait_dm,
)

LEAD = "U0LEAD"  # member of the S0LEADS user group (fake Slack), listed among the approvers


def approval(**kw: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"required": 1, "approvers": ["approvers"], "expires_after": "2h"}
    rule.update(kw)
    return {"staging": {}, "production": {"approval": rule}}


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused click must leave as it was."""

    state: State
    decisions: list[tuple[str, bool]]
    audit: list[str]
    card: dict[str, Any]
    posts: int
    updates: int


def snapshot(bot: RunningBot, deployment_id: int) -> Snapshot:
    return Snapshot(
        state=bot.deployment(deployment_id).state,
        decisions=decisions(bot, deployment_id),
        audit=audit_actions(bot),
        card=bot.card(deployment_id),
        posts=len(bot.slack.calls("chat.postMessage")),
        updates=len(bot.slack.calls("chat.update")),
    )


# -- permissions ------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_a_non_deployer_is_refused_and_nothing_is_stored(bot: RunningBot,
                                                         environment: str) -> None:
    reply = bot.deploy(f"{environment} v1.2.3", user=OUTSIDER)
    assert reply.status == 200

    text = ephemeral_text(bot, reply)
    assert f"You may not deploy to {environment}" in text
    assert "`deployers` role" in text
    assert deployment_ids(bot) == []
    assert audit_actions(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


def test_a_member_of_an_approver_user_group_can_approve(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")

    text = click_reply(bot, i, LEAD)

    assert f"You approved deployment #{i}; it is starting now" in text
    assert run_to_end(bot, i) is State.SUCCEEDED
    assert decisions(bot, i) == [(LEAD, True)]
    assert bot.slack.calls("usergroups.users.list")[0].args["usergroup"] == "S0LEADS"


def test_a_non_approver_click_is_refused_and_changes_nothing(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    before = snapshot(bot, i)

    for approve in (True, False):
        text = click_reply(bot, i, OUTSIDER, approve=approve)
        assert "You are not an approver for production" in text

    assert snapshot(bot, i) == before
    assert before.state is State.AWAITING_APPROVAL
    assert has_buttons(before.card)


def test_the_requester_cannot_approve_their_own_request(bot: RunningBot) -> None:
    # APPROVER may both deploy and approve: still not their own request.
    i = request(bot, "production v1.2.3", user=APPROVER)
    before = snapshot(bot, i)

    text = click_reply(bot, i, APPROVER)

    assert "cannot approve it yourself" in text
    assert snapshot(bot, i) == before

    # Someone else can.
    assert "starting now" in click_reply(bot, i, APPROVER2)
    assert run_to_end(bot, i, APPROVER) is State.SUCCEEDED


class TestSelfApprovalAllowed:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config(environments=approval(allow_self_approval=True))

    def test_the_requester_may_approve_their_own_request(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3", user=APPROVER)

        assert "starting now" in click_reply(bot, i, APPROVER)

        assert run_to_end(bot, i, APPROVER) is State.SUCCEEDED
        assert decisions(bot, i) == [(APPROVER, True)]

    def test_a_requester_who_is_not_an_approver_still_cannot(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3", user=REQUESTER)
        assert "not an approver" in click_reply(bot, i, REQUESTER)
        assert bot.deployment(i).state is State.AWAITING_APPROVAL


# -- N approvals ------------------------------------------------------------------------


class TestTwoApprovalsRequired:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config(environments=approval(required=2))

    def test_two_distinct_approvers_start_it_and_a_repeated_click_counts_once(
        self, bot: RunningBot
    ) -> None:
        i = request(bot, "production v1.2.3")
        card_ts = bot.card(i)["ts"]

        text = click_reply(bot, i, APPROVER)
        assert f"You approved deployment #{i}; 1 more approval(s) needed" in text
        d = bot.deployment(i)
        assert d.state is State.AWAITING_APPROVAL
        card = bot.card(i)
        assert card["ts"] == card_ts
        assert "Approvals: 1/2" in blocks_text(card)
        assert f"approved by <@{APPROVER}>" in blocks_text(card)
        assert has_buttons(card)

        before = snapshot(bot, i)
        text = click_reply(bot, i, APPROVER)
        assert "You already decided on deployment" in text
        assert "each person counts once" in text
        assert snapshot(bot, i) == before

        text = click_reply(bot, i, APPROVER2)
        assert f"You approved deployment #{i}; it is starting now" in text
        assert run_to_end(bot, i) is State.SUCCEEDED
        assert decisions(bot, i) == [(APPROVER, True), (APPROVER2, True)]
        card = bot.card(i)
        assert "Approvals: 2/2" in blocks_text(card)
        assert not has_buttons(card)
        (ann,) = announcements(bot)
        assert f"approved by <@{APPROVER}>, <@{APPROVER2}>" in blocks_text(ann)
        assert audit_actions(bot, i).count("deploy.started") == 1

    def test_one_rejection_after_an_approval_ends_it(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3")
        click_reply(bot, i, APPROVER)

        assert f"You rejected deployment #{i}" in click_reply(bot, i, APPROVER2, approve=False)

        d = bot.deployment(i)
        assert d.state is State.REJECTED
        assert "deploy.started" not in audit_actions(bot, i)
        assert not has_buttons(bot.card(i))
        assert f"rejected by <@{APPROVER2}>" in blocks_text(bot.card(i))


# -- rejection --------------------------------------------------------------------------


def test_a_rejection_ends_the_request_edits_the_card_in_place_and_tells_the_requester(
    bot: RunningBot,
) -> None:
    i = request(bot, "production v1.2.3")
    card_before = bot.card(i)
    channel_before = [(m["ts"], m["thread_ts"]) for m in bot.slack.messages(CHANNEL)]

    text = click_reply(bot, i, APPROVER, approve=False)

    assert f"You rejected deployment #{i}" in text
    d = bot.deployment(i)
    assert d.state is State.REJECTED
    assert d.rejecter is not None and d.rejecter.user_id == APPROVER
    assert d.finished_at is not None
    # Same messages in the channel (edited, none added): the card kept its ts.
    assert [(m["ts"], m["thread_ts"]) for m in bot.slack.messages(CHANNEL)] == channel_before
    card = bot.card(i)
    assert card["ts"] == card_before["ts"]
    assert card["text"] != card_before["text"]
    assert "Rejected" in card["text"]
    assert f"rejected by <@{APPROVER}>" in blocks_text(card)
    assert not has_buttons(card)
    assert "Approve" not in blocks_text(card)
    # The requester is told by DM.
    wait_dm(bot)
    (dm,) = dms(bot)
    assert f"was rejected by <@{APPROVER}>" in dm["text"]
    assert audit_actions(bot, i) == ["deploy.requested", "deploy.rejected"]
    assert announcements(bot) == []


def test_the_requester_may_withdraw_their_own_request(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")

    text = click_reply(bot, i, REQUESTER, approve=False)

    assert f"You rejected deployment #{i}" in text
    d = bot.deployment(i)
    assert d.state is State.REJECTED
    assert decisions(bot, i) == [(REQUESTER, False)]
    assert not has_buttons(bot.card(i))
    assert "deploy.started" not in audit_actions(bot, i)


# -- clicks that come too late ----------------------------------------------------------


def assert_expired_card_and_dm(bot: RunningBot, i: int) -> None:
    d = bot.deployment(i)
    assert d.state is State.EXPIRED
    assert d.decisions == ()
    card = bot.card(i)
    assert "Expired" in card["text"]
    assert "without enough approvals" in blocks_text(card)
    assert not has_buttons(card)
    wait_dm(bot)
    (dm,) = dms(bot)
    assert "expired without enough approvals" in dm["text"]


def test_a_click_after_the_deadline_expires_the_request(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    bot.clock.advance(timedelta(hours=2, seconds=1))

    text = click_reply(bot, i, APPROVER)

    assert f"Deployment #{i} (api `v1.2.3` to production) expired without enough approvals" \
        in text
    assert_expired_card_and_dm(bot, i)
    assert audit_actions(bot, i) == ["deploy.requested", "deploy.expired"]

    # A later click is refused and changes nothing.
    before = snapshot(bot, i)
    assert "expired without enough approvals" in click_reply(bot, i, APPROVER2)
    assert snapshot(bot, i) == before


def test_the_expiry_job_expires_due_requests_and_later_clicks_change_nothing(
    bot: RunningBot,
) -> None:
    i = request(bot, "production v1.2.3")
    jobs.register_instance(bot.container)
    try:
        bot.clock.advance(timedelta(hours=1, minutes=59))
        assert jobs.expire_approvals(bot.container.instance) == 0
        assert bot.deployment(i).state is State.AWAITING_APPROVAL

        bot.clock.advance(timedelta(minutes=1))
        assert jobs.expire_approvals(bot.container.instance) == 1
        assert jobs.expire_approvals(bot.container.instance) == 0  # once
    finally:
        jobs.unregister_instance(bot.container.instance)

    assert_expired_card_and_dm(bot, i)
    before = snapshot(bot, i)
    for user, approve in ((APPROVER, True), (APPROVER, False), (REQUESTER, False)):
        text = click_reply(bot, i, user, approve=approve)
        assert "expired without enough approvals; nothing to approve" in text
    assert snapshot(bot, i) == before


def test_a_click_on_a_rejected_request_changes_nothing(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    click_reply(bot, i, APPROVER, approve=False)
    before = snapshot(bot, i)

    for user, approve in ((APPROVER2, True), (APPROVER2, False)):
        text = click_reply(bot, i, user, approve=approve)
        assert f"was rejected by <@{APPROVER}>; nothing to approve" in text

    assert snapshot(bot, i) == before


def test_a_click_on_a_finished_deployment_changes_nothing(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    click_reply(bot, i, APPROVER)
    assert run_to_end(bot, i) is State.SUCCEEDED
    before = snapshot(bot, i)

    text = click_reply(bot, i, APPROVER2)

    assert "has already finished (succeeded); nothing to approve" in text
    assert snapshot(bot, i) == before
    assert len(announcements(bot)) == 1


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "That button does not name a deployment"),
    ("1; DROP TABLE deployments", "That button does not name a deployment"),
    ("", "That button does not name a deployment"),
    ("-1", "That button does not name a deployment"),
    ("9" * 30, "That button does not name a deployment"),  # no internal error
    ("\uff14\uff12", "That button does not name a deployment"),  # fullwidth digits
    ("99", "Deployment #99 does not exist"),
])
def test_a_click_whose_value_names_no_deployment_gets_a_message(
    bot: RunningBot, value: str, message: str
) -> None:
    i = request(bot, "production v1.2.3")
    before = snapshot(bot, i)

    assert message in click_reply(bot, i, APPROVER, value=value)

    assert snapshot(bot, i) == before


def test_a_click_on_a_deployment_without_approval_changes_nothing(bot: RunningBot) -> None:
    i = request(bot, "staging v1.2.3")
    assert run_to_end(bot, i) is State.SUCCEEDED
    j = request(bot, "production v1.2.3")
    before = snapshot(bot, j)

    assert "does not need approval" in click_reply(bot, j, APPROVER, value=str(i))

    assert snapshot(bot, j) == before
    assert bot.deployment(i).state is State.SUCCEEDED
