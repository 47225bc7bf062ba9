"""An acknowledged request is never silently lost: a request acked ("⏳ Requesting …") whose
process stops before the answer is told to its person once, by another process.

Over signed Slack HTTP (the bot as `deploybot run` serves it): the row is written after the
ack while the answer waits on the listener pool, and deleted once the answer or the
reported error went out; a database that cannot keep the row costs a warning, not the ack.
A process that stopped is modelled by a bot whose listener pool is held: its row stays, and
two other processes (other instances on the same database) sweep at once past
`runner.answer_grace`: the person is told exactly once, on the response_url while Slack
takes it, in a DM after its 30 minutes. SQLite, and PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.container import Container, build_container
from bot.domain.acknowledged import INTERRUPTED
from bot.errors import RetryableError
from bot.ports import Repositories
from bot.scheduling import jobs
from devtools.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, OUTSIDER, REQUESTER, RunningBot

GRACE = timedelta(minutes=5)  # runner.answer_grace as shipped
WAIT = 30.0


def rows(bot: RunningBot | Container, sql: str = "SELECT what, user_id, response_url, "
         "instance FROM acknowledged_requests ORDER BY created_at") -> list[Any]:
    c = bot if isinstance(bot, Container) else bot.container
    with c.database.engine.connect() as conn:
        return list(conn.execute(text(sql)))


@contextmanager
def held(bot: RunningBot) -> Iterator[threading.Event]:
    """The listener pool's one thread busy until the block ends: acked work waits."""
    release = threading.Event()
    bot.container.background.submit(lambda: release.wait(WAIT))
    try:
        yield release
    finally:
        release.set()


@contextmanager
def other_process(config: AppConfig, database_url: str, fake_slack: FakeSlack,
                  clock: ManualClock) -> Iterator[Container]:
    """Another deploybot process on the same database (an instance of its own), its
    scheduler's jobs registered as `deploybot run` registers them."""
    c = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                        slack_api_url=fake_slack.base_url, clock=clock)
    jobs.register_instance(c)
    try:
        yield c
    finally:
        jobs.unregister_instance(c.instance)
        c.close()


def idle(bot: RunningBot) -> None:
    assert bot.container.background.wait_idle(timeout=WAIT)
    assert bot.container.acknowledged.wait_idle(timeout=WAIT)


def test_an_answered_request_leaves_no_row(bot: RunningBot) -> None:
    with held(bot):
        reply = bot.deploy("production v1.2.3")
        assert reply.json["text"].startswith("⏳ Requesting"), reply.json
        assert bot.container.acknowledged.wait_idle(timeout=WAIT)
        # Acked, not answered yet: kept, with where the answer goes.
        assert [tuple(r) for r in rows(bot)] == [
            ("/deploy production v1.2.3", REQUESTER, bot.slack.response_url(
                reply.response_key or ""), bot.container.instance)]
    posts = bot.requester.response_posts(reply)
    assert "Deployment #1 requested" in str(posts[0].args), posts[0].args
    idle(bot)
    assert rows(bot) == []


def test_a_request_answered_with_an_error_leaves_no_row(bot: RunningBot) -> None:
    with held(bot):
        reply = bot.deploy("production v1.2.3", user=OUTSIDER)
        assert reply.status == 200
        assert bot.container.acknowledged.wait_idle(timeout=WAIT)
        assert len(rows(bot)) == 1
    posts = bot.requester.response_posts(reply)
    assert "deployer" in str(posts[0].args).lower(), posts[0].args  # the reported refusal
    idle(bot)
    assert rows(bot) == []


class DownStore:
    """A database that is away: bot.store.db.Database.transaction raises RetryableError
    then ("the database is unavailable for a moment.")."""

    def transaction(self) -> AbstractContextManager[Repositories]:
        raise RetryableError("the database is unavailable for a moment.")


def test_a_database_that_cannot_keep_the_row_does_not_stop_the_ack(
        bot: RunningBot, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bot.container.acknowledged, "_store", DownStore())
    with caplog.at_level(logging.WARNING, logger="bot.services.acknowledged"):
        with held(bot):  # the row is tried while the answer waits
            reply = bot.deploy("production v1.2.3")
            assert reply.json["text"].startswith("⏳ Requesting"), reply.json
            assert bot.container.acknowledged.wait_idle(timeout=WAIT)
        posts = bot.requester.response_posts(reply)
        assert "Deployment #1 requested" in str(posts[0].args), posts[0].args
        idle(bot)
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "bot.services.acknowledged"]
    assert len(warnings) == 1 and "could not keep 1 acknowledged request" in warnings[0], \
        warnings
    assert rows(bot) == []


