"""`deploybot shell` typed at a terminal: `click abort #N` while the rollout runs (a script
waits for each rollout to end, so an abort is typed)."""

from __future__ import annotations

import io
import time
from pathlib import Path

from bot.clock import ManualClock
from bot.config import parse_config
from devtools.shell import run_shell
from tests.conftest import WEDNESDAY, base_config


class Typed(io.StringIO):
    """Lines typed at a terminal, the `click` a moment after the rollout started."""

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        line = super().readline()
        if line.startswith("click"):
            time.sleep(0.8)  # the runner has started the rollout (three 1-second pods)
        return line


def test_click_abort_in_the_shell_stops_the_rollout_and_rolls_back(tmp_path: Path) -> None:
    config = base_config()
    config["simulated"]["rollout_seconds"] = 3
    out = io.StringIO()
    code = run_shell(
        parse_config(config, source="test config"),
        database_url=f"sqlite:///{tmp_path / 'shell.db'}",
        script=None, out=out, inp=Typed("/deploy staging v1.2.3\nclick abort #1\nwait\nquit\n"),
        settle=0.15, clock=ManualClock(WEDNESDAY))
    assert code == 0
    text = " ".join(out.getvalue().split())
    assert "(you click [ Abort ] on" in text, text
    assert "(Slack asks: Abort deployment #1? — This will stop the rollout of api v1.2.3 " \
           "in staging and roll back to v1.2.2" in text, text
    assert "You aborted deployment #1" in text, text
    assert "Status: ↩️ Rolled back — aborted by @U0ALICE; rolled back to v1.2.2" in text, text
    assert "was aborted by @U0ALICE, rolled back to `v1.2.2`" in text, text
