"""Helpers for the end-to-end tests of the deploy spine (requests, clicks, what Slack got)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bot.clock import ManualClock
from bot.domain.deployment import NewDeployment
from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_slack import Call
from devtools.slack_requests import Reply, text_value
from tests.conftest import REQUESTER, RunningBot

CHANNEL = "C0DEPLOYS"
# How the fallback text of a deployment's card starts, by kind (deploy, rollback, migration).
CARD_TEXTS = ("Deploy #", "↩️ Rollback #", "🗄️ Migration #", "🚩 Flag change #")


def dm_channel(user: str) -> str:
    """Where the fake Slack files a chat.postMessage to a user id."""
    return "D" + user


def request(bot: RunningBot, text_: str, *, user: str = REQUESTER) -> int:
    """`/deploy text` that must be accepted; the new deployment's id."""
    before = deployment_ids(bot)
    reply = bot.deploy(text_, user=user)
    assert reply.status == 200, reply.body
    posts = bot.requester.response_posts(reply)
    new = sorted(set(deployment_ids(bot)) - set(before))
    assert len(new) == 1, (posts[0].args.get("text"), new)
    assert f"Deployment #{new[0]} " in posts[0].args["text"], posts[0].args["text"]
    return new[0]


#: The reason `click(…, approve=False)` gives in Reject's modal.
REJECT_REASON = "not today"


def click(bot: RunningBot, deployment_id: int, user: str, *, approve: bool = True,
          value: str | None = None, reason: str = REJECT_REASON) -> Reply:
    """Click Approve/Reject on the deployment's card as it is now in Slack. Reject opens
    a modal asking why (unless the click is refused): it is submitted with `reason`, and
    the answer comes on the click's response_url as before."""
    card = bot.card(deployment_id)
    opened = len(bot.slack.open_views())
    reply = bot.requester.click(
        user_id=user, action_id=ids.APPROVE if approve else ids.REJECT,
        value=str(deployment_id) if value is None else value, message=card,
    )
    if not approve and reply.status == 200:
        view = opened_modal(bot, reply, opened)
        if view is not None:
            bot.requester.submit_view(
                view, {ids.REJECT_REASON: {ids.REJECT_REASON: text_value(reason)}},
                user_id=user)
    return reply


def opened_modal(bot: RunningBot, reply: Reply, opened: int,
                 timeout: float = 10) -> dict[str, Any] | None:
    """The modal a click (Reject, Not applicable) opened, or None when the click was
    answered instead (a refusal on its response_url); waited for, `timeout` only bounding
    a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = bot.slack.open_views()
        if len(views) > opened:
            return views[-1].view
        if any(c.key == reply.response_key for c in bot.slack.calls("response_url")):
            return None
        time.sleep(0.01)
    raise AssertionError("the click neither opened a modal nor was answered")


def click_reply(bot: RunningBot, deployment_id: int, user: str, *, approve: bool = True,
                value: str | None = None) -> str:
    """Click, check the click was acknowledged, and return the ephemeral answer's text."""
    reply = click(bot, deployment_id, user, approve=approve, value=value)
    assert reply.status == 200, reply.body
    return ephemeral_text(bot, reply)


def ephemeral_text(bot: RunningBot, reply: Reply) -> str:
    """The one ephemeral answer posted to the request's response_url."""
    (post,) = bot.requester.response_posts(reply)
    assert post.args.get("response_type") == "ephemeral", post.args
    assert post.args.get("replace_original") is False, post.args
    return str(post.args["text"])


def settle(bot: RunningBot) -> None:
    """Wait until the listeners started before now have run.

    Bolt runs lazy listeners on a FIFO thread pool; a `/deploys` request sent now is served
    after every earlier one was picked up, so once it has answered, an earlier listener that
    does no I/O has finished too."""
    bot.requester.response_posts(bot.requester.command("/deploys", "", user_id=REQUESTER))


def deployment_ids(bot: RunningBot) -> list[int]:
    with bot.container.database.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM deployments ORDER BY id"))]


def audit_actions(bot: RunningBot, deployment_id: int | None = None) -> list[str]:
    """The state changes recorded (of one deployment); not the Slack request trail
    (`slack.command`, `slack.click`, `slack.refused`)."""
    sql = "SELECT action FROM audit_events WHERE action NOT LIKE 'slack.%'"
    params: dict[str, Any] = {}
    if deployment_id is not None:
        sql += " AND deployment_id = :d"
        params["d"] = deployment_id
    with bot.container.database.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(sql + " ORDER BY id"), params)]


def decisions(bot: RunningBot, deployment_id: int) -> list[tuple[str, bool]]:
    return [(d.user_id, d.approve) for d in bot.deployment(deployment_id).decisions]


def posts_to(bot: RunningBot, channel: str) -> list[Call]:
    return [c for c in bot.slack.calls("chat.postMessage") if c.args.get("channel") == channel]


def updates_of(bot: RunningBot, ts: str) -> list[Call]:
    return [c for c in bot.slack.calls("chat.update") if c.args.get("ts") == ts]


def dms(bot: RunningBot, user: str = REQUESTER) -> list[dict[str, Any]]:
    return bot.slack.messages(dm_channel(user))


def wait_dm(bot: RunningBot, user: str = REQUESTER, count: int = 1,
            timeout: float = 30) -> list[Call]:
    """The first `count` DMs to `user`, waited for: `timeout` only bounds a hang (on a busy
    machine, e.g. under pytest-xdist, a real-seconds rollout may take far longer than 5 s)."""
    return bot.slack.wait_for("chat.postMessage", count=count, timeout=timeout,
                              predicate=lambda c: c.args.get("channel") == user)


def announcements(bot: RunningBot) -> list[dict[str, Any]]:
    """Top-level channel messages that are not approval cards."""
    return [m for m in bot.slack.messages(CHANNEL)
            if m["thread_ts"] is None and not str(m["text"]).startswith(CARD_TEXTS)]


def thread_replies(bot: RunningBot, ts: str) -> list[dict[str, Any]]:
    return [m for m in bot.slack.messages(CHANNEL) if m["thread_ts"] == ts]


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b.get("type") == "actions" for b in message.get("blocks") or [])


def blocks_text(message: dict[str, Any]) -> str:
    """Every mrkdwn/plain text of a message's blocks, joined."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                if isinstance(v, dict | list):
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(message.get("blocks") or [])
    return "\n".join(out)


def run_to_end(bot: RunningBot, deployment_id: int, user: str = REQUESTER) -> State:
    """Wait for the requester's result DM and the runner, and return the final state."""
    wait_dm(bot, user)
    assert bot.container.runner.wait_idle()
    return bot.deployment(deployment_id).state


def in_flight_elsewhere(bot: RunningBot, clock: ManualClock) -> int:
    """A deploy of api to staging running in another process (the one-at-a-time rule's):
    claimed by another owner for an hour and running; its id."""
    at = clock.now()
    with bot.container.database.transaction() as r:
        busy = r.deployments.add(NewDeployment(
            service="api", environment="staging", version="v1.2.3", previous_version=None,
            state=State.QUEUED, requested_by=REQUESTER, requested_at=at, approvals_required=0,
            expires_at=None))
        assert r.deployments.claim(busy.id, owner="elsewhere", at=at,
                                   until=at + timedelta(hours=1))
        assert r.deployments.transition(busy.id, State.RUNNING, at=at, started_at=at)
    return busy.id
