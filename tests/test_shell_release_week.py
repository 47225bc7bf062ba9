"""`deploybot shell --github fake --script demo/release-week.txt` on app.yaml: the guide's week
with time moving (`at`, `advance`: the scheduler's jobs on the shell's clock) — a merge to
main deploying itself to staging (the fake GitHub, found by the bot's poll), production by
the merged commit's tag with an approval, the Friday cut-off warning and refusal, the
freeze warnings before the Independence Day holiday, an emergency fix during it, a
rollback (its confirmation a reply only Carol sees) and the lock it leaves — replayed and
checked line by line, in order."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import load_config
from devtools.fake_github import sha_of
from devtools.shell import run_shell

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "release-week.txt"
START = datetime(2027, 7, 2, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # a Friday
# The merged commits' versions (their first 12 characters): the fake GitHub's commit of a tag.
V123, V124 = sha_of("v1.2.3")[:12], sha_of("v1.2.4")[:12]


@pytest.mark.long
def test_the_release_week_demo_runs_cleanly_with_each_event_at_its_time(
        tmp_path: Path) -> None:
    out = io.StringIO()
    code = run_shell(load_config(ROOT / "app.yaml"),
                     database_url=f"sqlite:///{tmp_path / 'shell.db'}", script=str(DEMO),
                     out=out, settle=0.15, clock=ManualClock(START), github="fake")
    text = out.getvalue()
    assert code == 0, text[-3000:]
    assert "could not run that line" not in text and "still busy" not in text
    assert "Unknown input" not in text and "No message has" not in text
    expected = [
        # The merge, found at the bot's next poll, deploys its commit to staging by itself.
        f"commit {V123}, tagged v1.2.3)",
        "(Fri 2027-07-02 09:01 EDT · the scheduler runs poll-github)",
        f"Deploy #1 api {V123} → staging",
        "Requested by: deploybot (github)",
        # Why it started: which commit main moved to, its message, who wrote it.
        f"Automatic: `main` moved to `{V123}` — 'Fix checkout totals (#1)' by bob",
        f"✅ api `{V123}` is live in staging",
        # Production takes the tag of the commit staging runs (the promotion gate).
        "Deploy #2 api v1.2.3 → production",
        "[ Approve ] [ Reject ]   → click approve #2",
        "U0CAROL> click approve",
        "✅ api `v1.2.3` is live in production",
        # Friday: the cut-off warning at 13:00, from the announce job's tick.
        "(Fri 2027-07-02 13:00 EDT · the scheduler runs announce)",
        "⏰ production closes for normal deploys in 1 hour (Fri 2027-07-02 14:00 EDT); next",
        "window Tue 2027-07-06 00:00 EDT.",
        f"commit {V124}, tagged v1.2.4)",
        "(Fri 2027-07-02 13:01 EDT · the scheduler runs poll-github)",
        f"Automatic: `main` moved to `{V124}` — 'Charge tax on gift cards (#2)' by bob",
        f"✅ api `{V124}` is live in staging",
        "(it is now Fri 2027-07-02 14:00 EDT)",
        "• deploys to production are allowed Friday only before 14:00 (America/New_York)",
        "[ Queue it for Tue 2027-07-06 00:00 EDT ]   → click queue_for_window",
        # The freeze warnings before the holiday, each at its time.
        "(Sat 2027-07-03 00:00 EDT · the scheduler runs announce)",
        "⚠️ The Independence Day freeze (public holiday in US) starts in 24 hours (Sun",
        "(Sat 2027-07-03 23:00 EDT · the scheduler runs announce)",
        "(Sun 2027-07-04 00:00 EDT · the scheduler runs announce)",
        "🧊 The Independence Day freeze (public holiday in US) has started",
        "(Mon 2027-07-05 00:00 EDT · the scheduler runs announce)",
        "🧊 The Independence Day (observed) freeze (public holiday in US) has started: normal",
        "(it is now Mon 2027-07-05 09:00 EDT)",
        # The emergency fix during the freeze.
        "• Independence Day (observed) freeze until Tue 2027-07-06 00:00 EDT (public holiday in",
        "🚨 EMERGENCY deploy #4 api v1.2.4 → production",
        "• overrides: Independence Day (observed) freeze until Tue 2027-07-06 00:00 EDT",
        "🚨 Emergency deploy: api `v1.2.4` is live in production",
        # The rollback, confirmed on a reply only Carol sees, and its lock.
        "(only you) ↩️ Roll api in production back from `v1.2.4` to `v1.2.3`?",
        "[ Roll back to v1.2.3 ]   → click confirm",
        "(you click [ Roll back to v1.2.3 ] on your reply",
        "↩️ api is rolled back to `v1.2.3` in production (replacing `v1.2.4`, deployment #4)",
        "U0BOB> /deploy production v1.2.4 --emergency \"try again\"",
        "(only you) 🔒 api in production is locked by @U0CAROL after rollback #5 since",
        "• `production` / `api` — 🔒 locked by @U0CAROL after rollback #5 since",
        "U0CAROL> /unlock production api",
        "🔓 @U0CAROL unlocked api in production (locked after rollback #5 since",
    ]
    at = [text.find(line) for line in expected]
    missing = [line for line, i in zip(expected, at, strict=True) if i < 0]
    assert missing == [], "\n".join(missing) + "\n" + text[-3000:]
    assert at == sorted(at)
    # Each warning once, at its tick; the holiday weekend had no other deploy.
    assert text.count("⏰ production closes") == 1
    assert text.count("starts in 24 hours") == 2  # the holiday, then its observed day
