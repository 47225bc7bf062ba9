"""The database goes away under a running `deploybot run` and comes back.

A PostgreSQL server of the test's own (tests/pg_instance.py) is stopped in the middle of a
rollout: a command sent meanwhile gets a clear ephemeral "try again" (no stack trace) and
writes nothing (a Slack retry meanwhile gets 503: whether its first attempt was handled
cannot be told); once the server is back the bot recovers by itself (pool_pre_ping, a new
connection), the next command works, and the runner resumes the deployment and finishes it
with one announcement.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store.schema import upgrade_schema
from devtools.fake_slack import FakeSlack
from devtools.slack_requests import SlackRequester, signed_headers, slash_command_body
from tests.bot_process import (
    SECRET,
    BotProcess,
    query,
    top_level_posts,
    wait_until,
    write_config,
)
from tests.conftest import REQUESTER, base_config
from tests.pg_instance import PgInstance, pg_bin

LEASE = 3


@pytest.fixture
def pg() -> Iterator[PgInstance]:
    if pg_bin() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) for a server of the test's own")
    with PgInstance() as instance:
        upgrade_schema(instance.url)
        yield instance


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.mark.long
def test_the_bot_rides_out_a_database_outage(tmp_path: Path, pg: PgInstance,
                                             fake: FakeSlack) -> None:
    config = write_config(tmp_path / "app.yaml", base_config(
        simulated={"rollout_seconds": 4.5, "initial_version": "v1.2.2"},
        runner={"lease": f"{LEASE}s", "poll_every": "1s", "drain": "1s"}))
    bot = BotProcess("bot", config=config, database_url=pg.url, fake=fake,
                     workdir=tmp_path).start()
    try:
        with SlackRequester(bot.events_url, SECRET, fake) as slack:
            reply = slack.command("/deploy", "staging v1.3.0", user_id=REQUESTER)
            assert reply.status == 200, reply.body
            ((deployment_id,),) = wait_until("the rollout to be under way", lambda: query(
                pg.url, "SELECT id FROM deployments WHERE state = 'running' AND progress "
                "LIKE '%pods updated%'"))

            pg.stop()
            for command, text in (("/deploy", "production v1.4.0"), ("/deploys", "")):
                reply = slack.command(command, text, user_id=REQUESTER)
                assert reply.status == 200, reply.body
                (post,) = slack.response_posts(reply, timeout=15)
                answer = str(post.args["text"])
                assert post.args.get("response_type") == "ephemeral", post.args
                assert "the database is unavailable" in answer, answer
                assert "try again" in answer, answer
                assert "Traceback" not in answer and "psycopg" not in answer, answer
            # A Slack retry meanwhile: nobody can tell whether it was handled; not now.
            body = slash_command_body("/deploys", "", user_id=REQUESTER,
                                      response_url=fake.response_url("outage-retry"))
            retried = slack.raw(body, signed_headers(SECRET, body) | {
                "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
            assert retried.status == 503, retried
            time.sleep(LEASE + 1)  # long enough for the runner to lose the database too
            pg.start()

            # Back by itself: the next command works...
            reply = wait_until("a command to work again", lambda: _deploy_works(slack),
                               timeout=30, every=0.5)
            assert "Deployment #" in reply
            # ...and the interrupted deployment is resumed and finished.
            wait_until("the deployment to end", lambda: query(
                pg.url, "SELECT 1 FROM deployments WHERE id = :i AND state = 'succeeded'",
                i=deployment_id), timeout=60, every=0.5)
            fake.wait_for("chat.postMessage", timeout=10,
                          predicate=lambda c: c.args.get("channel") == REQUESTER)
        assert bot.alive()
        bot.terminate()
        assert bot.wait(30) == 0, bot.output()
    finally:
        bot.stop()

    # Nothing half-written: the request made during the outage left no row behind.
    versions = sorted(v for (v,) in query(pg.url, "SELECT version FROM deployments"))
    assert versions == ["v1.3.0", "v1.5.0"], versions
    actions = [a for (a,) in query(pg.url, "SELECT action FROM audit_events WHERE "
                                   "deployment_id = :i AND action LIKE 'deploy.%' ORDER BY id",
                                   i=deployment_id)]
    assert actions.count("deploy.started") == 1 and actions.count("deploy.succeeded") == 1
    assert "deploy.resumed" in actions, actions
    assert len(top_level_posts(fake, "is live")) == 1
    # The runner and the request claims say what happened in one line each.
    log = bot.output()
    assert "could not record progress" in log or "could not renew the deployment leases" in log
    assert "runner failed" not in log


def _deploy_works(slack: SlackRequester) -> str | None:
    reply = slack.command("/deploy", "production v1.5.0", user_id=REQUESTER)
    (post,) = slack.response_posts(reply, timeout=15)
    text = str(post.args["text"])
    return text if "Deployment #" in text else None
