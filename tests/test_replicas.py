"""Two `deploybot run` processes on one PostgreSQL database behave as one bot.

100 Slack requests — deploy requests, approvals from another user, double clicks, /lock,
/deploys, and Slack's retries of them (same body, `X-Slack-Retry-Num`) sent to the other
replica as a load balancer might — are spread over both: each is handled once (audit trail,
deployment and decision rows, response_url posts, announcements). A freeze warning and the
daily summary email that fall due while both run are sent once. The process following a
rollout is killed (SIGKILL) and the other finishes it: one card, one thread, one announcement.

PostgreSQL: TEST_DATABASE_URL's server when set, else a throwaway server of the test's own
(tests/pg_instance.py); skipped without PostgreSQL binaries.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.presentation import ids
from devtools.fake_slack import FakeSlack
from devtools.slack_requests import (
    Reply,
    SlackRequester,
    block_actions_body,
    signed_headers,
    slash_command_body,
)
from tests.backends.fake_smtp import FakeSmtp
from tests.bot_process import (
    SECRET,
    BotProcess,
    card_of,
    query,
    top_level_posts,
    wait_until,
    write_config,
)
from tests.conftest import APPROVER, APPROVER2, REQUESTER, base_config

SERVICES = [f"svc{i}" for i in range(5)]
FREEZE = "Replica drill freeze"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


class Balancer:
    """Sends each request to one replica; `retry` sends the same body again, as Slack does
    after a timeout, to a replica of the test's choice."""

    def __init__(self, bots: list[BotProcess], fake: FakeSlack) -> None:
        self.fake = fake
        self.requesters = [SlackRequester(b.events_url, SECRET, fake) for b in bots]
        self.originals: list[tuple[str, str]] = []  # (kind, response key)
        self.retries: list[Reply] = []

    def close(self) -> None:
        for r in self.requesters:
            r.close()

    def _send(self, body: str, to: int, retry: int = 0) -> Reply:
        headers = signed_headers(SECRET, body)
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return self.requesters[to].raw(body, headers)

    def command(self, command: str, text: str, *, user: str, to: int,
                retry_to: tuple[int, ...] = ()) -> Reply:
        key = self.fake.new_response_key("cmd")
        body = slash_command_body(command, text, user_id=user,
                                  response_url=self.fake.response_url(key))
        reply = self._send(body, to)
        assert reply.status == 200, reply.body
        self.originals.append((command, key))
        for n, other in enumerate(retry_to, start=1):
            self.retries.append(self._send(body, other, retry=n))
        return reply

    def click(self, message: dict[str, Any], value: str, *, user: str, to: int,
              retry_to: tuple[int, ...] = ()) -> Reply:
        key = self.fake.new_response_key("act")
        body = block_actions_body(user_id=user, action_id=ids.APPROVE, value=value,
                                  message=message, response_url=self.fake.response_url(key))
        reply = self._send(body, to)
        assert reply.status == 200, reply.body
        self.originals.append(("click", key))
        for n, other in enumerate(retry_to, start=1):
            self.retries.append(self._send(body, other, retry=n))
        return reply


