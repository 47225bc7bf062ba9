"""The cards' "Running now" follows the live version (issue 12, Supersede), over signed
Slack HTTP on the simulated cluster: a production deploy waiting for approval while a
rollback changes what runs there (a rollback supersedes nothing) shows the version running
after it; a deployment elsewhere leaves the card alone."""

from __future__ import annotations

from bot.domain.states import State
from bot.presentation import ids
from tests.conftest import APPROVER, REQUESTER, RunningBot, running_version
from tests.handlers.spine import (
    blocks_text,
    click_reply,
    has_buttons,
    request,
    run_to_end,
    updates_of,
    wait_dm,
)


def running_now(bot: RunningBot, deployment_id: int) -> str:
    (line,) = [ln for ln in blocks_text(bot.card(deployment_id)).splitlines()
               if "*Running now:*" in ln]
    return line


def roll_back(bot: RunningBot, text: str) -> None:
    """`/rollback text`, confirmed by the requester."""
    reply = bot.requester.command("/rollback", text, user_id=REQUESTER)
    (plan,) = bot.requester.response_posts(reply)
    (button,) = [b["elements"][0] for b in plan.args.get("blocks") or []
                 if b.get("block_id") == ids.ROLLBACK_BLOCK]
    click = bot.requester.click(user_id=REQUESTER, action_id=ids.ROLLBACK_CONFIRM,
                                value=button["value"], channel_id="C0DEPLOYS")
    (started,) = bot.requester.response_posts(click)
    assert "Rollback #" in str(started.args["text"]), started.args


def test_a_waiting_card_shows_the_version_a_rollback_left_running(bot: RunningBot) -> None:
    first = request(bot, "production v1.3.0")
    click_reply(bot, first, APPROVER)
    assert run_to_end(bot, first) is State.SUCCEEDED
    waiting = request(bot, "production v1.4.0")
    assert bot.deployment(waiting).state is State.AWAITING_APPROVAL
    assert "*Running now:* `v1.3.0`" in running_now(bot, waiting)

    roll_back(bot, "production")  # back from v1.3.0 to v1.2.2
    wait_dm(bot, REQUESTER, count=2)
    assert bot.container.runner.wait_idle()
    assert running_version(bot.container.cluster, "production", "api") == "v1.2.2"

    d = bot.deployment(waiting)
    assert (d.state, d.previous_version) == (State.AWAITING_APPROVAL, "v1.2.2")
    assert "*Running now:* `v1.2.2`" in running_now(bot, waiting)
    assert has_buttons(bot.card(waiting))  # still waiting for its approval


def test_a_deployment_elsewhere_leaves_the_waiting_card_alone(bot: RunningBot) -> None:
    waiting = request(bot, "production v1.3.0")
    assert "*Running now:* `v1.2.2`" in running_now(bot, waiting)
    ts = bot.deployment(waiting).message_ts
    assert ts is not None
    shown = len(updates_of(bot, ts))

    staged = request(bot, "staging v1.3.0")
    assert run_to_end(bot, staged) is State.SUCCEEDED
    assert len(updates_of(bot, ts)) == shown
    assert bot.deployment(waiting).previous_version == "v1.2.2"
