"""Every slash command with arbitrary text, through the service parsers and over HTTP.

The bot has two services (one with migrations, one deployed to staging only), so that the
parsers' names can be right, wrong or ambiguous.

Properties:
- each service's `parse` (what the listener calls on the ack path) returns its arguments or
  raises the project's `UserError` with a message naming the problem; never another
  exception;
- over HTTP, every command with any text, from a user with no role (a well-formed Slack user
  id: tests/fuzz/test_fuzz_slack_events.py sends any), is answered 200, privately
  (how fast: benchmarks/ack_budget.py): the ack is empty or an ephemeral message (whose text blocks
  Slack would take), and whatever the bot posts later to the request's response_url is
  ephemeral too; a text the parser refuses is refused in the ack, with the parser's message;
  never a traceback in any log;
- nothing but the request trail changes (audit rows, the request's claim): a user with no
  role can change nothing, and a text the parser refuses changes nothing either.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from bot.container import Container
from bot.errors import CommandUsageError, UserError
from tests.fuzz.harness import Served, changed, fuzz_config
from tests.fuzz.profiles import scaled
from tests.fuzz.strategies import COMMANDS, command_texts, slack_user_ids

#: What a request may change when it is answered: the request trail.
TRAIL = {"audit_events", "claims.slack", "memory.slack_claims"}
#: Slack's limit on the text of a section block (and of a message's `text`: 40,000).
SECTION_TEXT = 3000


@pytest.fixture(scope="module")
def fuzz_config_data() -> dict[str, Any]:
    return fuzz_config(services={
        "api": {"executor": "simulated",
                "migrations": {"command": ["python", "manage.py", "migrate"],
                               "status_command": ["python", "manage.py", "showmigrations"]}},
        "web": {"executor": "simulated", "environments": ["staging"]},
    })


def parser_of(container: Container, command: str) -> Callable[[str], object]:
    """The service method the command's listener parses its text with."""
    return {
        "/deploy": container.deployments.parse,
        "/rollback": container.rollbacks.parse,
        "/freeze": container.freezes.parse,
        "/lock": container.locks.parse,
        "/unlock": container.locks.parse_unlock,
        "/deploys": container.history.parse,
        "/audit": container.audit.parse,
        "/migrations": container.migrations.parse,
        "/migrate": container.migrations.parse_migrate,
        "/ci": container.ci.parse,
        "/rollout": lambda text: container.troubleshooting.parse("rollout", text),
        "/pods": lambda text: container.troubleshooting.parse("pods", text),
        "/events": lambda text: container.troubleshooting.parse("events", text),
    }[command]


def parsed_or_refused(parse: Callable[[str], object], text: str) -> UserError | None:
    """None when `parse` took `text`; the UserError it refused it with. Anything else it
    raises fails the test."""
    try:
        parse(text)
    except UserError as e:
        assert e.message.strip(), f"{type(e).__name__} without a message"
        if isinstance(e, CommandUsageError):
            assert e.problem.strip(), f"{type(e).__name__} naming no problem"
        return e
    return None


@settings(max_examples=scaled(2))  # in process: no HTTP
@given(command=st.sampled_from(COMMANDS), text=command_texts)
def test_every_service_parser_parses_or_refuses_with_a_message(
        served: Served, command: str, text: str) -> None:
    refusal = parsed_or_refused(parser_of(served.bot.container, command), text)
    assert refusal is None or refusal.message.strip(), (command, text)


def section_texts(blocks: Any) -> list[str]:
    out: list[str] = []
    for b in blocks if isinstance(blocks, list) else []:
        t = b.get("text") if isinstance(b, dict) else None
        if isinstance(t, dict) and isinstance(t.get("text"), str):
            out.append(t["text"])
    return out


def assert_ephemeral(message: dict[str, Any]) -> None:
    assert message.get("response_type") == "ephemeral", message
    for t in section_texts(message.get("blocks")):
        assert len(t) <= SECTION_TEXT, f"a section of {len(t)} characters"


@given(command=st.sampled_from(COMMANDS), text=command_texts, user=slack_user_ids)
def test_every_command_with_any_text_is_answered_privately_and_changes_nothing(
        served: Served, command: str, text: str, user: str) -> None:
    bot = served.bot
    served.settle()
    served.logs.clear()
    before = served.snapshot()
    refusal = parsed_or_refused(parser_of(bot.container, command), text)

    reply = bot.requester.command(command, text, user_id=user)
    note(f"ack={reply.status} {reply.body[:1000]!r} in {reply.elapsed:.3f}s")
    served.settle()
    after = served.snapshot()
    tracebacks = served.logs.tracebacks()

    assert reply.status == 200, reply.body[:500]
    assert tracebacks == [], tracebacks
    ack = json.loads(reply.body) if reply.body else None
    if ack is not None:
        assert_ephemeral(ack)
    if refusal is not None:  # refused on the ack path: the ack says why, in the parser's words
        assert ack is not None, f"refused ({refusal.message[:80]!r}), but an empty ack"
        assert refusal.message in ack.get("text", ""), ack
    assert reply.response_key is not None
    for post in bot.slack.response_posts(reply.response_key):
        assert_ephemeral(post.args)
    assert set(changed(before, after)) <= TRAIL, changed(before, after)
