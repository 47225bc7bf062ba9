"""A process loads the heavy client libraries only where its config needs them (issue 13: a
web process starts lean): the `kubernetes` client for a service with `executor: kubernetes`,
PyGithub (`github`) when GitHub is configured, Alembic only to migrate.

Each case runs in a fresh interpreter (a subprocess: this test process has them all loaded),
which does what `deploybot run --role web` does before it serves (bot/cli/run.py `cmd_run`): the
same imports, the schema check, the container, the Bolt app and the ASGI app; then it prints
which of the libraries are in `sys.modules`.

Likewise each `deploybot` command (`python -m bot …`, run by operators and CI) loads only what
it uses: `--help` not even the config's schema (pydantic), `check-config` no database,
`doctor` and `policy` no Alembic (the revision is read with plain SQL, bot.store.schema_head),
and `run` refusing a missing secret nothing of the database, Slack or web stacks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.fake_slack import FakeSlack
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
APP_YAML = ROOT / "app.yaml"
HEAVY = ("kubernetes", "github", "alembic", "httpx")  # httpx: HTTP checks and PagerDuty

# What `deploybot run --role web` (bot.cli.run.cmd_run) imports and builds before serving.
WEB_PROCESS = """
import json
import sys

import bot.cli  # `python -m bot` starts here
from bot.config import load_config
from bot.container import build_container
from bot.roles import database_problem, role_of
from bot.scheduling.leader import LeaderElection
from bot.scheduling.scheduler import build_scheduler
from bot.store.leadership import DatabaseLeadership
from bot.store.schema import SchemaOutdated, ensure_schema
from bot.web import build_asgi, serve
from handlers import build_app

config_path, database_url, slack_api_url, heavy = sys.argv[1:5]
config = load_config(config_path)
ensure_schema(database_url, auto=False)
container = build_container(config, database_url=database_url, slack_token="xoxb-imports",
                            slack_api_url=slack_api_url, socket_mode=False)
try:
    container.runner.refuse_work()  # the web role's runner
    app = build_app(container, signing_secret="imports-secret")
    build_asgi(app, background=container.background, github=container.webhooks,
               metrics=container.metrics, readiness=container.readiness)
finally:
    container.close()
print(json.dumps({name: name in sys.modules for name in heavy.split(",")}))
"""


def loaded_by_a_web_process(config_path: Path, database_url: str, slack_api_url: str,
                            ) -> dict[str, bool]:
    """Which of HEAVY a fresh `deploybot run --role web`-like process has loaded, its
    environment holding none of the settings that would turn GitHub or Kubernetes on."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL", "GITHUB_", "KUBECONFIG",
                                "PAGERDUTY_", "SMTP_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS, str(config_path), database_url, slack_api_url,
         ",".join(HEAVY)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        check=False)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def written(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_shipped_config_loads_no_kubernetes_github_or_alembic(
        database_url: str, fake_slack: FakeSlack) -> None:
    """app.yaml as shipped: a simulated service, no GitHub; the database is at head."""
    assert loaded_by_a_web_process(APP_YAML, database_url, fake_slack.base_url) == {
        "kubernetes": False, "github": False, "alembic": False, "httpx": False}


KUBERNETES = {"executor": "kubernetes", "kubernetes": {"image": "ghcr.io/acme/api:{version}"}}


@pytest.mark.parametrize(("services", "top", "expected"), [
    pytest.param({"api": KUBERNETES}, {"kubernetes": {"contexts": {"staging": "fake"}}},
                 {"kubernetes": True, "github": False}, id="kubernetes"),
    pytest.param({"api": {"executor": "simulated", "github": {"repository": "acme/api"}}}, {},
                 {"kubernetes": False, "github": True}, id="github-source"),
    pytest.param({"api": {"executor": "github-actions", "github": {
        "repository": "acme/api", "actions": {"workflow": "deploy.yml"}}}}, {},
                 {"kubernetes": False, "github": True}, id="github-actions"),
    pytest.param({"api": {**KUBERNETES, "github": {"repository": "acme/api"}},
                  "billing": {"executor": "simulated"}}, {},
                 {"kubernetes": True, "github": True}, id="both"),
])
def test_a_client_library_is_loaded_when_a_service_needs_it(
        tmp_path: Path, database_url: str, fake_slack: FakeSlack, services: dict[str, Any],
        top: dict[str, Any], expected: dict[str, bool]) -> None:
    config = written(tmp_path, base_config(services=services, **top))
    assert loaded_by_a_web_process(config, database_url, fake_slack.base_url) == {
        **expected, "alembic": False, "httpx": False}


# -- `python -m bot <command>` ---------------------------------------------------------------

#: `python -m bot` with argv[3:] as deploybot's arguments; as the process exits (whatever its
#: code), it writes to argv[1] which of the libraries named in argv[2] are in `sys.modules`.
COMMAND_PROCESS = """
import atexit
import json
import runpy
import sys

report, names = sys.argv[1], sys.argv[2].split(",")
sys.argv = ["deploybot", *sys.argv[3:]]


def loaded() -> None:
    with open(report, "w", encoding="utf-8") as out:
        json.dump({name: name in sys.modules for name in names}, out)


atexit.register(loaded)
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""

CLI_HEAVY = ("pydantic", "holidays", "sqlalchemy", "alembic", "slack_sdk", "slack_bolt",
             "starlette", "uvicorn", "apscheduler", "kubernetes", "github", "httpx")
DATABASE, SLACK_AND_WEB = ("sqlalchemy", "alembic"), ("slack_sdk", "slack_bolt", "starlette",
                                                        "uvicorn", "apscheduler")
CLIENTS = ("kubernetes", "github", "httpx")


def loaded_by_the_command(tmp_path: Path, args: list[str], env: dict[str, str],
                          ) -> tuple[subprocess.CompletedProcess[str], dict[str, bool]]:
    """The finished `deploybot <args>` process and which of CLI_HEAVY it had loaded."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL", "GITHUB_",
                                  "KUBECONFIG", "PAGERDUTY_", "SMTP_"))}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    report = tmp_path / "loaded.json"
    done = subprocess.run(
        [sys.executable, "-c", COMMAND_PROCESS, str(report), ",".join(CLI_HEAVY), *args],
        cwd=tmp_path, env={**clean, **env}, capture_output=True, text=True, timeout=120,
        check=False)
    assert "Traceback" not in done.stderr, done.stderr
    loaded: dict[str, bool] = json.loads(report.read_text(encoding="utf-8"))
    return done, loaded


