"""The `deploybot` command, run as a real process (`python -m bot`) with its own environment.

Problems with the configuration or the environment print one line and exit 2: no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.store.schema import head
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
APP_YAML = ROOT / "app.yaml"
OURS = ("DEPLOYBOT_CONFIG", "DATABASE_URL", "PORT", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN", "SLACK_API_URL")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


Deploybot = Callable[..., Result]


@pytest.fixture
def deploybot(tmp_path: Path) -> Deploybot:
    def run(*args: str, **env: str) -> Result:
        e = {k: v for k, v in os.environ.items() if k not in OURS}
        e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), e.get("PYTHONPATH")]))
        e.update(env)
        p = subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=e,
                           capture_output=True, text=True, timeout=120, check=False)
        return Result(p.returncode, p.stdout, p.stderr)

    return run


def assert_one_line_error(r: Result, *needles: str) -> str:
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    assert len(r.err_lines) == 1, r.err
    line = r.err_lines[0]
    assert line.startswith("deploybot: ")
    for n in needles:
        assert n in line
    return line


# -- check-config ----------------------------------------------------------------------------

def test_check_config_on_the_shipped_file(deploybot: Deploybot) -> None:
    r = deploybot("check-config", str(APP_YAML))
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    lines = r.out.splitlines()
    assert lines[0] == f"{APP_YAML}: OK"
    assert "  time zone: America/New_York" in lines
    assert "  deployments channel: #deployments" in lines
    assert "  role approvers: U0BOB, U0CAROL" in lines
    assert "  environment staging: deployers deployers; no approval needed" in lines
    assert ("  environment production: deployers deployers; 1 approval(s) from approvers; "
            "self-approval not allowed; expires after 2 hours") in lines
    assert any(line.startswith("  service api: executor simulated; versions match ")
               and line.endswith("; deploys to development, staging, production")
               for line in lines)
    assert "  production environments: production" in lines
    assert ("  result severity: production_failed critical, auto_rolled_back critical, "
            "rolled_back high, "
            "verification_failed high, failed medium, succeeded low, lock_blocked high, "
            "approval_expired medium") in lines
    assert "  mentions: critical <!subteam^S0ONCALL>" in lines
    assert "  alert routes: (none: alerts go to the deployments channel only)" in lines
    assert "  daily summary: (off)" in lines
    assert "  locks: a timed lock lasts at most 7 days" in lines  # not "7 days, 0:00:00"


def test_check_config_warns_of_too_few_approvers_on_the_shipped_file(
        deploybot: Deploybot) -> None:
    # U0CAROL is the only emergency approver and self-approval is off: her own emergency
    # deploy could not be approved. Production's two approvers are enough.
    r = deploybot("check-config", str(APP_YAML))
    assert r.code == 0, r.err
    warnings = [line for line in r.out.splitlines() if "warning" in line]
    assert warnings == [
        "  ⚠️ warning: emergency.approvers: 1 user id(s) (U0CAROL) for 1 approval(s) with "
        "self-approval off (emergency.allow_self_approval: false): a request by one of them "
        "cannot be approved (deploybot refuses it when it is made); add approvers to "
        "roles.emergency_approvers"]


def test_check_config_says_user_groups_are_not_checked_offline(
        deploybot: Deploybot, tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(yaml.safe_dump(base_config(
        roles={"deployers": ["U0ALICE"], "approvers": ["U0BOB", "S0LEADS"]},
        environments={"production": {"approval": {"required": 2}},
                      "staging": {"approval": {"required": 1,
                                               "allow_self_approval": True}}})))
    r = deploybot("check-config", str(path))
    assert r.code == 0, r.err
    warnings = [line for line in r.out.splitlines() if "warning" in line]
    assert warnings == [
        "  ⚠️ warning: environments.production.approval.approvers: 1 user id(s) (U0BOB) for "
        "2 approval(s) with self-approval off "
        "(environments.production.approval.allow_self_approval: false): a request by one of "
        "them cannot be approved (deploybot refuses it when it is made); user groups S0LEADS "
        "are resolved in Slack at run time, not checked offline; add approvers to "
        "roles.approvers if they hold too few"]


def test_check_config_reads_deploybot_config(deploybot: Deploybot) -> None:
    r = deploybot("check-config", DEPLOYBOT_CONFIG=str(APP_YAML))
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == f"{APP_YAML}: OK"


def test_check_config_shows_a_service_limited_to_some_environments(
    deploybot: Deploybot, tmp_path: Path
) -> None:
    path = tmp_path / "limited.yaml"
    path.write_text(yaml.safe_dump(base_config(
        services={"api": {}, "worker": {"environments": ["staging"]}})))
    r = deploybot("check-config", str(path))
    assert r.code == 0, r.err
    assert any(line.startswith("  service worker:") and line.endswith("; deploys to staging")
               for line in r.out.splitlines())


def test_check_config_shows_the_alert_routes_and_the_daily_summary(
    deploybot: Deploybot, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(base_config(alerts={
        "routes": {"critical": ["pagerduty", "slack:#ops-alerts"], "low": ["summary"]},
        "email": {"to": ["a@acme.test", "b@acme.test"], "from": "bot@acme.test",
                  "send_at": "17:30"}})))
    r = deploybot("check-config", str(path))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert "  alert routes: critical → pagerduty, slack:#ops-alerts; low → summary" in lines
    assert "  daily summary: to a@acme.test, b@acme.test at 17:30 America/New_York" in lines


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, ("timezone", "unknown IANA time zone")),
        ({"simulated": {"rollout_seconds": 0, "fail_versions": "[oops"}},
         ("simulated.fail_versions", "not a regular expression")),
        ({"environments": {"production": {"approval": {"approvers": ["leads"]}}}},
         ("environments.production.approval.approvers", "'leads' is neither a role")),
        ({"services": {"api": {"environments": ["prod"]}}},
         ("services.api.environments", "unknown environment 'prod'")),
        ({"whatever": 1}, ("whatever", "Extra inputs are not permitted")),
        ("timezone: UTC\nslack: [unclosed\n", ("line 3", "not valid YAML")),
    ],
    ids=["time-zone", "fail-versions-regex", "unknown-role", "unknown-environment",
         "unknown-key", "bad-yaml"],
)
def test_check_config_on_a_broken_file(deploybot: Deploybot, tmp_path: Path, content: object,
                                       needles: tuple[str, ...]) -> None:
    path = tmp_path / "broken.yaml"
    if isinstance(content, dict):
        data = base_config()
        data.update(content)
        path.write_text(yaml.safe_dump(data))
    else:
        path.write_text(str(content))
    r = deploybot("check-config", str(path))
    line = assert_one_line_error(r, str(path), *needles)
    assert line.startswith(f"deploybot: {path}: {needles[0]}: ")
    assert r.out == ""


def test_check_config_on_a_missing_file(deploybot: Deploybot, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    r = deploybot("check-config", str(missing))
    assert assert_one_line_error(r) == (
        f"deploybot: {missing}: file not found (set DEPLOYBOT_CONFIG or pass a path)")


def test_check_config_defaults_to_app_yaml_in_the_working_directory(
    deploybot: Deploybot, tmp_path: Path
) -> None:
    r = deploybot("check-config")
    assert_one_line_error(r, "app.yaml: file not found")
    (tmp_path / "app.yaml").write_text(APP_YAML.read_text())
    r = deploybot("check-config")
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == "app.yaml: OK"


# -- run: refuses to start without what it needs ----------------------------------------------

def test_run_without_a_bot_token(deploybot: Deploybot, tmp_path: Path) -> None:
    r = deploybot("run", DEPLOYBOT_CONFIG=str(APP_YAML),
                  DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
                  SLACK_SIGNING_SECRET="secret")
    assert assert_one_line_error(r, "SLACK_BOT_TOKEN") == (
        "deploybot: SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
    assert not (tmp_path / "run.db").exists()  # nothing was started


def test_run_with_a_user_token_instead_of_a_bot_token(deploybot: Deploybot, tmp_path: Path) -> None:
    r = deploybot("run", DEPLOYBOT_CONFIG=str(APP_YAML),
                  DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
                  SLACK_BOT_TOKEN="xoxp-user-secret", SLACK_SIGNING_SECRET="secret")
    assert_one_line_error(r, "SLACK_BOT_TOKEN does not look like a bot token")
    assert "xoxp-user-secret" not in r.err + r.out


def test_run_without_a_signing_secret(deploybot: Deploybot, tmp_path: Path) -> None:
    r = deploybot("run", DEPLOYBOT_CONFIG=str(APP_YAML),
                  DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}", SLACK_BOT_TOKEN="xoxb-1")
    assert_one_line_error(r, "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


@pytest.mark.parametrize("port", ["abc", "0", "70000", "80 "])
def test_run_with_a_malformed_port(deploybot: Deploybot, tmp_path: Path, port: str) -> None:
    r = deploybot("run", PORT=port, DEPLOYBOT_CONFIG=str(APP_YAML),
                  DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
                  SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="secret")
    assert assert_one_line_error(r, "PORT") == (
        f"deploybot: PORT={port!r} is not a TCP port number (1-65535)")


def test_run_with_a_broken_config(deploybot: Deploybot, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(base_config(timezone="Nowhere/Land")))
    r = deploybot("run", DEPLOYBOT_CONFIG=str(path), SLACK_BOT_TOKEN="xoxb-1",
                  SLACK_SIGNING_SECRET="secret")
    assert_one_line_error(r, str(path), "timezone", "Nowhere/Land")


def test_an_unknown_command_is_a_usage_error(deploybot: Deploybot) -> None:
    r = deploybot("launch-rockets")
    assert r.code == 2
    assert "Traceback" not in r.err
    assert "invalid choice" in r.err


# -- db --------------------------------------------------------------------------------------

def test_db_upgrade_then_current(deploybot: Deploybot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    r = deploybot("db", "current", DATABASE_URL=url)
    assert r.code == 0, r.err
    assert r.out.strip() == f"current: none; head: {head()}"

    r = deploybot("db", "upgrade", DATABASE_URL=url)
    assert r.code == 0, r.err
    assert r.out.strip() == "database upgraded to head"
    assert (tmp_path / "cli.db").exists()

    r = deploybot("db", "current", DATABASE_URL=url)
    assert r.code == 0, r.err
    assert r.out.strip() == f"current: {head()}; head: {head()}"

    r = deploybot("db", "downgrade", "base", DATABASE_URL=url)
    assert r.code == 0, r.err
    assert r.out.strip() == "database downgraded to base"
    r = deploybot("db", "current", DATABASE_URL=url)
    assert r.out.strip() == f"current: none; head: {head()}"


def test_db_upgrade_refused_by_rows_referencing_nothing(deploybot: Deploybot,
                                                        tmp_path: Path) -> None:
    """On SQLite the migrations run with foreign keys off (migrations/env.py) and are
    checked before committing: rows referencing nothing roll them back, said in one line."""
    import sqlite3

    path = tmp_path / "cli.db"
    assert deploybot("db", "upgrade", "0002", DATABASE_URL=f"sqlite:///{path}").code == 0
    raw = sqlite3.connect(path)  # foreign keys off, as a broken migration would write
    try:
        raw.execute("INSERT INTO approval_decisions (deployment_id, user_id, approve, at) "
                    "VALUES (42, 'U0BOB', 1, '2026-11-18 15:00:00')")
        raw.commit()
    finally:
        raw.close()
    r = deploybot("db", "upgrade", DATABASE_URL=f"sqlite:///{path}")
    assert assert_one_line_error(r) == (
        "deploybot: the schema migration was rolled back, nothing changed: after it these rows "
        "would reference rows that do not exist (PRAGMA foreign_key_check): approval_decisions "
        "row 1 → deployments")
    r = deploybot("db", "current", DATABASE_URL=f"sqlite:///{path}")
    assert r.out.strip() == f"current: 0002; head: {head()}"


# -- shell: it needs the demo tools (devtools/), which the Docker image leaves out -------------

#: `python -c` this, then the CLI's arguments: the CLI with devtools absent, as in the image.
WITHOUT_DEVTOOLS = """\
import sys

class NoDevtools:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "devtools" or name.startswith("devtools."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoDevtools())
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_shell_without_the_demo_tools_says_what_to_install(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    p = subprocess.run(
        [sys.executable, "-c", WITHOUT_DEVTOOLS, "shell", "--config", str(APP_YAML),
         "--script", "-"],
        cwd=tmp_path, env=env, input="/deploy status\n", capture_output=True, text=True,
        timeout=120, check=False)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        "deploybot shell needs the demo tools (the devtools package): "
        "pip install -e '.[demo]' from a checkout"], p.stderr
    assert list(tmp_path.iterdir()) == []  # no database made, nothing started
