"""SIGTERM drains a `deploybot run` process (bot/drain.py): a request it was already reading
is answered in full, new Slack requests are refused clearly (a command: 200 with an ephemeral
"restarting, try again"; a click: 503 with Retry-After), /readyz says 503, the deployment it
was following is handed back at once (another process resumes it long before the lease would
run out), and it exits with 0 and no traceback.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.drain import RESTARTING
from bot.presentation import ids
from bot.store.db import make_engine
from bot.store.models import AuditRow, DeploymentRow
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
from tests.conftest import APPROVER, REQUESTER, base_config

# seconds: far longer than the test takes, so a lease left to run out would still be held by
# the leaving process when it has exited (the hand-back is checked on the lease itself)
LEASE = 60
DRAIN = 2  # seconds: runner.drain


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def _start_request(port: int, fake: FakeSlack, text: str) -> tuple[socket.socket, bytes]:
    """Send the headers and the first half of a signed /deploy; return the socket and the
    rest of the body (the request is in flight until that is sent)."""
    body = slash_command_body("/deploy", text, user_id=REQUESTER,
                              response_url=fake.response_url(fake.new_response_key("cmd")))
    headers = signed_headers(SECRET, body)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    data = body.encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall((f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
                  f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
                 + data[:20])
    return sock, data[20:]


def _finish_request(sock: socket.socket, rest: bytes) -> tuple[int, str]:
    sock.sendall(rest)
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    sock.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload.decode()


def _lease_given_up(database_url: str, deployment_id: int, owner: str) -> bool:
    """Whether `owner` no longer holds the deployment's lease: another process does, or it
    ended before the hand-back was recorded (bot/services/runner/leases.py `_release`
    sets its end a second before)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            holder, until = conn.execute(
                select(DeploymentRow.lease_owner, DeploymentRow.lease_until)
                .where(DeploymentRow.id == deployment_id)).one()
            handed_back = conn.execute(
                select(AuditRow.at).where(AuditRow.deployment_id == deployment_id,
                                          AuditRow.action == "deploy.handed_back")
            ).scalars().all()
    finally:
        engine.dispose()
    if holder != owner:
        return True
    return until is not None and len(handed_back) == 1 and until < handed_back[0]


@pytest.mark.long
def test_sigterm_drains_and_hands_the_deployment_back(tmp_path: Path, database_url: str,
                                                      fake: FakeSlack) -> None:
    config = write_config(tmp_path / "app.yaml", base_config(
        simulated={"rollout_seconds": 9, "initial_version": "v1.2.2"},
        runner={"lease": f"{LEASE}s", "poll_every": "1s", "drain": f"{DRAIN}s"}))
    # Both are up before the deploy: a process's start (seconds on a busy machine) does not
    # eat into the rollout, which must still run when SIGTERM comes. The one that follows it
    # (either may: the other's resume poll may claim it first) is the one that leaves.
    bots = [BotProcess(name, config=config, database_url=database_url, fake=fake,
                       workdir=tmp_path) for name in ("one", "other")]
    leaving = staying = bots[0]
    try:
        for b in bots:
            b.start()
        with SlackRequester(bots[0].events_url, SECRET, fake) as first:
            reply = first.command("/deploy", "staging v1.3.0", user_id=REQUESTER)
            assert reply.status == 200, reply.body
        ((deployment_id, owner),) = wait_until("the rollout to be under way", lambda: query(
            database_url, "SELECT id, lease_owner FROM deployments WHERE state = 'running'"))
        (leaving,) = [b for b in bots if b.proc is not None
                      and owner.split(":")[1] == str(b.proc.pid)]
        (staying,) = [b for b in bots if b is not leaving]
        with SlackRequester(leaving.events_url, SECRET, fake) as slack:
            assert leaving.get("/readyz")[0] == 200

            in_flight, rest = _start_request(leaving.port, fake, "production v1.4.0")
            time.sleep(0.3)  # the request is being read when the signal arrives
            leaving.terminate()

            # Draining: not ready, new work refused with a clear answer...
            status, body = wait_until("the drain to begin", lambda: (
                r if (r := leaving.get("/readyz"))[0] == 503 else None))
            assert json.loads(body)["draining"] is True
            refused = slack.command("/deploy", "production v1.5.0", user_id=REQUESTER)
            assert refused.status == 200, refused.body
            assert refused.json == {"response_type": "ephemeral", "text": RESTARTING}
            click = slack.click(user_id=APPROVER, action_id=ids.APPROVE,
                                value=str(deployment_id))
            assert click.status == 503 and click.headers is not None
            assert click.headers["retry-after"] == "5"
            # ...while the request it was reading is answered in full.
            status, answer = _finish_request(in_flight, rest)
            assert status == 200, answer
            assert "Requesting `api` `v1.4.0`" in json.loads(answer)["text"]

            assert leaving.wait(DRAIN + 15) == 0, leaving.output()
            # Handed back, not left to run out: by the time the process is gone, its lease
            # has ended (its own release) or another process holds it already.
            assert _lease_given_up(database_url, deployment_id, owner)
            wait_until("the other process to resume it", lambda: query(
                database_url, "SELECT lease_owner FROM deployments WHERE id = :i AND "
                "lease_owner IS NOT NULL AND lease_owner <> :o", i=deployment_id, o=owner),
                timeout=LEASE + 30, detail=staying.output)
            wait_until("the deployment to end", lambda: query(
                database_url, "SELECT 1 FROM deployments WHERE id = :i AND state = "
                "'succeeded'", i=deployment_id), timeout=60)
            fake.wait_for("chat.postMessage", timeout=30,
                          predicate=lambda c: c.args.get("channel") == REQUESTER)
    finally:
        for b in bots:
            b.stop()

    actions = [a for (a,) in query(database_url, "SELECT action FROM audit_events WHERE "
                                   "deployment_id = :i AND action LIKE 'deploy.%' ORDER BY id",
                                   i=deployment_id)]
    assert actions.count("deploy.handed_back") == 1, actions
    assert actions.index("deploy.handed_back") < actions.index("deploy.resumed")
    assert actions.count("deploy.succeeded") == 1
    # The refused /deploy made nothing; the one in flight did (awaiting approval).
    versions = [v for (v,) in query(database_url, "SELECT version FROM deployments")]
    assert sorted(versions) == ["v1.3.0", "v1.4.0"]
    assert len(top_level_posts(fake, "is live")) == 1
    out = leaving.output()
    assert "Traceback" not in out + staying.output()
