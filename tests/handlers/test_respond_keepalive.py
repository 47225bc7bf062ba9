"""The replies on a request's response_url go over kept connections (handlers.replies
`keep_replies_alive`, bot/backends/slack/transport.py `KeepAliveRespond`), end to end: signed
`/deploy`s to the bot served over HTTP, their response_urls on a fake Slack of their own
(as hooks.slack.com is another host than slack.com/api), whose accepted TCP connections
are counted. Bolt's own `respond` would open one per reply."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from devtools.fake_slack import FakeSlack
from devtools.httpbits import TrackingServer
from devtools.slack_requests import SlackRequester
from tests.conftest import REQUESTER, SIGNING_SECRET, RunningBot

BURST = 20


@pytest.fixture
def hooks() -> Iterator[FakeSlack]:
    """Where the requests' response_urls point."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def requester(bot: RunningBot, hooks: FakeSlack) -> Iterator[SlackRequester]:
    with SlackRequester(f"{bot.server.url}/slack/events", SIGNING_SECRET, hooks) as r:
        yield r


def _server(fake: FakeSlack) -> TrackingServer:
    server = fake._server
    assert server is not None
    return server


def _burst(requester: SlackRequester, first: int) -> None:
    replies = [requester.command("/deploy", f"production v1.{first + i}.0", user_id=REQUESTER)
               for i in range(BURST)]
    assert all(r.status == 200 for r in replies), [r.body for r in replies]
    for reply in replies:  # each answered once on its own response_url
        (post,) = requester.response_posts(reply, timeout=20)
        assert post.args.get("response_type") == "ephemeral", post.args


def test_a_burst_of_deploys_replies_over_a_few_kept_connections(
        bot: RunningBot, hooks: FakeSlack, requester: SlackRequester) -> None:
    _burst(requester, first=3)
    threads = bot.container.config.runner.listener_workers  # each keeps its own connection
    assert 1 <= _server(hooks).accepted <= threads < BURST


def test_a_connection_the_server_closed_is_replaced_without_losing_a_reply(
        bot: RunningBot, hooks: FakeSlack, requester: SlackRequester) -> None:
    _burst(requester, first=3)
    before = _server(hooks).accepted
    with _server(hooks).sockets_lock:  # the kept connections, cut from the server's side
        sockets = list(_server(hooks).open_sockets)
    assert sockets
    for sock in sockets:
        sock.shutdown(socket.SHUT_RDWR)
    _burst(requester, first=3 + BURST)  # every reply arrives (`_burst` waits for each)
    assert before < _server(hooks).accepted <= 2 * before