def sweep_from_both(a: Container, b: Container) -> list[int]:
    """Both processes' `tell-interrupted` job at the same moment."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(jobs.tell_interrupted, [a.instance, b.instance]))


def interrupted(c: Container) -> list[Any]:
    return rows(c, f"SELECT actor, details FROM audit_events WHERE action = '{INTERRUPTED}'")


def test_a_request_left_by_a_stopped_process_is_told_once_across_two_replicas(
        bot: RunningBot, config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> None:
    with held(bot), \
            other_process(config, database_url, fake_slack, clock) as b, \
            other_process(config, database_url, fake_slack, clock) as c:
        reply = bot.deploy("production v1.2.3")
        assert reply.json["text"].startswith("⏳ Requesting"), reply.json
        assert bot.container.acknowledged.wait_idle(timeout=WAIT)
        assert len(rows(bot)) == 1

        clock.advance(GRACE - timedelta(seconds=1))  # it may still be working on it
        assert sweep_from_both(b, c) == [0, 0]
        clock.advance(timedelta(seconds=2))
        # its own process never takes it for lost (alive, it is still answering it)
        assert bot.container.acknowledged.sweep(at=clock.now()) == 0

        assert sorted(sweep_from_both(b, c)) == [0, 1]
        told = [p for p in fake_slack.calls("response_url") if p.key == reply.response_key]
        assert len(told) == 1, told
        assert told[0].args["text"] == (
            "⚠️ deploybot restarted before it finished your `/deploy production v1.2.3` "
            "(asked Wed 10:00). It may not have been done: check <#C0DEPLOYS> or "
            "`/deploy status`, then ask again.")
        assert told[0].args["response_type"] == "ephemeral"
        assert rows(bot) == []
        assert sweep_from_both(b, c) == [0, 0]  # told once: nothing left
        [(actor, details)] = interrupted(b)
        assert actor == REQUESTER
        assert "/deploy production v1.2.3" in str(details) and "response_url" in str(details)
        assert not fake_slack.calls("chat.postMessage")  # no DM: the response_url took it


def test_past_the_response_urls_30_minutes_the_person_is_told_in_a_dm(
        bot: RunningBot, config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> None:
    with held(bot), other_process(config, database_url, fake_slack, clock) as b:
        reply = bot.deploy("production v1.2.3")
        assert reply.json["text"].startswith("⏳ Requesting"), reply.json
        assert bot.container.acknowledged.wait_idle(timeout=WAIT)
        clock.advance(timedelta(minutes=31))  # e.g. no worker ran for half an hour

        assert jobs.tell_interrupted(b.instance) == 1
        assert not [p for p in fake_slack.calls("response_url")
                    if p.key == reply.response_key]
        [dm] = fake_slack.calls("chat.postMessage")
        assert dm.args["channel"] == REQUESTER
        assert dm.args["text"].startswith(
            "⚠️ deploybot restarted before it finished your `/deploy production v1.2.3` "
            "(asked Wed 10:00)."), dm.args
        assert "'told': 'dm'" in str(interrupted(b)) or '"told": "dm"' in str(interrupted(b))


def test_the_job_says_when_it_next_finds_something(
        bot: RunningBot, config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> None:
    with held(bot), other_process(config, database_url, fake_slack, clock) as b:
        due = jobs.NEXT_DUE[jobs.tell_interrupted]
        assert due(b.instance, clock.now()) is None
        asked = clock.now()
        bot.deploy("production v1.2.3")
        assert bot.container.acknowledged.wait_idle(timeout=WAIT)
        assert due(b.instance, clock.now()) == asked + GRACE


def test_the_grace_outlasts_the_longest_migrations_status_job() -> None:
    """`/migrations` runs a status Job for up to the service's migrations.timeout: a live
    process's row is never taken for lost while that Job may still be running."""
    from bot.config import parse_config
    from bot.container.replicas import answer_grace
    from tests.conftest import base_config

    plain = parse_config(base_config(), source="test config")
    assert answer_grace(plain) == GRACE
    with_jobs = parse_config(base_config(services={"api": {
        "executor": "kubernetes", "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
        "migrations": {"command": ["migrate"], "timeout": "20m"}}}), source="test config")
    assert answer_grace(with_jobs) == timedelta(minutes=21)
