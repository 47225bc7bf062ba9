"""Over-long text that a command would store is refused in the ack, over real signed HTTP,
with a message naming the limit; nothing is stored (issue 14).

Before: a version matching the pattern but longer than its 128-character column was acked
with "⏳ Requesting…", and the insert then failed ("💥 Something went wrong").
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from bot.domain.commands import MAX_REASON as MAX_DEPLOY_REASON
from bot.domain.commands import MAX_VERSION
from bot.domain.freeze_commands import MAX_NAME as MAX_FREEZE_NAME
from bot.domain.freeze_commands import MAX_REASON as MAX_FREEZE_REASON
from bot.domain.lock_commands import MAX_REASON as MAX_LOCK_REASON
from tests.conftest import APPROVER, REQUESTER, RunningBot
from tests.handlers.spine import settle

LONG_SUFFIX = "v1.2.3-" + "a" * 200  # the two examples
LONG_NINES = "v" + "9" * 300 + ".0.0"

STORED = {t: f"SELECT count(*) FROM {t}" for t in (
    "deployments", "locks", "freezes", "faulty_versions", "approval_decisions",
    "simulated_workloads")}
# Not the claims that each Slack request is handled once (PostgreSQL keeps them there).
STORED["announcements"] = ("SELECT count(*) FROM announcements "
                           "WHERE key NOT LIKE 'slack-request:%'")


def stored(bot: RunningBot) -> dict[str, int]:
    with bot.container.database.engine.connect() as conn:
        return {t: int(conn.execute(text(sql)).scalar_one()) for t, sql in STORED.items()}


def refused_in_the_ack(bot: RunningBot, command: str, text_: str, problem: str,
                       user: str = REQUESTER) -> None:
    before = stored(bot)
    reply = bot.requester.command(command, text_, user_id=user)
    assert reply.status == 200, reply.body
    body: Any = reply.json
    assert body["response_type"] == "ephemeral"
    assert problem in body["text"], body["text"]
    settle(bot)
    # The ack was the answer: nothing followed on the response_url, nothing was stored.
    assert bot.slack.response_posts(reply.response_key) == []
    assert stored(bot) == before
    assert bot.slack.calls("chat.postMessage") == []


@pytest.mark.parametrize("version", [LONG_SUFFIX, LONG_NINES], ids=["suffix", "nines"])
@pytest.mark.parametrize("command,form", [
    ("/deploy", "staging {v}"), ("/deploy", "production --version={v}"),
    ("/rollback", "staging api {v}"),
], ids=["deploy", "deploy-option", "rollback"])
def test_a_version_longer_than_its_column_is_refused_in_the_ack(
        bot: RunningBot, version: str, command: str, form: str) -> None:
    refused_in_the_ack(bot, command, form.format(v=version),
                       f"The version is {len(version)} characters long; the limit is "
                       f"{MAX_VERSION}.")


def test_a_version_at_the_limit_is_requested(bot: RunningBot) -> None:
    version = "v1.2.3-" + "a" * (MAX_VERSION - len("v1.2.3-"))
    reply = bot.deploy(f"staging {version}")
    assert reply.status == 200
    (post,) = bot.requester.response_posts(reply)
    assert "Deployment #1 " in post.args["text"], post.args["text"]
    assert bot.deployment(1).version == version


@pytest.mark.parametrize("command,text_,problem,limit,user", [
    ("/deploy", 'staging v1.2.3 --emergency "{r}"',
     "The emergency reason is {n} characters long; the limit is {limit}.",
     MAX_DEPLOY_REASON, REQUESTER),
    ("/deploy", 'staging v1.2.3 --force "{r}"',
     "The force reason is {n} characters long; the limit is {limit}.",
     MAX_DEPLOY_REASON, REQUESTER),
    ("/lock", 'staging api "{r}"', "The reason is {n} characters long; the limit is {limit}.",
     MAX_LOCK_REASON, REQUESTER),
    ("/freeze", 'add "{r}" 2026-12-10 to 2026-12-10',
     "The freeze name is {n} characters long; the limit is {limit}.",
     MAX_FREEZE_NAME, APPROVER),
    ("/freeze", 'add "Drill" 2026-12-10 to 2026-12-10 --reason "{r}"',
     "The reason is {n} characters long; the limit is {limit}.",
     MAX_FREEZE_REASON, APPROVER),
], ids=["emergency-reason", "force-reason", "lock-reason", "freeze-name", "freeze-reason"])
def test_a_reason_or_name_longer_than_kept_is_refused_in_the_ack(
        bot: RunningBot, command: str, text_: str, problem: str, limit: int, user: str
) -> None:
    n = limit + 1
    refused_in_the_ack(bot, command, text_.format(r="x" * n),
                       problem.format(n=n, limit=limit), user)
