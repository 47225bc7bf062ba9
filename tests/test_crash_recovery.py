"""A `deploybot run` process killed (SIGKILL) in the middle of a rollout loses nothing: the
next process resumes the deployment from the database once its lease has run out, follows it
to its end, and the card, its thread and the result announcement come out once.

Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set (the `database_url` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.fake_slack import FakeSlack
from devtools.slack_requests import SlackRequester
from tests.bot_process import (
    SECRET,
    BotProcess,
    query,
    top_level_posts,
    wait_until,
    write_config,
)
from tests.conftest import REQUESTER, base_config

LEASE = 3  # seconds: runner.lease, short so that the test is quick



def crash_config(rollout_seconds: float = 4.5) -> dict[str, object]:
    return base_config(
        simulated={"rollout_seconds": rollout_seconds, "initial_version": "v1.2.2"},
        runner={"lease": f"{LEASE}s", "poll_every": "1s", "drain": "1s"},
    )


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.mark.long
def test_a_killed_process_loses_nothing(tmp_path: Path, database_url: str,
                                        fake: FakeSlack) -> None:
    config = write_config(tmp_path / "app.yaml", crash_config())
    first = BotProcess("first", config=config, database_url=database_url, fake=fake,
                       workdir=tmp_path).start()
    second = BotProcess("second", config=config, database_url=database_url, fake=fake,
                        workdir=tmp_path)
    try:
        with SlackRequester(first.events_url, SECRET, fake) as slack:
            reply = slack.command("/deploy", "staging v1.3.0", user_id=REQUESTER)
            assert reply.status == 200, reply.body
        # Under way, and its card posted (that is the /deploy's listener work, after the ack:
        # on a busy machine it can come after the first pod; killed before, the card is the
        # next process's to post, a second one).
        ((deployment_id, owner),) = wait_until("the rollout to be under way", lambda: query(
            database_url, "SELECT id, lease_owner FROM deployments WHERE state = 'running' "
            "AND progress LIKE '%pods updated%' AND message_ts IS NOT NULL"))
        first.kill()  # SIGKILL: no cleanup, the lease stays as it was

        second.start()
        # The result is written, then the lease given up (a moment later, its own UPDATE).
        state = wait_until("the deployment to end and its lease to be given up", lambda: query(
            database_url, "SELECT state, lease_owner, finished_at FROM deployments "
            "WHERE id = :i AND finished_at IS NOT NULL AND lease_owner IS NULL",
            i=deployment_id), timeout=60)
        assert state[0][0] == "succeeded", state
        fake.wait_for("chat.postMessage", timeout=10,
                      predicate=lambda c: c.args.get("channel") == REQUESTER)
        second.terminate()
        assert second.wait(30) == 0, second.output()
    finally:
        first.stop()
        second.stop()

    # The second process resumed it (the audit log says who started and who resumed)...
    actions = query(database_url, "SELECT action, details FROM audit_events WHERE "
                    "deployment_id = :i AND action IN ('deploy.started', 'deploy.resumed', "
                    "'deploy.succeeded') ORDER BY id", i=deployment_id)
    assert [a for a, _ in actions] == ["deploy.started", "deploy.resumed", "deploy.succeeded"]
    assert owner in str(actions[0][1]) and owner not in str(actions[1][1])
    # ...and Slack got one card (updated in place), one announcement, one requester DM.
    cards = [p for p in top_level_posts(fake, f"#{deployment_id}")
             if str(p.get("text", "")).startswith("Deploy #")]
    assert len(cards) == 1, cards
    assert len(top_level_posts(fake, "is live")) == 1
    assert len([c for c in fake.calls("chat.postMessage")
                if c.args.get("channel") == REQUESTER]) == 1
    # Everything else it posted about it went into the card's thread (or updated the card).
    ((card_ts,),) = query(database_url, "SELECT message_ts FROM deployments WHERE id = :i",
                          i=deployment_id)
    in_thread = [c.args for c in fake.calls("chat.postMessage") if c.args.get("thread_ts")]
    assert all(p["thread_ts"] == card_ts for p in in_thread), in_thread
    assert "Traceback" not in first.output() + second.output()
