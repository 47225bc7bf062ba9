"""`deploybot run` as real processes for the replica, crash, drain and outage tests.

`BotProcess` starts the CLI (`python -m bot run`) with its settings in the environment,
waits for /healthz, and stops it with SIGTERM (`terminate`) or SIGKILL (`kill`); its output
goes to a log file (`output()`). `card_of`, `deployment_row` and `wait_until` read what the
bot left in the database and the fake Slack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text

from bot.store.db import make_engine
from devtools.fake_slack import FakeSlack
from devtools.server import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "replica-signing-secret"
CHANNEL = "C0DEPLOYS"


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


class BotProcess:
    def __init__(self, name: str, *, config: Path, database_url: str, fake: FakeSlack,
                 workdir: Path, env: dict[str, str] | None = None,
                 role: str | None = None) -> None:
        """`role`: `deploybot run --role <role>` (None: no option, the default `all`)."""
        self.name = name
        self.role = role
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL", "GITHUB_",
                                        "SMTP_"))}
        environ.update(env or {})
        environ.update(PYTHONPATH=str(ROOT), PORT=str(self.port), DEPLOYBOT_CONFIG=str(config),
                   DATABASE_URL=database_url, SLACK_BOT_TOKEN="xoxb-replica",
                   SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.base_url)
        if role == "worker":  # a worker answers no Slack request: it has no signing secret
            del environ["SLACK_SIGNING_SECRET"]
        self._env = environ
        self._workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self, timeout: float = 30) -> BotProcess:
        log = self.log_path.open("ab")
        role = ["--role", self.role] if self.role is not None else []
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1",
                                      *role],
                                     cwd=self._workdir, env=self._env, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                            timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            assert self.proc.poll() is None, f"{self.name} exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"{self.name} did not come up:\n{self.output()}"
            time.sleep(0.1)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def wait(self, timeout: float = 30) -> int:
        """Its exit code; an AssertionError with its output when it is still running after
        `timeout` (a hang, shown with what the process said)."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running after {timeout:.0f}s:\n"
                                 f"{self.output()}") from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Whatever state it is in: gone afterwards (test teardown)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30,
               every: float = 0.1, detail: Callable[[], Any] | None = None) -> Any:
    """`check()` once it is truthy; `detail()` says what there was when it never is."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}"
                                 + (f": {detail()}" if detail is not None else ""))
        time.sleep(every)


def query(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def card_of(fake: FakeSlack, database_url: str, deployment_id: int) -> dict[str, Any]:
    """The deployment's card as it is now in the fake Slack."""
    ((channel, ts),) = query(database_url, "SELECT channel, message_ts FROM deployments "
                             "WHERE id = :i", i=deployment_id)
    for m in fake.messages(channel):
        if m["ts"] == ts:
            return m
    raise AssertionError(f"no card for deployment {deployment_id}")


def top_level_posts(fake: FakeSlack, needle: str) -> list[dict[str, Any]]:
    """Messages posted (not updated) at the top of the deployments channel whose text or
    blocks contain `needle`."""
    return [c.args for c in fake.calls("chat.postMessage")
            if c.args.get("channel") == CHANNEL and not c.args.get("thread_ts")
            and needle in f"{c.args.get('text')} {c.args.get('blocks')}"]
