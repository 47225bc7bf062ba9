"""Socket Mode, the other edge (bot/socket_mode.py), against a local emulator of Slack's
documented protocol (devtools/fake_socket_mode.py): `apps.connections.open` with the app
token and `hello`; a command and a click acked over the socket (the command's reply in the
ack's payload); `disconnect` / `refresh_requested` and a new connection; an envelope Slack
delivers again handled once; envelopes refused while draining; and real `deploybot run`
processes: SIGTERM drains (new envelopes refused while connected) and exits 0 (the running
deployment handed back), a token Slack refuses and a malformed one end in one line and exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.container import Container, build_container
from bot.drain import RESTARTING, Drain
from bot.errors import RetryableError
from bot.presentation import ids
from bot.settings import SettingsError
from bot.socket_mode import SocketModeConnection, open_connection
from devtools.fake_socket_mode import APP_TOKEN, FakeSocketMode
from devtools.slack_requests import block_actions_body
from handlers import build_app
from tests.bot_process import ROOT, BotProcess, query, wait_until, write_config
from tests.conftest import APPROVER, BOT_TOKEN, REQUESTER, base_config
from tests.slack_hold import SlackHold


@pytest.fixture
def emulator(slack_hold: SlackHold) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(usergroups={"S0LEADS": ["U0LEAD"]}, on_call=slack_hold) as fake:
        yield fake


class SocketBot:
    """deploybot's Slack side as `deploybot run` builds it, connected in Socket Mode."""

    def __init__(self, container: Container, emulator: FakeSocketMode, drain: Drain) -> None:
        self.container = container
        self.emulator = emulator
        self.drain = drain
        self.connection = SocketModeConnection(build_app(container, signing_secret=None),
                                               APP_TOKEN, drain=drain)

    def deployments(self) -> list[tuple[int, str, str]]:
        with self.container.database.transaction() as r:
            recent = sorted(r.deployments.recent(50), key=lambda d: d.id)
        return [(d.id, d.version, d.state.value) for d in recent]

    def card(self, deployment_id: int) -> dict[str, Any]:
        with self.container.database.transaction() as r:
            dep = r.deployments.get(deployment_id)
        assert dep is not None and dep.message_ts is not None
        return next(m for m in self.emulator.messages(dep.channel) if m["ts"] == dep.message_ts)


@pytest.fixture
def socket_bot(config: AppConfig, database_url: str, emulator: FakeSocketMode,
               clock: ManualClock) -> Iterator[SocketBot]:
    container = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                                slack_api_url=emulator.base_url, clock=clock, socket_mode=True)
    bot = SocketBot(container, emulator, Drain())
    try:
        bot.connection.connect()
        yield bot
    finally:
        bot.connection.close()
        container.close()


def test_connects_with_the_app_token_and_is_greeted(socket_bot: SocketBot,
                                                    emulator: FakeSocketMode) -> None:
    link = emulator.wait_for_link(1)
    assert link.hello["type"] == "hello" and link.open
    (opened,) = emulator.calls("apps.connections.open")
    assert opened.token == APP_TOKEN  # the app-level token, in the Authorization header
    assert socket_bot.connection.client.is_connected()


def test_a_command_is_acked_with_its_reply_and_the_deployment_is_created(
        socket_bot: SocketBot, emulator: FakeSocketMode, slack_hold: SlackHold) -> None:
    emulator.wait_for_link(1)
    # Acked while the deployment's card is held: the deployment is made after the ack.
    with slack_hold.holding("chat.postMessage"):
        envelope = emulator.command("/deploy", "production v1.4.0", user_id=REQUESTER)
        ack = emulator.wait_for_ack(envelope)
        slack_hold.wait_held()
    assert ack.payload is not None and ack.payload.get("response_type") == "ephemeral"
    assert "Requesting `api` `v1.4.0`" in ack.payload["text"], ack.payload
    ((_, version, state),) = wait_until("the deployment", lambda: socket_bot.deployments())
    assert (version, state) == ("v1.4.0", "awaiting_approval")
    assert emulator.unexpected() == []


def test_a_click_is_acked_and_does_its_work(socket_bot: SocketBot, emulator: FakeSocketMode,
                                            slack_hold: SlackHold) -> None:
    emulator.wait_for_link(1)
    emulator.wait_for_ack(emulator.command("/deploy", "production v1.4.0", user_id=REQUESTER))
    ((deployment_id, _, _),) = wait_until("the deployment", socket_bot.deployments)
    card = wait_until("its card", lambda: _card_or_none(socket_bot, deployment_id))

    # Acked while the card's update is held: the approval is recorded after the ack.
    with slack_hold.holding("chat.update"):
        click = emulator.click(user_id=APPROVER, action_id=ids.APPROVE,
                               value=str(deployment_id), message=card)
        emulator.wait_for_ack(click)
        slack_hold.wait_held()
    wait_until("the approval", lambda: socket_bot.deployments()[0][2] != "awaiting_approval",
               detail=socket_bot.deployments)
    assert emulator.unexpected() == []


