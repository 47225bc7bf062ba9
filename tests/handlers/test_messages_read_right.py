"""Every message the running bot sends reads right (tests/presentation/message_lint.py says
what that means), including those a service builds itself: a week's commands and clicks
go through the real Bolt app, and each message the fake Slack receives — posts, updates,
ephemeral answers on response_urls, DMs and the App Home — is checked. What a user types
(`<!channel>`, `<@U123>`, `*bold*`, `&`, a tag) goes into every free-text field on the way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.states import State
from bot.presentation.parts import Message
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import click, request, run_to_end, settle, wait_dm
from tests.presentation.message_lint import HOSTILE, problems

AUDITOR = "U0AUDIT"
_POSTED = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")


def _message(call_args: dict[str, Any]) -> Message:
    blocks = call_args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return Message(text=str(call_args.get("text") or ""), blocks=list(blocks))


def everything_sent(bot: RunningBot) -> list[tuple[str, Message | dict[str, Any]]]:
    out: list[tuple[str, Message | dict[str, Any]]] = []
    for call in bot.slack.calls():
        if call.method in _POSTED and (call.args.get("text") or call.args.get("blocks")):
            out.append((call.method, _message(call.args)))
        elif call.method == "views.publish":
            view = call.args.get("view")
            out.append((call.method, json.loads(view) if isinstance(view, str) else view))
    return out


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config(audit={"viewers": ["auditors"]})
    cfg["roles"]["auditors"] = [AUDITOR]
    return cfg


def test_a_week_of_deploybot_reads_right(bot: RunningBot) -> None:
    staging = request(bot, "staging v1.2.3")
    assert run_to_end(bot, staging) is State.SUCCEEDED
    production = request(bot, "production v1.2.3")
    assert click(bot, production, APPROVER).status == 200
    wait_dm(bot, REQUESTER, count=2)  # the second result DM
    assert bot.container.runner.wait_idle()
    assert bot.deployment(production).state is State.SUCCEEDED

    commands = [
        ("/deploy", f"production {HOSTILE}", REQUESTER),  # refused: not a version
        ("/deploy", "help", REQUESTER),
        ("/deploy", "status", REQUESTER),
        ("/lock", f'production api "{HOSTILE}" for 2h', APPROVER),
        ("/deploy", "production v1.2.4", REQUESTER),  # refused: locked
        ("/lock", "list", REQUESTER),
        ("/unlock", "production api", APPROVER),
        ("/freeze", "", REQUESTER),
        ("/freeze", "list", REQUESTER),
        ("/deploys", "", REQUESTER),
        ("/deploys", "production", REQUESTER),
        ("/deploys", "stats", REQUESTER),
        ("/audit", "", AUDITOR),
        ("/audit", "help", AUDITOR),
        ("/audit", "production 7d", AUDITOR),
        ("/rollback", "production api", REQUESTER),
    ]
    acks: list[tuple[str, Message | dict[str, Any]]] = []
    for name, text, user in commands:
        reply = bot.requester.command(name, text, user_id=user)
        assert reply.status == 200, (name, text, reply.body)
        if isinstance(reply.json, dict):  # answered on the ack (a refusal, help)
            acks.append((f"ack of {name} {text}", _message(reply.json)))
    settle(bot)

    assert len(acks) >= 3  # the refusals and the help come on the ack
    sent = everything_sent(bot) + acks
    assert len(sent) > 20
    found = {f"{method}: {p}" for method, message in sent for p in problems(message)}
    assert sorted(found) == []
