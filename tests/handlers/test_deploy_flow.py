"""The deploy spine end to end over signed Slack HTTP: request, approve, roll out, announce."""

from __future__ import annotations

from bot.domain.states import State
from bot.presentation import ids
from tests.conftest import APPROVER, REQUESTER, RunningBot


def test_production_deploy_requested_approved_rolled_out_and_announced(bot: RunningBot) -> None:
    reply = bot.deploy("production v1.2.3")
    assert reply.status == 200
    assert "Requesting" in reply.json["text"]
    posts = bot.requester.response_posts(reply)
    assert "Deployment #1 requested" in posts[0].args["text"]

    d = bot.deployment(1)
    assert d.state is State.AWAITING_APPROVAL
    assert d.previous_version == "v1.2.2"
    card = bot.card(1)
    actions = [b for b in card["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [ids.APPROVE, ids.REJECT]
    assert "confirm" in actions[0]["elements"][0]

    click = bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE, value="1", message=card)
    assert click.status == 200
    bot.slack.wait_for("chat.postMessage", predicate=lambda c: c.args.get("channel") == REQUESTER)
    assert bot.container.runner.wait_idle()
    d = bot.deployment(1)
    assert d.state is State.SUCCEEDED
    assert [a.user_id for a in d.approvers] == [APPROVER]
    announcements = [m for m in bot.slack.messages("C0DEPLOYS")
                     if m["thread_ts"] is None and "is live" in str(m["blocks"])]
    assert len(announcements) == 1
