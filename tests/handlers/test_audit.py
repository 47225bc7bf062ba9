"""The audit log over signed Slack HTTP: every command, click and refusal is recorded (with
the Slack user id, the time and the details, secrets redacted) besides the state changes;
`/audit` shows it to the audit viewers only."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.domain.audit import CLICK, COMMAND, REFUSED
from bot.presentation import ids
from bot.store.models import AuditRow
from tests.conftest import APPROVER, OUTSIDER, REQUESTER, WEDNESDAY, RunningBot, base_config
from tests.handlers.spine import blocks_text, click_reply, ephemeral_text, request

AUDITOR = "U0AUDIT"


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config(audit={"viewers": ["auditors"]})
    cfg["roles"]["auditors"] = [AUDITOR]
    return cfg


def trail(bot: RunningBot, *actions: str) -> list[dict[str, Any]]:
    """The audit rows (of these actions), oldest first, once the pool has written them."""
    assert bot.container.background.wait_idle(10)
    bot.container.audit.flush()
    with bot.container.database.engine.connect() as conn:
        q = select(AuditRow).order_by(AuditRow.id)
        if actions:
            q = q.where(AuditRow.action.in_(actions))
        return [dict(r._mapping) for r in conn.execute(q)]


def test_a_command_and_its_refusal_are_recorded(bot: RunningBot) -> None:
    reply = bot.requester.command("/deploy", "production v1.2.3", user_id=OUTSIDER,
                                  channel_id="C0OTHER")
    assert "You may not deploy to production" in ephemeral_text(bot, reply)

    command, refused = trail(bot, COMMAND, REFUSED)
    assert (command["actor"], command["action"], command["environment"],
            command["slack_channel"]) == (OUTSIDER, COMMAND, "production", "C0OTHER")
    assert command["details"] == {"command": "/deploy", "text": "production v1.2.3"}
    assert command["at"] == WEDNESDAY and command["deployment_id"] is None
    assert (refused["actor"], refused["environment"], refused["slack_channel"]) == (
        OUTSIDER, "production", "C0OTHER")
    assert refused["details"]["request"] == "/deploy production v1.2.3"
    assert refused["details"]["error"] == "Forbidden"
    assert refused["details"]["message"].startswith("You may not deploy to production")
    assert trail(bot, "deploy.requested") == []  # nothing else was stored


def test_bad_input_refused_in_the_ack_is_recorded(bot: RunningBot) -> None:
    reply = bot.deploy("production nope", user=REQUESTER)
    assert reply.json["text"].startswith("⚠️")
    (refused,) = trail(bot, REFUSED)
    assert refused["details"]["request"] == "/deploy production nope"
    assert refused["details"]["error"] == "UsageError"
    told = reply.json["text"].removeprefix("⚠️ ")
    assert len(told) > 500  # the problem and the usage; the log keeps the first 500
    assert refused["details"]["message"] == told[:499] + "…"


def test_a_click_and_a_refused_click_are_recorded(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    card_ts = bot.deployment(i).message_ts
    refused = click_reply(bot, i, REQUESTER)  # the requester may not approve their own
    assert "approve" in refused.lower()
    assert "approved deployment" in click_reply(bot, i, APPROVER)

    clicks = trail(bot, CLICK)
    assert [(c["actor"], c["environment"], c["slack_ts"], c["slack_channel"]) for c in clicks] \
        == [(REQUESTER, "production", card_ts, "C0DEPLOYS"),
            (APPROVER, "production", card_ts, "C0DEPLOYS")]
    assert clicks[1]["details"] == {"action_id": ids.APPROVE, "value": str(i),
                                    "block_id": ids.APPROVAL_BLOCK, "deployment_id": i}
    (no,) = trail(bot, REFUSED)
    assert (no["actor"], no["environment"]) == (REQUESTER, "production")
    assert no["details"]["request"] == f"click {ids.APPROVE}"
    assert no["details"]["deployment_id"] == i
    # the state changes carry the deployment's environment too
    changes = trail(bot, "deploy.requested", "deploy.approved")
    assert [(c["action"], c["environment"], c["deployment_id"]) for c in changes] == [
        ("deploy.requested", "production", i), ("deploy.approved", "production", i)]


def test_secrets_and_request_credentials_are_never_recorded(bot: RunningBot) -> None:
    reply = bot.deploy('production v1.2.3 --emergency "use token=xoxb-1234-abcdEFGH to fix"')
    ephemeral_text(bot, reply)
    stored = json.dumps([{k: str(v) for k, v in r.items()} for r in trail(bot)])
    assert "xoxb-1234" not in stored and "abcdEFGH" not in stored
    assert "token=[redacted]" in stored
    assert "hooks.slack.com" not in stored and "/response/" not in stored  # no response_url
    assert "DEPRECATEDverification" not in stored  # nor Slack's verification token


def audit(bot: RunningBot, text: str, *, user: str = AUDITOR) -> tuple[str, list[str]]:
    reply = bot.requester.command("/audit", text, user_id=user)
    assert reply.status == 200, reply.body
    (post,) = bot.requester.response_posts(reply)
    assert post.args["response_type"] == "ephemeral"
    return str(post.args["text"]), [blocks_text({"blocks": [b]}) for b in post.args["blocks"]]


def test_audit_viewers_see_the_latest_events(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    request(bot, "staging v1.2.3")
    click_reply(bot, i, APPROVER)
    # The approved deploy runs on the simulated cluster, whose rollout moves the test's clock
    # on: wait for it, so the audit's "since" (7 days before now) is read from a clock that
    # stands still (it was 10:00 or 10:01 by the race of the runner and the command).
    assert bot.container.runner.wait_idle()
    trail(bot)
    since = (bot.clock.now() - timedelta(days=7)).astimezone(ZoneInfo("America/New_York"))

    text, blocks = audit(bot, "production 7d")

    assert text.startswith(f"Audit log: production, since {since:%a %Y-%m-%d %H:%M} EST")
    assert since >= WEDNESDAY - timedelta(days=7)
    events = blocks[1:-1]
    actions = [e.split(" · ")[3] for e in events]
    assert "`deploy.requested`" in actions and "`slack.click`" in actions
    assert all("*production*" in e for e in events)  # staging's are not shown
    newest = [int(e.split(" · ")[0].strip("*#")) for e in events]
    assert newest == sorted(newest, reverse=True)
    click = next(e for e in events if "`slack.click`" in e)
    assert f"<@{APPROVER}>" in click and f"deployment_id: {i}" in click
    assert "Wed 2026-11-18 10:00 EST" in click
    assert "`deploybot audit export --format csv" in blocks[-1]


def test_the_audit_log_is_paginated(bot: RunningBot) -> None:
    for n in range(30):
        bot.deploy(f"staging nope{n}")  # 30 refused commands: 60 events
    trail(bot)
    _, blocks = audit(bot, "staging")
    events = blocks[1:-1]
    assert len(events) == 25
    last = events[-1].split(" · ")[0].strip("*#")
    assert f"older ones: `/audit staging before {last}`" in blocks[-1]
    _, older = audit(bot, f"staging before {last}")
    assert int(older[1].split(" · ")[0].strip("*#")) < int(last)


def test_others_are_refused_and_the_refusal_is_recorded(bot: RunningBot) -> None:
    reply = bot.requester.command("/audit", "production", user_id=REQUESTER)
    text = ephemeral_text(bot, reply)
    assert text.startswith("⚠️ You may not read the audit log: that needs the `auditors` role")
    (refused,) = trail(bot, REFUSED)
    assert (refused["actor"], refused["details"]["request"], refused["details"]["error"]) == (
        REQUESTER, "/audit production", "Forbidden")


def test_bad_audit_arguments(bot: RunningBot) -> None:
    reply = bot.requester.command("/audit", "prod", user_id=AUDITOR)
    assert reply.json["text"].startswith("⚠️ `prod` is neither an environment")
    assert bot.requester.response_posts(reply, count=0, timeout=0.2) == []
