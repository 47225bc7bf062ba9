"""`/deploys [environment] [service]` and `/deploys stats`, over signed Slack HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.domain.states import State
from bot.presentation.blocks import when
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    blocks_text,
    click_reply,
    deployment_ids,
    request,
    run_to_end,
    wait_dm,
)

NOW = "Wed 2026-11-18 10:00 EST"  # WEDNESDAY in the team's zone
LATER = "Wed 2026-11-18 10:05 EST"


def deploys(bot: RunningBot, text: str, *, user: str = REQUESTER) -> tuple[str, list[str]]:
    """(the answer's fallback text, the text of each of its blocks)."""
    reply = bot.requester.command("/deploys", text, user_id=user)
    assert reply.status == 200, reply.body
    assert not reply.body  # a plain ack; the answer follows on the response_url
    (post,) = bot.requester.response_posts(reply)
    assert post.args["response_type"] == "ephemeral"
    return str(post.args["text"]), [blocks_text({"blocks": [b]}) for b in post.args["blocks"]]


def lines(blocks: list[str]) -> list[str]:
    """The deployments listed (one block each, between the title and the footer)."""
    return blocks[1:-1]


@pytest.fixture
def four(bot: RunningBot) -> list[int]:
    """staging v1.2.3 (ok), production v1.2.3 (approved, ok), staging v1.2.4-bad (rollout
    failed), production v1.2.4 (awaiting approval)."""
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
    return [a, b, c, d]


def test_the_last_deployments_with_who_when_result_duration_and_approvers(
        bot: RunningBot, four: list[int]) -> None:
    a, b, c, d = four
    text, blocks = deploys(bot, "")

    assert text == "Last 20 deployments: all services in all environments"
    assert blocks[0] == "*Last 20 deployments: all services in all environments* — newest first"
    # production watches its new pods for 5 minutes (the clock moves on meanwhile)
    assert lines(blocks) == [
        f"*#{d}* 🚀 deploy · `api` `v1.2.4` → *production* · ⏳ Awaiting approval\n"
        f"<@{REQUESTER}> · requested {LATER} · no approval yet (1 needed)",
        f"*#{c}* 🚀 deploy · `api` `v1.2.4-bad` → *staging* · ❌ Failed — "
        f"{bot.deployment(c).error}\n"
        f"<@{REQUESTER}> · {LATER} · took 0s",
        f"*#{b}* 🚀 deploy · `api` `v1.2.3` → *production* · ✅ Succeeded\n"
        f"<@{REQUESTER}> · {NOW} · took 5m 00s · approved by <@{APPROVER}>",
        f"*#{a}* 🚀 deploy · `api` `v1.2.3` → *staging* · ✅ Succeeded\n"
        f"<@{REQUESTER}> · {NOW} · took 0s",
    ]
    assert "`/deploys stats`" in blocks[-1] and "America/New_York" in blocks[-1]


@pytest.mark.parametrize(("text", "title", "which"), [
    ("production", "all services in production", [3, 1]),  # no bold inside the bold
    ("staging api", "`api` in staging", [2, 0]),
    ("api staging", "`api` in staging", [2, 0]),
    ("api", "`api` in all environments", [3, 2, 1, 0]),
])
def test_filters(bot: RunningBot, four: list[int], text: str, title: str,
                 which: list[int]) -> None:
    _, blocks = deploys(bot, text)
    assert blocks[0] == f"*Last 20 deployments: {title}* — newest first"
    assert [ln.split()[0] for ln in lines(blocks)] == [f"*#{four[i]}*" for i in which]


def test_at_most_twenty(bot: RunningBot) -> None:
    for n in range(22):
        request(bot, f"production v1.3.{n}")
    _, blocks = deploys(bot, "production")
    listed = [ln.split()[0] for ln in lines(blocks)]
    assert listed == [f"*#{i}*" for i in range(22, 2, -1)]


def test_nothing_yet(bot: RunningBot) -> None:
    _, blocks = deploys(bot, "staging")
    assert lines(blocks) == ["_No deployments yet._"]


@pytest.mark.parametrize(("text", "problem"), [
    ("prod", "⚠️ Unknown environment or service `prod`. Environments: `production`, "
             "`staging`; services: `api`."),
    ("production api v1", "⚠️ Too many words: `v1` was not expected."),
    ("stats nowhere", "⚠️ Unknown environment or service `nowhere`."),
])
def test_bad_arguments_are_answered_in_the_ack(bot: RunningBot, text: str,
                                               problem: str) -> None:
    reply = bot.requester.command("/deploys", text, user_id=REQUESTER)
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert reply.json["text"].startswith(problem)
    assert "*Usage*" in reply.json["text"]
    assert bot.requester.response_posts(reply, count=0, timeout=0.2) == []


def test_help(bot: RunningBot) -> None:
    reply = bot.requester.command("/deploys", "help", user_id=REQUESTER)
    assert reply.json["text"].startswith("*Usage*")
    assert "/deploys stats" in reply.json["text"]


class TestServices:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config(services={"api": {"executor": "simulated"},
                                     "web": {"executor": "simulated",
                                             "environments": ["staging"]}})

    def test_a_service_not_deployed_there_is_refused(self, bot: RunningBot) -> None:
        reply = bot.requester.command("/deploys", "production web", user_id=REQUESTER)
        assert reply.json["text"].startswith(
            "⚠️ `web` is not deployed to `production` (it deploys to `staging`).")


class TestStats:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        cfg = base_config()
        cfg["simulated"]["fail_verify"] = "-flaky$"
        cfg["environments"]["production"]["verify"] = {"bake": "5m", "auto_rollback": True}
        return cfg

    def deploy_production(self, bot: RunningBot, version: str, count: int) -> int:
        i = request(bot, f"production {version}")
        click_reply(bot, i, APPROVER)
        wait_dm(bot, count=count)
        assert bot.container.runner.wait_idle()
        return i

    def test_the_dora_measures_of_production(self, bot: RunningBot) -> None:
        ok = self.deploy_production(bot, "v1.2.3", 1)
        bad = self.deploy_production(bot, "v1.2.4-flaky", 2)
        assert bot.deployment(ok).state is State.SUCCEEDED
        assert bot.deployment(bad).state is State.ROLLED_BACK  # failed its watch
        staging = request(bot, "staging v1.2.3")
        run_to_end(bot, staging)
        assert deployment_ids(bot) == [ok, bad, staging]

        text, blocks = deploys(bot, "stats")

        title = ("DORA measures, last 30 days: all services in production (the production "
                 "environments)")
        assert text == title
        body = blocks[0].splitlines()
        assert body[0] == f"*{title}*"  # one bold title, none nested in it
        assert body[1] == "• *Deployment frequency:* 2 deploy(s) went live — 0.1 a day, " \
                          "0.5 a week"
        assert body[2] == "• *Change failure rate:* 50.0 % — 1 of 2 failed their watch, were " \
                          "rolled back or needed a rollback"
        # the automatic rollback is instant on the simulated cluster
        assert body[3] == "• *Time to restore:* median 0s, worst 0s (1 failure(s) restored)"
        assert body[4] == "• Rollbacks that went live: 0"
        now, zone = bot.clock.now(), bot.container.config.zone
        assert blocks[-1].startswith(
            f"From {when(now - timedelta(days=30), zone)} to {when(now, zone)}, from "
            "deploybot's own records.")

    def test_another_environment_with_nothing_live(self, bot: RunningBot) -> None:
        _, blocks = deploys(bot, "stats staging api")
        body = blocks[0].splitlines()
        assert body[0] == "*DORA measures, last 30 days: `api` in staging*"
        assert body[2] == "• *Change failure rate:* — — nothing went live"
        assert body[3] == "• *Time to restore:* — (no failed deploys)"
