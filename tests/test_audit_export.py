"""`deploybot audit export`, run as a real process against the test database: CSV and JSON
Lines with a fixed column order, UTC ISO 8601 times, filtered by --since / --environment."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.domain.audit import AuditEntry
from bot.domain.deployment import NewDeployment
from bot.domain.states import State
from bot.store.db import Database
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 18, 15, 0, 0, 123456, tzinfo=UTC)
HEADER = ["id", "at", "actor", "action", "environment", "deployment_id", "slack_channel",
          "slack_ts", "details"]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def seeded(db: Database) -> int:
    """Four events: an old command, a deployment's state change, a click, a freeze."""
    with db.transaction() as r:
        d = r.deployments.add(NewDeployment(
            service="api", environment="production", version="v1.2.3", previous_version=None,
            state=State.AWAITING_APPROVAL, requested_by="U0ALICE", requested_at=T0,
            approvals_required=1, expires_at=None))
        r.audit.record_many([AuditEntry(action="slack.command", actor="U0ALICE",
                                        at=T0 - timedelta(days=10),
                                        details={"command": "/deploy", "text": "staging v1"},
                                        environment="staging", slack_channel="C0DEPLOYS")])
        r.audit.record("deploy.requested", actor="U0ALICE", at=T0, deployment_id=d.id,
                       details={"version": "v1.2.3", "note": 'comma, "quote"\nnewline'},
                       slack_channel="C0DEPLOYS")
        r.audit.record_many([AuditEntry(action="slack.click", actor="U0BOB",
                                        at=T0 + timedelta(minutes=1),
                                        details={"action_id": "deploy.approve",
                                                 "deployment_id": d.id},
                                        slack_channel="C0DEPLOYS", slack_ts="1700.1")])
        r.audit.record("freeze.added", actor="U0CAROL", at=T0 + timedelta(minutes=2),
                       details={"name": "Offsite"})
        return d.id


def export(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "app.yaml"
    config.write_text(yaml.safe_dump(base_config()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOYBOT_", "SLACK_"))}
    env |= {"PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
            "DEPLOYBOT_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "bot", "audit", "export", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_csv_to_a_file(tmp_path: Path, database_url: str, seeded: int) -> None:
    out = tmp_path / "audit.csv"
    p = export(tmp_path, database_url, "--format", "csv", "--since", "2026-11-18",
               "--output", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert p.stderr.strip() == f"deploybot: exported 3 audit event(s) to {out}"
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0] == HEADER
    body = [dict(zip(HEADER, r, strict=True)) for r in rows[1:]]
    assert [(r["at"], r["actor"], r["action"], r["environment"], r["deployment_id"],
             r["slack_channel"], r["slack_ts"]) for r in body] == [
        ("2026-11-18T15:00:00.123456Z", "U0ALICE", "deploy.requested", "production",
         str(seeded), "C0DEPLOYS", ""),
        ("2026-11-18T15:01:00.123456Z", "U0BOB", "slack.click", "production", "",
         "C0DEPLOYS", "1700.1"),
        ("2026-11-18T15:02:00.123456Z", "U0CAROL", "freeze.added", "", "", "", ""),
    ]
    assert json.loads(body[0]["details"]) == {"note": 'comma, "quote"\nnewline',
                                              "version": "v1.2.3"}
    assert body[1]["details"] == f'{{"action_id":"deploy.approve","deployment_id":{seeded}}}'
    ids = [int(r["id"]) for r in body]
    assert ids == sorted(ids)


def test_jsonl_to_stdout_for_one_environment(tmp_path: Path, database_url: str,
                                             seeded: int) -> None:
    p = export(tmp_path, database_url, "--format", "jsonl", "--environment", "production")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(ln) for ln in p.stdout.splitlines()]
    assert [list(rec) for rec in lines] == [HEADER, HEADER]  # keys in the column order
    assert [(rec["action"], rec["at"], rec["environment"], rec["deployment_id"])
            for rec in lines] == [
        ("deploy.requested", "2026-11-18T15:00:00.123456Z", "production", seeded),
        ("slack.click", "2026-11-18T15:01:00.123456Z", "production", None)]
    assert lines[0]["details"] == {"version": "v1.2.3", "note": 'comma, "quote"\nnewline'}
    assert lines[1]["slack_ts"] == "1700.1"


def test_everything_by_default(tmp_path: Path, database_url: str, seeded: int) -> None:
    p = export(tmp_path, database_url)
    assert p.returncode == 0, p.stderr
    rows = list(csv.reader(io.StringIO(p.stdout, newline="")))
    assert [r[3] for r in rows[1:]] == ["slack.command", "deploy.requested", "slack.click",
                                        "freeze.added"]


def test_bad_since_is_one_line(tmp_path: Path, database_url: str) -> None:
    p = export(tmp_path, database_url, "--since", "last tuesday")
    assert p.returncode == 2
    assert p.stderr.strip().startswith("deploybot: --since: 'last tuesday' is not a time")
    assert "Traceback" not in p.stderr


def test_a_database_without_schema(tmp_path: Path) -> None:
    p = export(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    assert p.returncode == 2
    assert p.stderr.strip() == ("deploybot: the database has no audit log yet (run "
                                "`deploybot db upgrade`)")
