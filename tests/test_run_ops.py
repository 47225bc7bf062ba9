"""`deploybot run --log-format json` as a real process: every line it writes is a JSON
object (uvicorn's too), the deployment's lines carry its id, the bot token never shows, and
/readyz and /metrics answer."""

from __future__ import annotations

import json
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
TOKEN = "xoxb-process-0123456789"


def test_run_logs_json_lines_and_serves_probes_and_metrics(tmp_path: Path) -> None:
    config = tmp_path / "app.yaml"
    config.write_text(yaml.safe_dump(base_config()))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with FakeSlack() as fake:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL", "LOG_FORMAT"))}
        env.update(PYTHONPATH=str(ROOT), PORT=str(port), DEPLOYBOT_CONFIG=str(config),
                   DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
                   SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                   SLACK_API_URL=fake.base_url)
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1",
                                 "--log-format", "json"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:
                        assert r.status == 200
                        assert json.loads(r.read())["checks"] == {"database": "ok",
                                                                  "slack": "ok"}
                        break
                except OSError:
                    assert proc.poll() is None, proc.communicate()[0]
                    assert time.monotonic() < deadline, "deploybot run did not come up"
                    time.sleep(0.2)
            with SlackRequester(f"{base}/slack/events", SECRET, fake) as slack:
                assert slack.command("/deploy", "staging v1.2.3", user_id=REQUESTER).status \
                    == 200
            fake.wait_for("chat.postMessage", timeout=20,
                          predicate=lambda c: c.args.get("channel") == REQUESTER)
            with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
                metrics = r.read().decode()
            assert ('deploybot_deployments_total{environment="staging",result="succeeded"} 1.0'
                    in metrics)
            assert 'deploybot_slack_ack_seconds_count{kind="command",name="/deploy"} 1.0' \
                in metrics
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert TOKEN not in out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any(line["logger"].startswith("uvicorn") for line in lines), out
    ended = [line for line in lines if "ended: succeeded" in line["message"]]
    assert len(ended) == 1 and ended[0]["deployment_id"] == 1, out