def _card_or_none(bot: SocketBot, deployment_id: int) -> dict[str, Any] | None:
    try:
        return bot.card(deployment_id)
    except (AssertionError, StopIteration):
        return None


def test_refresh_requested_reconnects_and_keeps_answering(socket_bot: SocketBot,
                                                          emulator: FakeSocketMode) -> None:
    first = emulator.wait_for_link(1)
    emulator.disconnect("refresh_requested", link=first)
    second = emulator.wait_for_link(2)
    assert second.open
    assert len(emulator.calls("apps.connections.open")) == 2  # a new URL, as documented
    assert first.closed.wait(10), "the old connection stayed open"

    envelope = emulator.command("/deploy", "production v1.4.0", user_id=REQUESTER)
    assert envelope.link == second.number
    ack = emulator.wait_for_ack(envelope)
    assert ack.link == second.number
    assert ack.payload is not None and "Requesting" in ack.payload["text"]


def test_an_envelope_delivered_again_is_handled_once(socket_bot: SocketBot,
                                                     emulator: FakeSocketMode) -> None:
    emulator.wait_for_link(1)
    first = emulator.command("/deploy", "production v1.4.0", user_id=REQUESTER)
    first_ack = emulator.wait_for_ack(first)
    assert first_ack.payload is not None and "Requesting" in first_ack.payload["text"]

    again = emulator.send("slash_commands", first.payload, retry_attempt=1,
                          retry_reason="timeout")
    assert again.envelope_id != first.envelope_id
    again_ack = emulator.wait_for_ack(again)
    assert not again_ack.has_payload  # acked, and nothing said twice
    # The first made its deployment (after its ack: waited for, not slept on), and once the
    # listeners' work is done there is still only that one.
    wait_until("the deployment", socket_bot.deployments)
    assert socket_bot.container.background.wait_idle(30)
    assert [v for _, v, _ in socket_bot.deployments()] == ["v1.4.0"]


def test_while_draining_a_command_is_told_to_retry_and_a_click_is_left_for_slack(
        socket_bot: SocketBot, emulator: FakeSocketMode) -> None:
    emulator.wait_for_link(1)
    socket_bot.drain.begin()
    command = emulator.command("/deploy", "production v1.5.0", user_id=REQUESTER)
    ack = emulator.wait_for_ack(command)
    assert ack.payload == {"response_type": "ephemeral", "text": RESTARTING}
    click = emulator.click(user_id=APPROVER, action_id=ids.APPROVE, value="1")
    time.sleep(1.0)
    assert emulator.acks(click) == []  # unacknowledged: Slack delivers it again elsewhere
    assert socket_bot.deployments() == []


def test_open_connection_tells_a_refused_token_from_slack_being_down(
        emulator: FakeSocketMode) -> None:
    assert open_connection(APP_TOKEN, emulator.base_url).startswith("ws://127.0.0.1:")
    with pytest.raises(SettingsError, match=r"^SLACK_APP_TOKEN was refused by Slack "
                                            r"\(apps.connections.open: invalid_auth\)"):
        open_connection("xapp-1-A0OTHER-1-revoked", emulator.base_url)
    emulator.fail_next("apps.connections.open", "internal_error")
    with pytest.raises(RetryableError, match="internal_error; try again later"):
        open_connection(APP_TOKEN, emulator.base_url)
    emulator.stop()
    with pytest.raises(RetryableError, match="Slack cannot be reached"):
        open_connection(APP_TOKEN, "http://127.0.0.1:9/api/")


# -- real `deploybot run` processes ----------------------------------------------------------

DRAIN = 2  # seconds: runner.drain
LEASE = 30  # seconds: far longer than the drain, so a hand-back is not a lease running out


class SocketModeProcess(BotProcess):
    """`deploybot run` with SLACK_APP_TOKEN: no HTTP server, so it is up once the emulator
    has its connection."""

    def __init__(self, name: str, *, emulator: FakeSocketMode, **kw: Any) -> None:
        super().__init__(name, fake=emulator, env={"SLACK_APP_TOKEN": APP_TOKEN}, **kw)
        self.emulator = emulator

    def start(self, timeout: float = 30) -> SocketModeProcess:
        before = len(self.emulator.links())
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"],
                                         cwd=self._workdir, env=self._env, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while len(self.emulator.links()) <= before:
            assert self.proc.poll() is None, f"{self.name} exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"{self.name} did not connect:\n{self.output()}"
            time.sleep(0.1)
        return self


