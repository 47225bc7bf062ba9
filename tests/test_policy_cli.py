"""`deploybot policy` with its own environment: the shipped app.yaml's answers for the
guide's schedule and freezes, `--json`, exit codes (0 allowed, 1 not, 2 bad input), and
freezes added from Slack read from DATABASE_URL (SQLite, or PostgreSQL with
TEST_DATABASE_URL). Most calls go through the command's `main` in this process (its output
and exit code, as the process would give them: a process costs ~1 s of CPU); the tests of the
database's freezes and of an unreachable one run it as a real process
(`python -m bot policy …`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pytest
import yaml

from bot.cli import main
from bot.store.db import Database
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
APP_YAML = ROOT / "app.yaml"
OURS = ("DEPLOYBOT_CONFIG", "DATABASE_URL", "PORT", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN", "SLACK_API_URL")
NO_SCHEMA_NOTE = ("deploybot: note: the database has no schema yet, so freezes added from "
                  "Slack are not included")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


class Policy(Protocol):
    def __call__(self, *args: str, **env: str) -> Result: ...


@pytest.fixture
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> Policy:
    """`deploybot policy ARGS` with the shipped app.yaml and, unless DATABASE_URL is given,
    a database file that does not exist (so: no schema, no runtime freezes): `main` in this
    process, in `tmp_path`, with an environment of its own for each call."""

    def run(*args: str, **env: str) -> Result:
        with monkeypatch.context() as m:
            for k in OURS:
                m.delenv(k, raising=False)
            m.setenv("DEPLOYBOT_CONFIG", str(APP_YAML))
            for k, v in env.items():
                m.setenv(k, v)
            m.chdir(tmp_path)
            capsys.readouterr()
            try:
                code = main(["policy", *args])
            except SystemExit as e:  # argparse: --help, usage errors
                code = e.code if isinstance(e.code, int) else 1
            out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def policy_process(tmp_path: Path) -> Policy:
    """The same as a real process: `python -m bot policy ARGS`."""

    def run(*args: str, **env: str) -> Result:
        e = {k: v for k, v in os.environ.items() if k not in OURS}
        e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), e.get("PYTHONPATH")]))
        e["DEPLOYBOT_CONFIG"] = str(APP_YAML)
        e.update(env)
        p = subprocess.run([sys.executable, "-m", "bot", "policy", *args], cwd=tmp_path, env=e,
                           capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in p.stderr, p.stderr
        return Result(p.returncode, p.stdout, p.stderr)

    return run


FRIDAY_CUTOFF = "deploys to production are allowed Friday only before 14:00 (America/New_York)"


# -- the shipped app.yaml encodes the guide ---------------------------------------------------

@pytest.mark.parametrize("at", ["2026-11-20T14:05-05:00", "2026-11-20T19:05Z",
                                "2026-11-20T19:05:00+00:00", "2026-11-20T20:05+01:00",
                                "2026-11-20T14:05"],
                         ids=["new-york-offset", "zulu", "utc-offset", "berlin-offset", "naive"])
def test_friday_after_the_cutoff_is_refused_until_monday(policy: Policy, at: str) -> None:
    r = policy("production", "--at", at)
    assert r.code == 1, r.err
    assert r.lines == [
        "api to production at Fri 2026-11-20 14:05 EST: not allowed:",
        f"  - {FRIDAY_CUTOFF}",
        "next allowed: Mon 2026-11-23 00:00 EST",
    ]
    assert NO_SCHEMA_NOTE in r.err.splitlines()


def test_friday_before_the_cutoff_is_allowed(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-20T13:59-05:00")
    assert (r.code, r.lines) == (0, ["api to production at Fri 2026-11-20 13:59 EST: allowed"])


def test_thursday_morning_is_allowed(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-19T10:00-05:00")
    assert r.code == 0, r.out + r.err
    assert r.lines == ["api to production at Thu 2026-11-19 10:00 EST: allowed"]


def test_black_friday_is_a_freeze_until_tuesday(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-27T10:00-05:00")
    assert r.code == 1
    assert r.lines == [
        "api to production at Fri 2026-11-27 10:00 EST: not allowed:",
        "  - Black Friday / Cyber Monday freeze until Tue 2026-12-01 00:00 EST (peak traffic)",
        "next allowed: Tue 2026-12-01 00:00 EST",
    ]


def test_cyber_monday_night_still_frozen(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-30T23:59-05:00", "--json")
    assert r.code == 1
    assert json.loads(r.out)["next_allowed_at"] == "2026-12-01T00:00:00-05:00"


def test_thanksgiving_is_a_holiday_freeze(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-26T11:00-05:00")
    assert r.code == 1
    assert r.lines == [
        "api to production at Thu 2026-11-26 11:00 EST: not allowed:",
        "  - Thanksgiving Day freeze until Fri 2026-11-27 00:00 EST (public holiday in US)",
        "next allowed: Tue 2026-12-01 00:00 EST",  # Black Friday / Cyber Monday follows
    ]


def test_a_weekend_emergency_is_allowed_with_what_it_overrides(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-21T12:00-05:00", "--emergency")
    assert r.code == 0, r.err
    assert r.lines == [
        "api to production at Sat 2026-11-21 12:00 EST: allowed as an emergency (needs "
        "emergency approval); it overrides:",
        "  - weekends are for emergency fixes only in production (America/New_York)",
        "next allowed without --emergency: Mon 2026-11-23 00:00 EST",
    ]
    normal = policy("production", "--at", "2026-11-21T12:00-05:00")
    assert normal.code == 1


def test_other_environments_have_no_schedule(policy: Policy) -> None:
    r = policy("staging", "--at", "2026-11-21T12:00-05:00")
    assert (r.code, r.lines) == (0, ["api to staging at Sat 2026-11-21 12:00 EST: allowed"])


# -- --json -------------------------------------------------------------------------------------

def test_json_when_refused(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-20T19:05Z", "--json")
    assert r.code == 1
    assert json.loads(r.out) == {"allowed": False, "reasons": [FRIDAY_CUTOFF],
                                 "next_allowed_at": "2026-11-23T00:00:00-05:00"}
    assert r.out.count("\n") == 1  # one line of JSON on stdout; the note is on stderr


def test_json_when_allowed_and_as_an_emergency(policy: Policy) -> None:
    r = policy("production", "--at", "2026-11-19T10:00-05:00", "--json")
    assert r.code == 0
    assert json.loads(r.out) == {"allowed": True, "reasons": [],
                                 "next_allowed_at": "2026-11-19T10:00:00-05:00"}
    r = policy("production", "--at", "2026-11-28T10:00-05:00", "--json", "--emergency")
    assert r.code == 0
    assert json.loads(r.out) == {
        "allowed": True,
        "reasons": ["Black Friday / Cyber Monday freeze until Tue 2026-12-01 00:00 EST "
                    "(peak traffic)",
                    "weekends are for emergency fixes only in production (America/New_York)"],
        "next_allowed_at": "2026-12-01T00:00:00-05:00",
    }


def test_json_next_allowed_is_null_when_nothing_opens(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "closed.yaml"
    data = base_config()
    data["environments"]["production"]["schedule"] = {"monday": "emergency_only"}
    path.write_text(yaml.safe_dump(data))
    r = policy("production", "--at", "2026-11-19T10:00Z", "--json", DEPLOYBOT_CONFIG=str(path))
    assert r.code == 1
    out = json.loads(r.out)
    assert out["allowed"] is False and out["next_allowed_at"] is None
    text = policy("production", "--at", "2026-11-19T10:00Z", DEPLOYBOT_CONFIG=str(path))
    assert text.lines[-1] == "next allowed: none in the next 60 days"


# -- bad input: one line, exit 2 ------------------------------------------------------------------

@pytest.mark.parametrize(("args", "line"), [
    (("prod",), "deploybot: unknown environment 'prod' (known: development, staging, "
                "production)"),
    (("production", "--service", "web"), "deploybot: unknown service 'web' (known: api)"),
    (("production", "--at", "Friday 2pm"),
     "deploybot: --at 'Friday 2pm' is not an ISO 8601 time (e.g. 2026-11-20T14:05-05:00 or "
     "2026-11-20T14:05)"),
    (("production", "--at", "2026-11-31T10:00"),
     "deploybot: --at '2026-11-31T10:00' is not an ISO 8601 time (e.g. 2026-11-20T14:05-05:00 "
     "or 2026-11-20T14:05)"),
], ids=["environment", "service", "words-as-time", "no-such-day"])
def test_bad_input_is_one_line_and_exit_2(policy: Policy, args: tuple[str, ...],
                                          line: str) -> None:
    r = policy(*args)
    assert r.code == 2
    assert r.out == ""
    assert r.err.splitlines() == [line]


def test_a_service_not_deployed_to_the_environment(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(base_config(
        services={"api": {}, "worker": {"environments": ["staging"]}})))
    r = policy("production", "--service", "worker", DEPLOYBOT_CONFIG=str(path))
    assert (r.code, r.err.splitlines()) == (
        2, ["deploybot: service 'worker' does not deploy to production (it deploys to staging)"])
    ok = policy("staging", "--service", "worker", "--at", "2026-11-19T10:00Z",
                DEPLOYBOT_CONFIG=str(path))
    assert (ok.code, ok.lines) == (0, ["worker to staging at Thu 2026-11-19 05:00 EST: allowed"])


def test_a_missing_environment_argument_is_a_usage_error(policy: Policy) -> None:
    r = policy()
    assert r.code == 2
    assert "the following arguments are required: environment" in r.err


def test_help_says_how_times_are_read(policy: Policy) -> None:
    r = policy("--help")
    assert r.code == 0
    flat = " ".join(r.out.split())
    assert "without an offset it is read in the team's time zone" in flat
    assert "--emergency" in flat and "--json" in flat


# -- the database: runtime freezes, no schema, unreachable ----------------------------------------

def test_freezes_added_from_slack_are_read_from_the_database(policy_process: Policy,
                                                             database_url: str) -> None:
    policy = policy_process
    db = Database.from_url(database_url)
    try:
        with db.transaction() as repos:
            rf = repos.freezes.add(name="Company offsite",
                               start=datetime(2026, 12, 10, 14, 0, tzinfo=UTC),
                               end=datetime(2026, 12, 11, 23, 0, tzinfo=UTC), reason="all hands",
                               environments=None, created_by="U0CAROL",
                               at=datetime(2026, 11, 18, tzinfo=UTC))
            gone = repos.freezes.add(name="Cancelled", start=datetime(2026, 12, 8, tzinfo=UTC),
                                 end=datetime(2026, 12, 9, tzinfo=UTC), reason="",
                                 environments=["staging"], created_by="U0CAROL",
                                 at=datetime(2026, 11, 18, tzinfo=UTC))
            repos.freezes.remove(gone.number, by="U0CAROL", at=datetime(2026, 11, 19, tzinfo=UTC))
    finally:
        db.dispose()

    r = policy("staging", "--at", "2026-12-10T12:00-05:00", DATABASE_URL=database_url)
    assert r.code == 1, r.err
    assert r.lines == [
        "api to staging at Thu 2026-12-10 12:00 EST: not allowed:",
        "  - Company offsite freeze until Fri 2026-12-11 18:00 EST (all hands)",
        "next allowed: Fri 2026-12-11 18:00 EST",
    ]
    assert r.err == ""  # the schema is there: no note
    assert rf.number >= 1
    removed = policy("staging", "--at", "2026-12-08T12:00-05:00", DATABASE_URL=database_url)
    assert removed.code == 0  # a removed freeze no longer counts


def test_without_a_database_it_runs_without_runtime_freezes(policy: Policy,
                                                            tmp_path: Path) -> None:
    r = policy("production", "--at", "2026-11-19T10:00-05:00")  # default sqlite:///deploybot.db
    assert r.code == 0
    assert r.err.splitlines() == [NO_SCHEMA_NOTE]
    assert not (tmp_path / "deploybot.db").exists()  # not created by asking
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")  # an SQLite file without any tables
    r = policy("production", "--at", "2026-11-19T10:00-05:00",
               DATABASE_URL=f"sqlite:///{empty}")
    assert (r.code, r.err.splitlines()) == (0, [NO_SCHEMA_NOTE])


def test_an_unreachable_database_is_one_line_and_exit_2(policy_process: Policy) -> None:
    policy = policy_process
    r = policy("production", "--at", "2026-11-19T10:00-05:00",
               DATABASE_URL="postgresql://deploybot:s3cret@127.0.0.1:1/deploybot")
    assert r.code == 2
    assert r.out == ""
    (line,) = r.err.splitlines()
    assert line.startswith("deploybot: cannot reach the database "
                           "postgresql+psycopg://deploybot:***@127.0.0.1:1/deploybot: ")
    assert "s3cret" not in r.err
