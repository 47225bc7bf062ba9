"""`deploybot run` as a real process: HTTP on $PORT, a signed /deploy end to end against a
fake Slack, /healthz, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from devtools.fake_slack import FakeSlack
from devtools.server import free_port
from devtools.slack_requests import SlackRequester
from tests.conftest import REQUESTER, base_config

ROOT = Path(__file__).resolve().parent.parent
SECRET = "process-signing-secret"


def test_run_serves_slack_over_http_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text(yaml.safe_dump(base_config()))
    port = free_port()
    with FakeSlack() as fake:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL"))}
        env.update(PYTHONPATH=str(ROOT), PORT=str(port), DEPLOYBOT_CONFIG=str(config),
                   DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
                   SLACK_BOT_TOKEN="xoxb-process", SLACK_SIGNING_SECRET=SECRET,
                   SLACK_API_URL=fake.base_url)
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                                timeout=1) as r:
                        assert r.status == 200 and b'"ok":true' in r.read()
                        break
                except OSError:
                    assert proc.poll() is None, proc.communicate()[0]
                    assert time.monotonic() < deadline, "deploybot run did not come up"
                    time.sleep(0.2)

            with SlackRequester(f"http://127.0.0.1:{port}/slack/events", SECRET,
                                fake) as slack:
                reply = slack.command("/deploy", "staging v1.2.3", user_id=REQUESTER)
                assert reply.status == 200
                assert "Requesting `api` `v1.2.3`" in reply.json["text"]
                forged = slack.command("/deploy", "staging v1.2.3", user_id=REQUESTER,
                                       timestamp=int(time.time()) - 600)
                assert forged.status == 401
            # The deploy runs in the process: announced, and the requester gets a DM.
            fake.wait_for("chat.postMessage", timeout=20,
                          predicate=lambda c: "is live" in str(c.args.get("blocks")))
            fake.wait_for("chat.postMessage", timeout=20,
                          predicate=lambda c: c.args.get("channel") == REQUESTER)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "Traceback" not in out


def test_a_worker_or_web_role_on_sqlite_fails_at_start_with_the_fix(tmp_path: Path) -> None:
    """SQLite is one process's: `--role worker` (or web, here from $DEPLOYBOT_ROLE) on it
    stops at once with one line naming the reason and the fix, exit code 2."""
    config = tmp_path / "app.yaml"
    config.write_text(yaml.safe_dump(base_config()))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL"))}
    env.update(PYTHONPATH=str(ROOT), PORT=str(free_port()), DEPLOYBOT_CONFIG=str(config),
               DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
               SLACK_BOT_TOKEN="xoxb-process", SLACK_SIGNING_SECRET=SECRET)
    for args, extra in ((["--role", "worker"], {}), ([], {"DEPLOYBOT_ROLE": "web"})):
        done = subprocess.run([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1",
                               *args], cwd=tmp_path, env=env | extra, capture_output=True,
                              text=True, timeout=60, check=False)
        role = (args or ["", extra["DEPLOYBOT_ROLE"]])[1]
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith(f"deploybot: --role {role} needs a database shared"), line
        assert "SQLite" in line and "--role all" in line and "PostgreSQL" in line, line
        assert not (tmp_path / "bot.db").exists()  # nothing was started
