"""The post-deploy watch reports progress often (the lease, an abort noticed within
seconds) but redraws the card and the record only when what they say changes: a five-minute
watch is a few edits of each message, not one per report (Slack's chat.update is rate
limited per channel)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import request, run_to_end, updates_of


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["environments"]["staging"] = {"verify": {"bake": "5m"}}
    return cfg


def test_a_five_minute_watch_redraws_the_record_once_per_step_of_its_countdown(
        bot: RunningBot) -> None:
    i = request(bot, "staging v1.2.3")
    assert run_to_end(bot, i) is State.SUCCEEDED
    d = bot.deployment(i)
    assert d.record_ts is not None  # the deployment record in the thread shows the watch
    watching = [str(c.args.get("blocks")) for c in updates_of(bot, d.record_ts)
                if "watching the new pods: " in str(c.args.get("blocks"))]
    shown = [w.split("watching the new pods: ", 1)[1].split(" left", 1)[0] for w in watching]
    assert shown, "the record never showed the watch"
    assert len(shown) == len(set(shown)), shown  # no redraw that changed nothing
    assert len(shown) <= 5 * 60 // 20, shown  # at most one per 20-second step