def test_sigterm_drains_hands_back_and_exits_0(
        tmp_path: Path, database_url: str, emulator: FakeSocketMode) -> None:
    config = write_config(tmp_path / "app.yaml", base_config(
        simulated={"rollout_seconds": 60, "initial_version": "v1.2.2"},
        runner={"lease": f"{LEASE}s", "poll_every": "1s", "drain": f"{DRAIN}s"}))
    bot = SocketModeProcess("socket", config=config, database_url=database_url,
                            emulator=emulator, workdir=tmp_path).start()
    try:
        link = emulator.current_link()
        ack = emulator.wait_for_ack(emulator.command("/deploy", "staging v1.3.0",
                                                     user_id=REQUESTER))
        assert ack.payload is not None and "Requesting" in ack.payload["text"], ack
        ((deployment_id,),) = wait_until("the rollout to be under way", lambda: query(
            database_url, "SELECT id FROM deployments WHERE state = 'running' "
            "AND lease_owner IS NOT NULL"), detail=bot.output)

        bot.terminate()
        wait_until("the drain to begin", lambda: "SIGTERM: draining" in bot.output())
        # Draining: still connected (for runner.drain), new work refused with a clear answer.
        refused = emulator.wait_for_ack(emulator.command("/deploy", "production v1.5.0",
                                                         user_id=REQUESTER))
        assert refused.payload == {"response_type": "ephemeral", "text": RESTARTING}

        assert bot.wait(DRAIN + 30) == 0, bot.output()  # the bound only stops a hang
        assert link.closed.wait(5), "the WebSocket connection was left open"
    finally:
        bot.stop()

    out = bot.output()
    assert "SIGTERM: draining" in out, out
    assert "handed back" in out and "Socket Mode: disconnected" in out, out
    assert "Traceback" not in out, out
    # The running deployment went back at once: its lease released (expired, so any
    # process resumes it now), recorded as such.
    assert query(database_url, "SELECT state FROM deployments WHERE id = :i",
                 i=deployment_id) == [("running",)]
    actions = [a for (a,) in query(database_url, "SELECT action FROM audit_events WHERE "
                                   "deployment_id = :i ORDER BY id", i=deployment_id)]
    assert actions.count("deploy.handed_back") == 1, actions
    # The refused /deploy made nothing.
    assert [v for (v,) in query(database_url, "SELECT version FROM deployments")] == ["v1.3.0"]


def _run_once(tmp_path: Path, database_url: str, emulator: FakeSocketMode,
              app_token: str) -> subprocess.CompletedProcess[str]:
    config = write_config(tmp_path / "app.yaml", base_config())
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL", "GITHUB_", "SMTP_"))}
    env.update(PYTHONPATH=str(ROOT), DEPLOYBOT_CONFIG=str(config), DATABASE_URL=database_url,
               SLACK_BOT_TOKEN="xoxb-replica", SLACK_API_URL=emulator.base_url,
               SLACK_APP_TOKEN=app_token)
    return subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_token_slack_refuses_is_one_line_and_exit_2(
        tmp_path: Path, database_url: str, emulator: FakeSocketMode) -> None:
    done = _run_once(tmp_path, database_url, emulator, "xapp-1-A0DEPLOYBOT-1-revoked")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("deploybot: SLACK_APP_TOKEN was refused by Slack "
                               "(apps.connections.open: invalid_auth)"), lines
    assert "xapp-1-A0DEPLOYBOT-1-revoked" not in done.stderr + done.stdout
    assert len(emulator.calls("apps.connections.open")) == 1
    assert emulator.links() == []


def test_a_malformed_app_token_is_one_line_and_exit_2_before_connecting(
        tmp_path: Path, database_url: str, emulator: FakeSocketMode) -> None:
    done = _run_once(tmp_path, database_url, emulator, "xoxb-a-bot-token-by-mistake")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "deploybot: SLACK_APP_TOKEN does not look like an app token (xapp-…)"], done.stderr
    assert emulator.calls("apps.connections.open") == []


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda p: {**p, "user": 5}, id="user-number"),
    pytest.param(lambda p: {**p, "channel": 5}, id="channel-number"),
    pytest.param(lambda p: {**p, "event": "x"}, id="event-string"),
    pytest.param(lambda p: {**p, "team": ["T1"]}, id="team-array"),
])
def test_a_malformed_envelope_payload_is_acked_refused_and_changes_nothing(
        socket_bot: SocketBot, emulator: FakeSocketMode, caplog: pytest.LogCaptureFixture,
        mutate: Any) -> None:
    """What Bolt's request conversion (or its authorization middleware) would raise on, before
    any middleware of ours: one warning, the envelope acked (not delivered again), nothing
    done; the connection keeps answering."""
    emulator.wait_for_link(1)
    good = emulator.command("/deploy", "production v1.4.0", user_id=REQUESTER)
    emulator.wait_for_ack(good)
    wait_until("the deployment", socket_bot.deployments)
    # A click's payload, built (not sent: only its malformed copy is delivered).
    body = block_actions_body(user_id=APPROVER, action_id=ids.APPROVE, value="1",
                              response_url=emulator.response_url(emulator.new_response_key(
                                  "act")))
    payload = json.loads(parse_qs(body)["payload"][0])
    envelope = emulator.send("interactive", mutate(payload))
    ack = emulator.wait_for_ack(envelope)
    assert ack.payload is None
    assert [r for r in caplog.records if r.exc_info] == []
    assert any("Socket Mode: interactive envelope" in r.getMessage() and "refused" in
               r.getMessage() for r in caplog.records)
    assert [d[2] for d in socket_bot.deployments()] == ["awaiting_approval"]
    again = emulator.command("/deploy", "staging v1.4.0", user_id=REQUESTER)
    assert emulator.wait_for_ack(again).payload is not None
