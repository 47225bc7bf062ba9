"""A flood is refused before it is taken: with `runner.listener_queue` items waiting on the
listener pool, a slash command is told "busy, nothing was done" (ephemeral, HTTP 200) and a
click gets 503 with Retry-After; nothing is stored, claimed or audited for them; once the
queue drains, requests are taken again. Over signed Slack HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text

from bot.presentation import ids
from tests.conftest import APPROVER, RunningBot, base_config

LIMIT = 3


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["runner"] = {**cfg.get("runner", {}), "listener_queue": LIMIT}
    return cfg


def count(bot: RunningBot, table: str) -> int:
    with bot.container.database.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def rows(bot: RunningBot, sql: str) -> list[Any]:
    with bot.container.database.engine.connect() as conn:
        return list(conn.execute(text(sql)))


def test_a_full_listener_queue_refuses_new_requests_until_it_drains(bot: RunningBot) -> None:
    background = bot.container.background
    release = threading.Event()
    try:
        for _ in range(LIMIT):  # the pool's one thread is held; the rest wait behind it
            background.submit(lambda: release.wait(30))
        assert background.saturated
        before = {t: count(bot, t) for t in ("deployments", "audit_events", "announcements")}

        reply = bot.deploy("production v1.2.3")
        assert reply.status == 200
        assert reply.json["response_type"] == "ephemeral"
        assert reply.json["text"].startswith(
            f"⏳ deploybot is busy ({LIMIT} requests are waiting to be done), so nothing "
            "was done."), reply.json

        click = bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE, value="1")
        assert click.status == 503
        assert click.headers.get("retry-after") == "10"

        after = {t: count(bot, t) for t in before}
        assert after == before  # nothing stored, claimed or audited
    finally:
        release.set()
    assert background.wait_idle(timeout=30)
    assert not background.saturated

    reply = bot.deploy("production v1.2.4")
    assert reply.status == 200
    assert reply.json["text"].startswith("⏳ Requesting"), reply.json
    assert background.wait_idle(timeout=30)
    assert count(bot, "deployments") == 1
    # The audit trail (written off the ack path) has the request taken, not those refused.
    trail = [(a, str(d)) for a, d in rows(bot, "SELECT action, details FROM audit_events "
                                              "WHERE action LIKE 'slack.%' ORDER BY id")]
    assert any("v1.2.4" in d for _, d in trail), trail
    assert not any("v1.2.3" in d or ids.APPROVE in d for _, d in trail), trail

