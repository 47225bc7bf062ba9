"""`/rollout`, `/pods` and `/events` end to end on the simulated executor: signed Slack HTTP
in, the answer out through the response_url of the fake Slack, an audit event in the real
store. Bad input (an unknown environment or service, extra words, an option) gets its own
ephemeral message on the ack; a non-deployer is refused; `/pods` and `/events` say plainly
that they do not apply to the simulated executor, and `/rollout` says what it knows.

The Kubernetes answers: tests/handlers/test_troubleshooting_kubernetes.py; GitHub Actions:
tests/handlers/test_troubleshooting_actions.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.presentation import ids
from bot.store.models import AuditRow
from devtools.slack_requests import Reply
from tests.conftest import OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import CHANNEL, blocks_text, request, run_to_end, settle

INFO = "\N{INFORMATION SOURCE}\ufe0f"  # DoesNotApply's mark


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(services={"api": {"executor": "simulated"},
                                 "web": {"executor": "simulated",
                                         "environments": ["staging"]}})


def command(bot: RunningBot, name: str, text: str, *, user: str = REQUESTER) -> Reply:
    reply = bot.requester.command(name, text, user_id=user)
    assert reply.status == 200, reply.body
    assert reply.json["response_type"] == "ephemeral"
    return reply


def answer(bot: RunningBot, reply: Reply) -> tuple[str, str]:
    """The one ephemeral answer after the ack: (its text, its blocks' text)."""
    (post,) = bot.requester.response_posts(reply, timeout=15)
    assert post.args.get("response_type") == "ephemeral", post.args
    assert post.args.get("replace_original") is False, post.args
    return str(post.args["text"]), blocks_text(dict(post.args))


def audit(bot: RunningBot, action: str) -> list[tuple[str, dict[str, Any]]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(select(AuditRow.actor, AuditRow.details)
                            .where(AuditRow.action == action).order_by(AuditRow.id)).all()
    return [(r[0], dict(r[1] or {})) for r in rows]


def test_rollout_on_the_simulated_executor_says_what_runs_since_when_and_what_ran_before(
        bot: RunningBot) -> None:
    for version in ("v1.2.3", "v1.3.0"):
        run_to_end(bot, request(bot, f"api staging {version}"))
    bot.clock.advance(timedelta(hours=2, minutes=5))

    reply = command(bot, "/rollout", "staging api")
    assert reply.json["text"] == ("⏳ Reading the rollout of `api` in staging… (the answer "
                                  "follows here)")
    text, shown = answer(bot, reply)
    assert "*Rollout of `api` in staging* — the simulated executor" in shown
    assert "Runs `v1.3.0` since Wed 2026-11-18 10:00 EST (2h 5m ago)." in shown
    assert "Before it: `v1.2.3`" in shown
    assert "has no Deployment, ReplicaSets or pods" in shown
    assert "Runs `v1.3.0`" in text
    ((actor, details),) = audit(bot, "troubleshoot.rollout")
    assert actor == REQUESTER
    assert details | {} == {"service": "api", "environment": "staging",
                            "executor": "simulated", "version": "v1.3.0", "ok": True}


@pytest.mark.parametrize("name, what", [("/pods", "it has no pods"),
                                        ("/events", "it has no Kubernetes events")])
def test_pods_and_events_say_plainly_they_do_not_apply_to_the_simulated_executor(
        bot: RunningBot, name: str, what: str) -> None:
    text, _ = answer(bot, command(bot, name, "staging api"))
    assert text == (f"{INFO} `api` runs on the simulated executor: {what}; `/rollout` shows "
                    "what runs.")
    ((actor, details),) = audit(bot, f"troubleshoot.{name[1:]}")
    assert (actor, details["ok"], details["applies"]) == (REQUESTER, True, False)


def test_the_service_may_be_left_out_where_one_service_deploys(bot: RunningBot) -> None:
    text, _ = answer(bot, command(bot, "/pods", "production"))  # only api deploys there
    assert "`api` runs on the simulated executor" in text


@pytest.mark.parametrize("name, text, problem", [
    ("/rollout", "", "Which environment? e.g. `/rollout production`."),
    ("/pods", "prod api", "Unknown environment `prod`. Did you mean `production`? Known "
                          "environments: `production`, `staging`."),
    ("/events", "staging billing", "Unknown service `billing`. Services in `staging`: "
                                   "`api`, `web`."),
    ("/pods", "production web", "`web` is not deployed to `production` (services there: "
                                "`api`)."),
    ("/rollout", "staging api now", "Too many words: `now` was not expected (`/rollout` "
                                    "takes an environment and a service)."),
    ("/pods", "staging", "Which service? Name one of `api`, `web` after the environment, "
                         "e.g. `/pods staging api`."),
    ("/events", "staging api --watch", "Unknown option `--watch`: `/events` takes no "
                                       "options."),
    ("/pods", "api staging", "Put the environment first: `/pods staging api`."),
])
def test_bad_input_gets_its_own_ephemeral_message_on_the_ack(
        bot: RunningBot, name: str, text: str, problem: str) -> None:
    reply = command(bot, name, text)
    assert reply.json["text"].startswith(f"⚠️ {problem}\n\n*Usage*\n• `{name} &lt;environment"
                                         "&gt;`"), reply.json["text"]
    settle(bot)
    assert all(c.key != reply.response_key for c in bot.slack.calls("response_url"))
    assert audit(bot, f"troubleshoot.{name[1:]}") == []


def test_help_shows_the_usage(bot: RunningBot) -> None:
    reply = command(bot, "/events", "help")
    assert reply.json["text"].startswith("*Usage*\n• `/events &lt;environment&gt;`")
    assert "warnings first" in reply.json["text"]


def test_someone_who_may_not_deploy_there_is_refused(bot: RunningBot) -> None:
    text, _ = answer(bot, command(bot, "/rollout", "staging api", user=OUTSIDER))
    assert text == ("⚠️ You may not see the rollout of `api` in staging: that needs the "
                    "`deployers` role (the environment's deployers). Ask a platform admin to "
                    "add you in app.yaml.")
    assert audit(bot, "troubleshoot.rollout") == []
    bot.container.audit.flush()
    refusals = audit(bot, "slack.refused")
    assert refusals and refusals[-1][0] == OUTSIDER


def test_the_pods_button_of_a_simulated_deployment_says_it_does_not_apply(
        bot: RunningBot) -> None:
    d = request(bot, "api staging v1.2.3")
    run_to_end(bot, d)
    clicked = bot.requester.click(user_id=REQUESTER, action_id=ids.SHOW_PODS, value=str(d),
                                  channel_id=CHANNEL)
    text, _ = answer(bot, clicked)
    assert text == (f"{INFO} `api` runs on the simulated executor: it has no pods; "
                    "`/rollout` shows what runs.")


@pytest.mark.parametrize("value, told", [
    ("99", "⚠️ There is no deployment #99."),
    ("x", "⚠️ That button does not name a deployment; it may be from an old message. Use "
          "`/deploy status` to find it."),
])
def test_a_pods_button_naming_no_deployment(bot: RunningBot, value: str, told: str) -> None:
    clicked = bot.requester.click(user_id=REQUESTER, action_id=ids.SHOW_PODS, value=value,
                                  channel_id=CHANNEL)
    text, _ = answer(bot, clicked)
    assert text == told
