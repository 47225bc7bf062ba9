"""`deploybot shell --cluster fake --script demo/troubleshooting.txt`: a version that crashes
as it starts (app.yaml's `simulated.crash_versions`), troubleshot from Slack — the failure
message in the thread, `/pods`, `/logs --previous` — and the README's transcript of it kept
true: every line it shows is in the replayed session, except the ones that depend on how
fast the fake controller ran (ages, restart counts)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.clock import ManualClock
from bot.config import load_config, parse_config
from devtools.fake_cluster import CRASH_LOG
from devtools.shell import run_shell
from tests.conftest import base_config
from tests.readme_transcripts import missing, readme_block
from tests.test_shell_kubernetes import DEMO_AT, FAST_TICK

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "troubleshooting.txt"
#: What the replay may show differently: how long ago, how many restarts or times so far.
VOLATILE = re.compile(r"\bago\b|\bage \d|restart|\d+ times|ready \d+/\d+, \d+$")


def replay(tmp_path: Path) -> str:
    out = io.StringIO()
    code = run_shell(load_config(ROOT / "app.yaml"),
                     database_url=f"sqlite:///{tmp_path / 'shell.db'}", script=str(DEMO),
                     out=out, settle=0.15, clock=ManualClock(DEMO_AT), cluster="fake",
                     fake_tick=FAST_TICK)
    assert code == 0, out.getvalue()[-3000:]
    return out.getvalue()


def test_the_readme_transcript_is_what_the_demo_shows(tmp_path: Path) -> None:
    session = replay(tmp_path)
    shown = readme_block("U0BOB> /deploy staging v1.2.4-crash")
    assert len(shown) > 20
    assert missing(shown, session, volatile=VOLATILE) == []
    # The secret in the crashed run's connection string never reaches Slack.
    secret = "Pr0d-db-Passw0rd"
    assert any(secret in line for line in CRASH_LOG)
    assert secret not in session
    # Bob rolled back from the card: the crashing version is gone.
    assert "↩️ api is rolled back to `v1.2.2` in staging" in session


def test_a_crash_version_fails_its_rollout_on_the_simulated_cluster_too(
    tmp_path: Path,
) -> None:
    cfg = parse_config(base_config(simulated={"crash_versions": "-crash$",
                                              "rollout_seconds": 0}), source="test config")
    out = io.StringIO()
    script = tmp_path / "s.txt"
    script.write_text("/deploy staging v1.2.4-crash\n/pods staging\n", encoding="utf-8")
    code = run_shell(cfg, database_url=f"sqlite:///{tmp_path / 'sim.db'}", script=str(script),
                     out=out, settle=0.15, clock=ManualClock(DEMO_AT))
    text = " ".join(out.getvalue().split())
    assert code == 0, text[-2000:]
    assert ('the new pods crash-loop: container "api" exited with code 1 (simulated: version '
            "matches simulated.crash_versions `-crash$`)") in text, text[-3000:]
    # The simulated executor has no pods: /pods says so instead of inventing some.
    assert "runs on the simulated executor: it has no pods" in text, text[-2000:]
