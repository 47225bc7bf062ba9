"""An approval dropped by supersession is told to its approver, over signed Slack HTTP: a
production request with one of its two approvals is superseded by a newer one; the approver
who had approved it gets one DM linking to the newer request, the others none."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.domain.states import State
from tests.conftest import APPROVER, APPROVER2, REQUESTER, RunningBot, base_config
from tests.handlers.spine import click_reply, request, run_to_end, wait_dm


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["environments"]["production"]["approval"]["required"] = 2
    return cfg


def dms(bot: RunningBot, user: str) -> list[str]:
    return [str(c.args.get("text")) for c in bot.slack.calls("chat.postMessage")
            if c.args.get("channel") == user]


def test_an_approver_whose_approval_a_newer_request_dropped_is_told_once(
        bot: RunningBot) -> None:
    for version, n in (("v1.2.3", 1), ("v1.2.4", 2)):
        request(bot, f"staging {version}")
        assert run_to_end(bot, n) is State.SUCCEEDED
    three = request(bot, "production v1.2.3")
    assert "1 more" in click_reply(bot, three, APPROVER)  # 1 of 2
    before = dms(bot, APPROVER)
    four = request(bot, "production v1.2.4")
    assert bot.deployment(three).superseded_by == four
    (note,) = wait_dm(bot, APPROVER, count=len(before) + 1)[len(before):]
    text = str(note.args["text"])
    assert text.startswith("⏭️ Your approval of deployment #3 (api `v1.2.3` to production) "
                           "was dropped: it was superseded by #4"), text
    assert "v1.2.4" in text and f"<@{REQUESTER}>" in text, text
    # The newer request's card, linked (chat.getPermalink of #4's card).
    assert re.search(r"The newer request needs its own approvals: "
                     r"<https://example\.slack\.com/archives/C0DEPLOYS/p\d+\|#4>\.$", text), text
    # Once: nothing more for the approver, nothing for the one who had not approved.
    assert len(dms(bot, APPROVER)) == len(before) + 1
    assert not [t for t in dms(bot, APPROVER2) if "approval" in t]
