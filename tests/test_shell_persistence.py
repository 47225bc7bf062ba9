"""Two `deploybot shell` sessions on one database: the simulated cluster keeps what it runs
there (table simulated_workloads), so the second session's `/rollback` goes back from what
the first one deployed, not from `simulated.initial_version`."""

from __future__ import annotations

import io
from pathlib import Path

from bot.clock import ManualClock
from bot.config import parse_config
from devtools.shell import run_shell
from tests.conftest import WEDNESDAY, base_config


def session(tmp_path: Path, script: str) -> str:
    file = tmp_path / "session.txt"
    file.write_text(script, encoding="utf-8")
    out = io.StringIO()
    code = run_shell(parse_config(base_config(), source="test config"),
                     database_url=f"sqlite:///{tmp_path / 'shell.db'}", script=str(file),
                     out=out, settle=0.15, clock=ManualClock(WEDNESDAY))
    assert code == 0, out.getvalue()[-3000:]
    return out.getvalue()


def test_a_second_shell_on_the_same_database_rolls_back_from_what_the_first_deployed(
        tmp_path: Path) -> None:
    first = session(tmp_path, """\
/deploy staging v1.2.3
/deploy staging v1.2.4
""")
    assert "✅ api `v1.2.4` is live in staging" in first
    second = session(tmp_path, """\
/deploy status staging
/rollback staging api
click confirm
""")
    # Not simulated.initial_version (v1.2.2): what the first session left running.
    assert "Roll api in staging back from `v1.2.4` to `v1.2.3`?" in second
    assert "↩️ api is rolled back to `v1.2.3` in staging" in second
    assert "rolled back to `v1.2.2`" not in second
