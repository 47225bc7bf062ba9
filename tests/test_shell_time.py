"""`deploybot shell` moves time: `advance` / `at` run the real scheduler's jobs (built by
bot.scheduling.scheduler, run by devtools.shell.timeline on the shell's ManualClock) at
every tick that falls due, in order — the Friday cut-off warning, the refusal after it, a
deploy queued for the window and released when it opens, an approval expiring, a lock
running out — and refuse to go back. Skipping the ticks that would find nothing shows the
same as running every one."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import parse_config
from devtools.shell import run as shell_run
from devtools.shell import run_shell
from devtools.shell.timeline import Timeline
from tests.conftest import base_config
from tests.shell_checks import in_order

NY = ZoneInfo("America/New_York")
GUIDE_SCHEDULE = {
    "monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
    "thursday": "anytime", "friday": {"until": "14:00"},
    "saturday": "emergency_only", "sunday": "emergency_only",
}


def config(**overrides: Any) -> dict[str, Any]:
    cfg = base_config(
        announcements={"window_closing_warning": "1h"},
        # Fewer ticks to run over a weekend (every 10 s and 30 s by default): the same jobs,
        # the same order; a queued deploy and an approval's expiry are each looked for
        # every 5 minutes instead.
        runner={"poll_every": "5m"}, expiry_check_every="5m", **overrides)
    cfg["environments"]["production"]["schedule"] = GUIDE_SCHEDULE
    return cfg


def session(tmp_path: Path, script: str, *, start: datetime,
            schedule: dict[str, Any] | None = None, **overrides: Any) -> str:
    """The shell's transcript of `script`; `schedule`: production's days that differ from
    GUIDE_SCHEDULE."""
    tmp_path.mkdir(exist_ok=True)
    file = tmp_path / "session.txt"
    file.write_text(script, encoding="utf-8")
    cfg = config(**overrides)
    cfg["environments"]["production"]["schedule"] = {**GUIDE_SCHEDULE, **(schedule or {})}
    out = io.StringIO()
    code = run_shell(parse_config(cfg, source="test config"),
                     database_url=f"sqlite:///{tmp_path / 'shell.db'}", script=str(file),
                     out=out, settle=0.15, clock=ManualClock(start))
    assert code == 0, out.getvalue()[-3000:]
    return out.getvalue()


@pytest.mark.long
def test_friday_cut_off_warning_refusal_queue_and_release_when_the_window_opens(
        tmp_path: Path) -> None:
    out = session(tmp_path, """\
/deploy staging v1.2.3
at 2026-12-04 12:59
advance 1m
advance 1h
/deploy production v1.2.3
click queue_for_window
as U0BOB
click approve_ahead #2
at 2026-12-07 00:00
""", start=datetime(2026, 12, 4, 12, 0, tzinfo=NY))
    in_order(
        out,
        "U0ALICE> at 2026-12-04 12:59",
        "(it is now Fri 2026-12-04 12:59 EST)",
        "U0ALICE> advance 1m",
        # The announce job's tick at 13:00 posts the cut-off warning, said when it ran.
        "(Fri 2026-12-04 13:00 EST · the scheduler runs announce)",
        "⏰ production closes for normal deploys in 1 hour (Fri 2026-12-04 14:00 EST)",
        "(it is now Fri 2026-12-04 13:00 EST)",
        "(it is now Fri 2026-12-04 14:00 EST)",
        "U0ALICE> /deploy production v1.2.3",
        "deploys to production are allowed Friday only before 14:00",
        "[ Queue it for Mon 2026-12-07 00:00 EST ]   → click queue_for_window",
        # The button of a reply only Alice sees is clicked as Slack sends it.
        "(you click [ Queue it for Mon 2026-12-07 00:00 EST ] on your reply",
        "Status: 🗓️ Waiting for the deploy window — opens Mon 2026-12-07 00:00 EST",
        "🗓️ Deployment #2 queued",
        "U0BOB> click approve_ahead #2",
        "U0BOB> at 2026-12-07 00:00",
        # Released by the release-scheduled job's first tick in the window, then run.
        "(Mon 2026-12-07 00:00 EST · the scheduler runs release-scheduled)",
        "✅ api `v1.2.3` is live in production",
        # Its 5-minute bake window (production has an approval rule) moved the clock on:
        # the move ends there, never back at 00:00.
        "(it is now Mon 2026-12-07 00:05 EST)",
    )
    # Nothing else fell due over the weekend: the warning was posted once.
    assert out.count("⏰ production closes") == 1


def test_a_session_started_after_a_warning_was_due_says_so_in_one_line_and_logs_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Started (`--at`) at 13:30 on a Friday, half an hour after the cut-off warning was due:
    the bot was not down, the session began then. The warning is not posted late (as
    `deploybot run` would not, past the grace), and instead of the bot's WARNING log line
    ('skipped … was the bot down?') the transcript says once what was not announced and
    why."""
    with caplog.at_level(logging.INFO):
        out = session(tmp_path, "advance 1m\nadvance 1m\n",
                      start=datetime(2026, 12, 4, 13, 30, tzinfo=NY))
    in_order(
        out,
        "You are U0ALICE.",
        "(not announced, as it was due before this session began: “⏰ production closes for "
        "normal deploys in 1 hour (Fri 2026-12-04 14:00 EST)…”, due Fri 2026-12-04 13:00 "
        "EST; start the session before then to see it)",
        "U0ALICE> advance 1m",
        "(it is now Fri 2026-12-04 13:31 EST)",
    )
    assert out.count("not announced") == 1
    assert "⏰ production closes" not in out.replace("“⏰ production closes", "")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [], [r.getMessage() for r in warnings]


