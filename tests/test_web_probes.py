"""GET /healthz (alive) and GET /readyz (the database and Slack answer) over HTTP, with the
dependencies really down: a database URL on a closed port, a fake Slack answering 500 or
stopped, a Slack that accepts connections and never answers."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.backends.slack import make_client
from bot.backends.slack.health import SlackDependency
from bot.services.readiness import ReadinessCheck
from bot.store.db import Database
from bot.store.health import DatabaseDependency
from bot.web import build_asgi
from devtools.server import ThreadedServer, free_port
from handlers import build_app
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, RunningBot


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def closed_database() -> Database:
    """PostgreSQL on a port nothing listens on."""
    return Database.from_url(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/deploybot")


@pytest.fixture
def serve(bot: RunningBot) -> Iterator[Any]:
    """Serve the bot's Bolt app with another readiness check."""
    servers: list[ThreadedServer] = []
    checks: list[ReadinessCheck] = []

    def start(readiness: ReadinessCheck) -> str:
        app = build_app(bot.container, signing_secret=SIGNING_SECRET)
        server = ThreadedServer(build_asgi(app, readiness=readiness)).start()
        servers.append(server)
        checks.append(readiness)
        return server.url

    yield start
    for s in servers:
        s.stop()
    for c in checks:
        c.shutdown()


def auth_tests(bot: RunningBot) -> int:
    """auth.test calls since the bot started (Bolt makes one of its own at start)."""
    return len(bot.slack.calls("auth.test"))


def test_ready_when_the_database_and_slack_answer(bot: RunningBot) -> None:
    before = auth_tests(bot)
    status, body = get(f"{bot.server.url}/readyz")
    assert status == 200, body
    assert body == {"ok": True, "checks": {"database": "ok", "slack": "ok"}}
    assert auth_tests(bot) == before + 1
    assert get(f"{bot.server.url}/healthz") == (200, {"ok": True})


def test_slack_is_asked_at_most_every_30_seconds(bot: RunningBot) -> None:
    before = auth_tests(bot)
    for _ in range(3):
        assert get(f"{bot.server.url}/readyz")[0] == 200
    assert auth_tests(bot) == before + 1
    bot.clock.advance(timedelta(seconds=29))
    assert get(f"{bot.server.url}/readyz")[0] == 200
    assert auth_tests(bot) == before + 1
    bot.clock.advance(timedelta(seconds=2))
    assert get(f"{bot.server.url}/readyz")[0] == 200
    assert auth_tests(bot) == before + 2


def test_database_down_is_503_naming_the_database(bot: RunningBot, serve: Any) -> None:
    database = closed_database()
    try:
        url = serve(ReadinessCheck([DatabaseDependency(database),
                                    SlackDependency(bot.container.slack)], clock=bot.clock))
        status, body = get(f"{url}/readyz")
        assert status == 503, body
        assert body["ok"] is False
        assert body["down"] == ["database"]
        assert body["checks"]["slack"] == "ok"
        assert body["checks"]["database"].startswith("the database is unavailable")
        # Liveness asks nothing: the process is alive.
        assert get(f"{url}/healthz") == (200, {"ok": True})
    finally:
        database.dispose()


def test_slack_answering_500_is_503_naming_slack(bot: RunningBot) -> None:
    bot.slack.fail_next("auth.test", status=500)
    status, body = get(f"{bot.server.url}/readyz")
    assert status == 503, body
    assert body["down"] == ["slack"]
    assert body["checks"]["database"] == "ok"
    assert "Slack API error" in body["checks"]["slack"]
    # The failure stands for the cache period too; then Slack is asked again.
    assert get(f"{bot.server.url}/readyz")[0] == 503
    bot.clock.advance(timedelta(seconds=31))
    assert get(f"{bot.server.url}/readyz")[0] == 200


def test_slack_stopped_is_503_naming_slack(bot: RunningBot, serve: Any) -> None:
    bot.slack.stop()
    status, body = get(f"{bot.server.url}/readyz")
    assert status == 503, body
    assert body["down"] == ["slack"]
    assert "unreachable" in body["checks"]["slack"]


def test_a_dependency_that_never_answers_is_down_after_the_timeout(
        bot: RunningBot, serve: Any) -> None:
    # A "Slack" that accepts the connection and never says a word.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        slack = make_client(BOT_TOKEN, f"http://127.0.0.1:{silent.getsockname()[1]}/api/")
        url = serve(ReadinessCheck([DatabaseDependency(bot.container.database),
                                    SlackDependency(slack)], clock=bot.clock,
                                   timeout=timedelta(seconds=0.3)))
        status, body = get(f"{url}/readyz")
        assert status == 503, body
        assert body["down"] == ["slack"]
        assert body["checks"]["slack"] == "did not answer within 0.3s"
        # Asked again while the first look still hangs: no second thread is started.
        status, body = get(f"{url}/readyz")
        assert status == 503 and "still waiting" in body["checks"]["slack"]
        assert len(accepted) == 1
    finally:
        stop.set()
        thread.join()
        for s in accepted:
            s.close()
        silent.close()
