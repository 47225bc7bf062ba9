"""Slack Web API failures while requesting: the user is told, nothing is left pending or run."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_slack import Call, FakeSlack
from tests.conftest import APPROVER, REQUESTER, RunningBot
from tests.handlers.spine import (
    CHANNEL,
    audit_actions,
    click_reply,
    ephemeral_text,
    has_buttons,
    request,
    run_to_end,
)


class Hooks:
    """Callbacks the fake Slack runs after answering each call (to fail a later one)."""

    def __init__(self) -> None:
        self.hooks: list[Callable[[Call], None]] = []

    def __call__(self, call: Call) -> None:
        for hook in list(self.hooks):
            hook(call)


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def fake_slack(hooks: Hooks) -> Iterator[FakeSlack]:
    with FakeSlack(usergroups={"S0LEADS": ["U0LEAD"]}, on_call=hooks) as fake:
        yield fake


def assert_cancelled_and_nothing_ran(bot: RunningBot, i: int) -> None:
    assert bot.container.runner.wait_idle()
    d = bot.deployment(i)
    assert d.state is State.CANCELLED
    assert d.finished_at is not None
    assert d.error is not None and "channel_not_found" in d.error
    assert audit_actions(bot, i) == ["deploy.requested", "deploy.cancelled"]
    assert bot.container.runner.resume() == 0  # nothing left for a later pass to run either


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_when_the_card_cannot_be_posted_the_request_is_cancelled_and_the_user_told(
    bot: RunningBot, environment: str
) -> None:
    bot.slack.fail_next("chat.postMessage", "channel_not_found")

    reply = bot.deploy(f"{environment} v1.2.3")

    assert reply.status == 200
    text = ephemeral_text(bot, reply)
    assert "could not post the request in the deployments channel" in text
    assert "channel_not_found" in text
    assert "Deployment #1 was cancelled" in text
    assert "Nothing was changed" in text
    assert text.count("try again") == 1  # said once
    assert_cancelled_and_nothing_ran(bot, 1)
    assert bot.slack.messages(CHANNEL) == []


def test_after_a_failed_post_the_next_request_works(bot: RunningBot) -> None:
    bot.slack.fail_next("chat.postMessage", "channel_not_found")
    ephemeral_text(bot, bot.deploy("production v1.2.3"))

    i = request(bot, "production v1.2.3")

    assert i == 2
    assert "starting now" in click_reply(bot, i, APPROVER)
    assert run_to_end(bot, i) is State.SUCCEEDED
    assert bot.deployment(1).state is State.CANCELLED


def test_when_the_record_cannot_be_posted_the_card_does_not_stay_open(
    bot: RunningBot, hooks: Hooks
) -> None:
    def fail_the_thread_reply(call: Call) -> None:
        if call.method == "chat.postMessage" and call.args.get("channel") == CHANNEL:
            hooks.hooks.clear()
            bot.slack.fail_next("chat.postMessage", "channel_not_found")

    hooks.hooks.append(fail_the_thread_reply)

    reply = bot.deploy("production v1.2.3")

    text = ephemeral_text(bot, reply)
    assert "could not post the request" in text
    assert_cancelled_and_nothing_ran(bot, 1)
    # The card that did get posted is taken down: no Approve button for a cancelled request.
    (delete,) = bot.slack.calls("chat.delete")
    assert delete.args["channel"] == CHANNEL
    assert not any(has_buttons(m) for m in bot.slack.messages(CHANNEL))
    assert bot.slack.messages(CHANNEL) == []
    assert bot.deployment(1).requested_by == REQUESTER


def test_a_card_left_behind_by_a_failed_post_cannot_be_approved(
    bot: RunningBot, hooks: Hooks
) -> None:
    def fail_the_thread_reply_and_the_clean_up(call: Call) -> None:
        if call.method == "chat.postMessage" and call.args.get("channel") == CHANNEL:
            hooks.hooks.clear()
            bot.slack.fail_next("chat.postMessage", "channel_not_found")
            bot.slack.fail_next("chat.delete", "internal_error")

    hooks.hooks.append(fail_the_thread_reply_and_the_clean_up)
    ephemeral_text(bot, bot.deploy("production v1.2.3"))
    assert_cancelled_and_nothing_ran(bot, 1)
    (card,) = bot.slack.messages(CHANNEL)
    assert has_buttons(card)  # Slack would not let it be taken down

    reply = bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE, value="1",
                                message=card)

    assert "was cancelled; nothing to approve" in ephemeral_text(bot, reply)
    assert bot.deployment(1).state is State.CANCELLED
    assert bot.deployment(1).decisions == ()
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.cancelled"]
