"""`/deploy status`: what runs where, and the last deployments (`/deploys` is the history:
tests/handlers/test_history.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.blocks import STATE_LINE
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    blocks_text,
    click_reply,
    deployment_ids,
    ephemeral_text,
    request,
    run_to_end,
    wait_dm,
)
from tests.slack_hold import SlackHold, acked_while_held

STATUS_COMMANDS = [("/deploy", "status"), ("/deploy", "  status  ")]


def status(bot: RunningBot, command: str, text: str) -> str:
    reply = bot.requester.command(command, text, user_id=REQUESTER)
    assert reply.status == 200
    assert ephemeral_text(bot, reply) == "Deployment status"
    (post,) = bot.requester.response_posts(reply)
    return blocks_text(post.args)


def test_status_is_acked_before_it_is_answered(bot: RunningBot, slack_hold: SlackHold) -> None:
    # The ack comes back while the answer's post is held: the status is looked up and
    # rendered after the ack, never before it.
    reply = acked_while_held(
        slack_hold, lambda: bot.requester.command("/deploy", "status", user_id=REQUESTER),
        "response_url")
    assert reply.status == 200 and reply.body == ""
    assert ephemeral_text(bot, reply) == "Deployment status"


def lines_under(text: str, heading: str) -> list[str]:
    part = text.split(f"*{heading}*\n", 1)[1]
    return [ln for ln in part.split("\n\n", 1)[0].splitlines() if ln.strip()]


@pytest.mark.parametrize(("command", "text"), STATUS_COMMANDS)
def test_status_before_any_deployment(bot: RunningBot, command: str, text: str) -> None:
    body = status(bot, command, text)

    running = lines_under(body, "Running now")
    # deploybot never deployed there and the simulated cluster has no record of when its
    # initial version started: the time is unknown, never invented.
    # The environments in app.yaml's order (the team's promotion order), as the deploy
    # windows below list them: staging, then production — not alphabetically.
    assert running == ["• `staging` / `api`: `v1.2.2` (since unknown)",
                       "• `production` / `api`: `v1.2.2` (since unknown)"]
    assert [ln.split("`")[1] for ln in lines_under(body, "Deploy windows")] == [
        "staging", "production"]
    assert lines_under(body, "Last deployments") == ["_None yet._"]
    assert deployment_ids(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


@pytest.mark.parametrize(("command", "text"), STATUS_COMMANDS)
def test_status_shows_running_versions_and_the_last_deployments(
    bot: RunningBot, command: str, text: str
) -> None:
    a = request(bot, "staging v1.2.3")
    assert run_to_end(bot, a) is State.SUCCEEDED
    b = request(bot, "production v1.2.3")
    click_reply(bot, b, APPROVER)
    wait_dm(bot, count=2)
    assert bot.container.runner.wait_idle()
    c = request(bot, "staging v1.2.4-bad")
    wait_dm(bot, count=3)
    assert bot.container.runner.wait_idle()
    d = request(bot, "production v1.2.4")
    assert [bot.deployment(i).state for i in (a, b, c, d)] == [
        State.SUCCEEDED, State.SUCCEEDED, State.FAILED, State.AWAITING_APPROVAL]

    body = status(bot, command, text)

    running = lines_under(body, "Running now")
    assert [ln.split(" since ")[0] for ln in running] == [
        "• `staging` / `api`: `v1.2.3`",  # the failed v1.2.4-bad is not running
        "• `production` / `api`: `v1.2.3`",
    ]
    recent = lines_under(body, "Last deployments")
    assert len(recent) == 4
    expected = [
        (d, "`v1.2.4` → `production`", State.AWAITING_APPROVAL),
        (c, "`v1.2.4-bad` → `staging`", State.FAILED),
        (b, "`v1.2.3` → `production`", State.SUCCEEDED),
        (a, "`v1.2.3` → `staging`", State.SUCCEEDED),
    ]
    for line, (i, what, state) in zip(recent, expected, strict=True):
        assert line.startswith(f"• #{i} `api` {what} — {STATE_LINE[state]} — "), line
    assert all(f"<@{REQUESTER}>" in ln for ln in recent)


def test_status_lists_at_most_the_last_ten(bot: RunningBot) -> None:
    for n in range(12):
        request(bot, f"production v1.2.{n + 10}")
    recent = lines_under(status(bot, "/deploy", "status"), "Last deployments")
    assert len(recent) == 10
    assert recent[0].startswith("• #12 ")
    assert recent[-1].startswith("• #3 ")


class TestServicesPerEnvironment:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config(services={"api": {"executor": "simulated"},
                                     "web": {"executor": "simulated",
                                             "environments": ["staging"]}})

    def test_each_service_is_listed_where_it_deploys(self, bot: RunningBot) -> None:
        i = request(bot, "web staging v2.0.0")
        assert run_to_end(bot, i) is State.SUCCEEDED

        running = lines_under(status(bot, "/deploy", "status"), "Running now")

        assert [ln.split(" since ")[0] for ln in running] == [
            "• `staging` / `api`: `v1.2.2` (since unknown)",
            "• `staging` / `web`: `v2.0.0`",
            "• `production` / `api`: `v1.2.2` (since unknown)",
        ]

    def test_a_service_cannot_be_deployed_where_it_does_not_run(self, bot: RunningBot) -> None:
        reply = bot.deploy("web production v2.0.0")
        assert reply.json["response_type"] == "ephemeral"
        assert "`web` is not deployed to `production`" in reply.json["text"]
        assert deployment_ids(bot) == []


class TestAfterARollback:
    """A rollback locks the service there until someone unlocks it (rollbacks.lock): the
    status says so where App Home does — on the service's line, on its environment's window
    line — and lists the rollback as one ("back to …"), not as a deploy."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        cfg = base_config()
        cfg["simulated"]["fail_verify"] = "-flaky$"
        cfg["environments"]["staging"] = {"verify": {"bake": "5m", "auto_rollback": False}}
        return cfg

    def test_the_lock_and_the_rollback_are_shown(self, bot: RunningBot) -> None:
        assert run_to_end(bot, request(bot, "staging v1.3.0")) is State.SUCCEEDED
        assert run_to_end(bot, request(bot, "staging v1.4.0-flaky")) is State.FAILED
        rolled = rollback(bot, "staging")
        assert bot.deployment(rolled).state is State.SUCCEEDED

        body = status(bot, "/deploy", "status")

        running = lines_under(body, "Running now")
        (staging,) = [ln for ln in running if ln.startswith("• `staging` / `api`")]
        assert staging.startswith("• `staging` / `api`: `v1.3.0` since "), staging
        # who, after which rollback, since when, until when, why: as App Home says it
        assert f" — 🔒 locked by <@{REQUESTER}> after rollback #{rolled} since " in staging
        assert ", until unlocked: " in staging and "rolled back to v1.3.0" in staging
        (production,) = [ln for ln in running if ln.startswith("• `production` / `api`")]
        assert "🔒" not in production

        windows = lines_under(body, "Deploy windows")
        (staging_window,) = [w for w in windows if w.startswith("• `staging`")]
        assert staging_window.startswith(
            f"• `staging`: 🟢 open now · 🔒 `api` locked by <@{REQUESTER}>"), staging_window
        (production_window,) = [w for w in windows if w.startswith("• `production`")]
        assert "🔒" not in production_window

        recent = lines_under(body, "Last deployments")
        assert recent[0].startswith(
            f"• #{rolled} `api` back to `v1.3.0` in `staging` — ✅ Succeeded — "), recent[0]

        # Unlocked, nothing says locked any more.
        unlocked = ephemeral_text(bot, bot.requester.command("/unlock", "staging api",
                                                             user_id=REQUESTER))
        assert unlocked.startswith("🔓"), unlocked
        assert "🔒" not in status(bot, "/deploy", "status")


def rollback(bot: RunningBot, text: str) -> int:
    """`/rollback text`, confirmed by its button, run to its end: the rollback's id."""
    reply = bot.requester.command("/rollback", text, user_id=REQUESTER)
    (post,) = bot.requester.response_posts(reply)
    (button,) = [b["elements"][0] for b in post.args.get("blocks") or []
                 if b.get("block_id") == ids.ROLLBACK_BLOCK]
    before = set(deployment_ids(bot))
    click = bot.requester.click(user_id=REQUESTER, action_id=ids.ROLLBACK_CONFIRM,
                                value=button["value"], channel_id="C0DEPLOYS")
    assert click.status == 200, click.body
    bot.requester.response_posts(click)
    (new,) = set(deployment_ids(bot)) - before
    assert run_to_end(bot, new) is State.SUCCEEDED
    return new