@pytest.mark.parametrize(("args", "env", "code", "used", "unused"), [
    pytest.param(["--help"], {}, 0, (), CLI_HEAVY, id="help"),
    pytest.param(["check-config", str(APP_YAML)], {}, 0, ("pydantic", "holidays"),
                 DATABASE + SLACK_AND_WEB + CLIENTS, id="check-config"),
    # Refused before anything starts: the config is read, nothing else is loaded.
    pytest.param(["run"], {"DEPLOYBOT_CONFIG": str(APP_YAML), "SLACK_SIGNING_SECRET": "s"}, 2,
                 ("pydantic",), DATABASE + SLACK_AND_WEB + CLIENTS, id="run-without-a-token"),
    pytest.param(["run", "--role", "web"], {"DEPLOYBOT_CONFIG": str(APP_YAML)}, 2,
                 ("pydantic",), DATABASE + SLACK_AND_WEB + CLIENTS, id="run-web-on-sqlite"),
    pytest.param(["policy", "production", "--at", "2026-11-18T10:00"],
                 {"DEPLOYBOT_CONFIG": str(APP_YAML)}, 0, ("sqlalchemy",),
                 ("alembic", *SLACK_AND_WEB, *CLIENTS), id="policy"),
    # The database is at head (doctor checks its revision); doctor's Slack check needs the
    # Slack client (bot.backends.slack), with or without a token to check.
    pytest.param(["doctor", str(APP_YAML)], {}, 1, ("sqlalchemy",),
                 ("alembic", "starlette", "uvicorn", "apscheduler", *CLIENTS), id="doctor"),
    pytest.param(["audit", "export"], {"DEPLOYBOT_CONFIG": str(APP_YAML)}, 0, ("sqlalchemy",),
                 ("alembic", *SLACK_AND_WEB, *CLIENTS), id="audit-export"),
    pytest.param(["db", "current"], {}, 0, ("alembic",), SLACK_AND_WEB + CLIENTS,
                 id="db-current"),
])
def test_a_command_loads_only_what_it_uses(
        tmp_path: Path, database_url: str, args: list[str], env: dict[str, str], code: int,
        used: tuple[str, ...], unused: tuple[str, ...]) -> None:
    done, loaded = loaded_by_the_command(tmp_path, args, {"DATABASE_URL": database_url, **env})
    assert done.returncode == code, (done.stdout, done.stderr)
    assert {name for name in (*used, *unused) if loaded[name]} == set(used)