def replica_config() -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(hours=1, seconds=6)).replace(microsecond=0)
    return base_config(
        services={name: {"executor": "simulated"} for name in SERVICES},
        environments={
            "staging": {},
            "production": {"approval": {"required": 1, "approvers": ["approvers"]},
                           "verify": {"bake": "1s"}},
        },
        simulated={"rollout_seconds": 3, "initial_version": "v1.2.2"},
        runner={"lease": "3s", "poll_every": "1s", "drain": "1s"},
        # The 1h warning of this freeze falls due a few seconds after the start.
        freezes={"windows": [{"name": FREEZE, "start": start.isoformat(),
                              "end": (start + timedelta(hours=2)).isoformat(),
                              "reason": "two replicas, one warning",
                              "environments": ["production"]}]},
        announcements={"freeze_warnings": ["1h"], "check_every": "1s"},
        # The daily summary email is due all day (from midnight in the team's time zone).
        alerts={"email": {"to": ["ops@acme.test"], "from": "deploybot@acme.test",
                          "send_at": "00:00", "subject": "Deploys"}},
    )


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.mark.long
def test_two_replicas_behave_as_one_bot(tmp_path: Path, pg_url: str, fake: FakeSlack,
                                        smtp: FakeSmtp) -> None:
    config = write_config(tmp_path / "app.yaml", replica_config())
    bots = [BotProcess(f"replica{i}", config=config, database_url=pg_url, fake=fake,
                       workdir=tmp_path, env=smtp.env()) for i in range(2)]
    for b in bots:
        b.start()
    lb = Balancer(bots, fake)
    turn = itertools.cycle([0, 1])
    try:
        # -- commands: deploy requests, a lock, /deploys; Slack retries to the other replica
        def deploy(service: str, env: str, version: str, to: int) -> None:
            lb.command("/deploy", f"{service} {env} {version}", user=REQUESTER, to=to,
                       retry_to=(1 - to, to))

        with ThreadPoolExecutor(4) as pool:
            jobs = [pool.submit(deploy, s, "production", f"v1.3.{i}", i % 2)
                    for i, s in enumerate(SERVICES)]
            jobs += [pool.submit(deploy, s, "staging", f"v1.3.{i}", (i + 1) % 2)
                     for i, s in enumerate(SERVICES[:4])]
            for j in jobs:
                j.result()  # 9 requests, 18 retries
        lb.command("/lock", f'staging {SERVICES[4]} "replica drill"', user=REQUESTER, to=0,
                   retry_to=(1,))
        for i in range(10):
            lb.command("/deploys", "", user=APPROVER2, to=next(turn),
                       retry_to=(i % 2,) if i % 2 else ())  # 10 requests, 5 retries
        # Locked by someone else (once the lock is written: that is done after the ack):
        # refused, in one replica, once.
        wait_until("the lock", lambda: query(pg_url, "SELECT 1 FROM locks"))
        lb.command("/deploy", f"{SERVICES[4]} staging v1.3.4", user=APPROVER2, to=1,
                   retry_to=(0,))

        # -- approvals from another user, double clicks, retries of a click to both
        production = query(pg_url, "SELECT id FROM deployments WHERE environment = "
                           "'production' ORDER BY id")
        assert len(production) == len(SERVICES)
        for n, (deployment_id,) in enumerate(production):
            card = wait_until("the card", lambda i=deployment_id: query(
                pg_url, "SELECT message_ts FROM deployments WHERE id = :i AND message_ts IS "
                "NOT NULL", i=i)) and card_of(fake, pg_url, deployment_id)
            to = n % 2
            lb.click(card, str(deployment_id), user=APPROVER, to=to, retry_to=(1 - to, to))
            lb.click(card, str(deployment_id), user=APPROVER, to=1 - to)  # a double click
        for i in range(23):
            lb.command("/deploys" if i % 3 else "/lock", "", user=APPROVER2, to=next(turn),
                       retry_to=(next(turn),) if i % 2 else ())
        requests = len(lb.originals) + len(lb.retries)
        assert requests == 100, requests

        # Each retry was answered (200, nothing to show) and told Slack not to retry again.
        for r in lb.retries:
            assert r.status == 200 and r.body == "", r
            assert r.headers is not None and r.headers.get("x-slack-no-retry") == "1"

        # -- every deployment runs once, in one replica or the other
        wait_until("all nine deployments to succeed", lambda: query(
            pg_url, "SELECT count(*) FROM deployments WHERE state = 'succeeded'")[0][0] == 9,
            timeout=60, every=0.5, detail=lambda: query(
                pg_url, "SELECT id, environment, service, state, error FROM deployments"))

        # -- the freeze warning and the daily summary, due while both run, sent once
        wait_until("the freeze warning", lambda: top_level_posts(fake, FREEZE), timeout=30)
        wait_until("the daily summary", lambda: smtp.messages, timeout=30)

        # -- the process following a rollout dies; the other finishes it
        lb.command("/deploy", f"{SERVICES[2]} staging v2.0.0", user=REQUESTER, to=0)
        ((slow, owner),) = wait_until("the rollout to be under way", lambda: query(
            pg_url, "SELECT id, lease_owner FROM deployments WHERE version = 'v2.0.0' AND "
            "state = 'running' AND progress LIKE '%pods updated%'"))
        pid = int(owner.split(":")[1])
        victim = next(b for b in bots if b.proc is not None and b.proc.pid == pid)
        survivor = next(b for b in bots if b is not victim)
        os.kill(pid, signal.SIGKILL)
        victim.wait(10)
        wait_until("the survivor to finish it", lambda: query(
            pg_url, "SELECT 1 FROM deployments WHERE id = :i AND state = 'succeeded'",
            i=slow), timeout=60, every=0.5)
        fake.wait_for("chat.postMessage", timeout=10, count=10,
                      predicate=lambda c: c.args.get("channel") == REQUESTER)
        assert survivor.alive()
    finally:
        lb.close()
        for b in bots:
            b.stop()

    # Handled once: the audit trail notes each request served, never a retry.
    trail = Counter(a for (a,) in query(
        pg_url, "SELECT action FROM audit_events WHERE action IN ('slack.command', "
        "'slack.click')"))
    assert trail == {"slack.command": 45, "slack.click": 10}, trail
    # One answer per request (the retries got none).
    for kind, key in lb.originals:
        assert len(fake.response_posts(key)) == 1, (kind, key, fake.response_posts(key))
    # One row per deploy request, one decision per approval (the double clicks and retries
    # were told it was decided), one lock.
    rows = query(pg_url, "SELECT environment, service, version, state, requested_by, "
                 "kind, error FROM deployments ORDER BY id")
    assert len(rows) == 10, "\n".join(map(str, rows))
    assert all(row[3] == "succeeded" for row in rows), rows
    assert query(pg_url, "SELECT count(*) FROM approval_decisions")[0][0] == 5
    assert query(pg_url, "SELECT count(*) FROM locks")[0][0] == 1
    # One result announcement per deployment, one requester DM each; one freeze warning.
    live = top_level_posts(fake, "is live")
    assert len(live) == 10, [p.get("text") for p in live]
    assert len({p.get("text") for p in live}) == 10
    assert len([c for c in fake.calls("chat.postMessage")
                if c.args.get("channel") == REQUESTER]) == 10
    assert len(top_level_posts(fake, FREEZE)) == 1
    assert len(smtp.messages) == 1, [m.message["Subject"] for m in smtp.messages]
    # The killed rollout: resumed by the survivor; one card, its thread only, one result.
    actions = [a for (a,) in query(pg_url, "SELECT action FROM audit_events WHERE "
                                   "deployment_id = :i AND action LIKE 'deploy.%' ORDER BY id",
                                   i=slow)]
    assert actions.count("deploy.resumed") == 1 and actions.count("deploy.succeeded") == 1
    cards = [p for p in top_level_posts(fake, f"#{slow}")
             if str(p.get("text", "")).startswith("Deploy #")]
    assert len(cards) == 1, cards
    ((card_ts,),) = query(pg_url, "SELECT message_ts FROM deployments WHERE id = :i", i=slow)
    threads = {c.args.get("thread_ts") for c in fake.calls("chat.postMessage")
               if c.args.get("thread_ts") and f"#{slow}" in str(c.args)}
    assert threads <= {card_ts}, threads
    assert "Traceback" not in survivor.output()
