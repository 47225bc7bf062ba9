"""`/deploy`'s lean request path (issue 13), over signed Slack HTTP on the simulated cluster:
what runs there is read with the executor's answer outside any transaction and deploybot's
record in the transaction that records the request, and that changes nothing a user sees —
drift seen by a `/deploy` is still announced and audited once, the request still records
what ran as its previous version, and a refusal still writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.states import State
from bot.ports import SimulatedWorkload
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    audit_actions,
    deployment_ids,
    request,
    run_to_end,
)

NY = ZoneInfo("America/New_York")
SATURDAY_10 = datetime(2026, 11, 21, 10, tzinfo=NY)


@pytest.fixture
def config_data() -> dict[str, Any]:
    # production without approvals, on the guide's schedule: weekends are refused
    return base_config(environments={"staging": {}, "production": {"schedule": {
        "monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
        "thursday": "anytime", "friday": {"until": "14:00"},
        "saturday": "emergency_only", "sunday": "emergency_only"}}})


def changed_outside(bot: RunningBot, environment: str, version: str) -> None:
    """Someone puts `version` there by hand: the simulated cluster runs it, deploybot did
    not deploy it."""
    with bot.container.database.transaction() as r:
        r.simulated.put(environment, "api", SimulatedWorkload(
            version=version, since=bot.clock.now() - timedelta(minutes=5),
            deployment_id=None, requested_by="U0SOMEONE"))


def drift_posts(bot: RunningBot) -> list[str]:
    return [str(m["text"]) for m in announcements(bot) if "changed outside deploybot"
            in str(m["text"])]


def test_drift_seen_by_a_deploy_is_announced_and_audited_once(bot: RunningBot) -> None:
    first = request(bot, "staging v1.2.3")
    assert run_to_end(bot, first) is State.SUCCEEDED
    changed_outside(bot, "staging", "v1.2.4")

    second = request(bot, "staging v1.2.5")
    # the request took what runs as its previous version, read with deploybot's record
    assert bot.deployment(second).previous_version == "v1.2.4"
    assert audit_actions(bot).count("drift.detected") == 1
    (post,) = drift_posts(bot)
    assert "it runs `v1.2.4`" in post and "deployment #1" in post
    assert run_to_end(bot, second) is State.SUCCEEDED

    # v1.2.4 by hand again, over deploybot's #2: a new change outside deploybot, announced
    # and audited once more (test_out_of_band has the episode rule)
    changed_outside(bot, "staging", "v1.2.4")
    third = request(bot, "staging v1.2.6")
    assert bot.deployment(third).previous_version == "v1.2.4"
    assert len(drift_posts(bot)) == 2 and "deployment #2" in drift_posts(bot)[-1]
    assert audit_actions(bot).count("drift.detected") == 2


def test_a_request_refused_by_its_window_writes_nothing_and_still_reports_drift(
        bot: RunningBot) -> None:
    first = request(bot, "production v1.2.3")  # a Wednesday: open, no approval needed
    assert run_to_end(bot, first) is State.SUCCEEDED
    changed_outside(bot, "production", "v1.2.9")
    bot.clock.set(SATURDAY_10)  # production is closed: weekends are for emergency fixes
    before, actions = deployment_ids(bot), audit_actions(bot)

    reply = bot.deploy("production v1.2.4")
    assert reply.status == 200
    (post,) = bot.requester.response_posts(reply)
    assert "weekends are for emergency fixes only" in str(post.args), post.args
    assert deployment_ids(bot) == before  # refused: nothing recorded
    assert audit_actions(bot) == [*actions, "drift.detected"]  # but the drift it saw is
    (drift,) = drift_posts(bot)
    assert "*api* in *production*" in drift and "it runs `v1.2.9`" in drift