def test_approvals_expire_and_locks_run_out_as_time_moves(tmp_path: Path) -> None:
    out = session(tmp_path, """\
/deploy production v1.2.3
/lock production api "database migration" for 1h
advance 1h
advance 1h30m
""", start=datetime(2026, 12, 2, 10, 0, tzinfo=NY))
    in_order(
        out,
        "U0ALICE> /deploy production v1.2.3",
        "[ Approve ] [ Reject ]",
        "U0ALICE> advance 1h",
        "(Wed 2026-12-02 11:00 EST · the scheduler runs expire-locks)",
        "(it is now Wed 2026-12-02 11:00 EST)",
        "U0ALICE> advance 1h30m",
        # expires_after: 2h — the expire-approvals job's first tick after it.
        "(Wed 2026-12-02 12:00 EST · the scheduler runs expire-approvals)",
        "(it is now Wed 2026-12-02 12:30 EST)",
    )
    expired = out[out.index("12:00 EST · the scheduler runs expire-approvals"):]
    assert "expired" in expired.lower()


def test_time_never_goes_back_and_bad_durations_are_explained(tmp_path: Path) -> None:
    out = session(tmp_path, """\
at 2026-12-02 09:00
advance 2x
advance 30m1h
advance 0m
at tomorrow
advance
at
advance 1d
""", start=datetime(2026, 12, 2, 10, 0, tzinfo=NY))
    assert ("time only moves forward: it is already Wed 2026-12-02 10:00 (you asked for "
            "Wed 2026-12-02 09:00).") in out
    assert "'2x' is not a duration: write e.g. 2h, 30m, 1d or 1h30m (d, h, m, s)." in out
    assert "'30m1h': give each unit once, largest first (e.g. 1h30m)." in out
    assert "advance needs a duration above zero" in out
    assert ("'tomorrow' is not a time: write e.g. `at 2026-12-04 13:55` "
            "(in America/New_York).") in out
    assert "advance needs a duration, e.g. `advance 2h` (or 30m, 1d, 1h30m)." in out
    assert "at needs a time, e.g. `at 2026-12-04 13:55` (in America/New_York)." in out
    assert "(it is now Thu 2026-12-03 10:00 EST)" in out
    assert out.count("(it is now") == 1  # only the move that was allowed


SCRIPT_WITH_EVERY_JOB_DUE = """\
/deploy production v1.2.3
/lock staging api "database migration" for 30m
advance 10m
advance 1h5m
/deploy production v1.2.4
click queue_for_window
as U0BOB
click approve_ahead #2
advance 1h
advance 30m
"""


def test_skipping_quiet_ticks_shows_exactly_what_running_every_tick_shows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """devtools.shell.timeline skips the ticks a job says would find nothing (its next due):
    a session where each of those jobs finds something — the cut-off warning, a lock and an
    approval running out, a queued deploy released when its window opens, and started —
    reads the same, line for line, as one where every tick runs."""
    friday = {"friday": [{"until": "14:00"}, {"from": "15:00"}]}
    start = datetime(2026, 12, 4, 12, 50, tzinfo=NY)
    skipping = session(tmp_path / "skipping", SCRIPT_WITH_EVERY_JOB_DUE, start=start,
                       schedule=friday)
    monkeypatch.setattr(shell_run, "Timeline", partial(Timeline, skip_quiet=False))
    every_tick = session(tmp_path / "every-tick", SCRIPT_WITH_EVERY_JOB_DUE, start=start,
                         schedule=friday)
    in_order(
        every_tick,
        "(Fri 2026-12-04 13:00 EST · the scheduler runs announce)",
        "(Fri 2026-12-04 13:20 EST · the scheduler runs expire-locks)",
        "the scheduler runs expire-approvals)",
        "(Fri 2026-12-04 15:00 EST · the scheduler runs release-scheduled)",
        "✅ api `v1.2.4` is live in production",
    )
    assert skipping.replace("skipping/", "every-tick/") == every_tick  # (the database's path)
