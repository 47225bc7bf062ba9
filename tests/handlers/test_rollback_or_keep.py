"""Rollback / Keep in the deployment's card when the watch after a deploy fails and automatic
rollback is off: over signed Slack HTTP, on the simulated cluster (`fail_verify`)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.domain.deployment import Kind
from bot.domain.states import State
from bot.presentation import ids
from tests.conftest import APPROVER, OUTSIDER, REQUESTER, RunningBot, base_config, running_version
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    deployment_ids,
    ephemeral_text,
    has_buttons,
    run_to_end,
    thread_replies,
    wait_dm,
)


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["simulated"]["fail_verify"] = "-flaky$"
    cfg["environments"]["staging"] = {"verify": {"bake": "5m", "auto_rollback": False}}
    return cfg


def failed_deploy(bot: RunningBot) -> int:
    ephemeral_text(bot, bot.deploy("staging v1.3.0-flaky"))
    assert run_to_end(bot, 1) is State.FAILED
    return 1


def verdict_button(bot: RunningBot, deployment_id: int, action_id: str) -> dict[str, Any]:
    for block in bot.card(deployment_id).get("blocks") or []:
        if block.get("block_id") == ids.VERDICT_BLOCK:
            for el in block["elements"]:
                if el["action_id"] == action_id:
                    return dict(el)
    raise AssertionError(f"no {action_id} button on the card of #{deployment_id}")


def press(bot: RunningBot, deployment_id: int, action_id: str, user: str) -> str:
    card = bot.card(deployment_id)
    reply = bot.requester.click(user_id=user, action_id=action_id, value=str(deployment_id),
                                message=card)
    assert reply.status == 200, reply.body
    return ephemeral_text(bot, reply)


def test_a_failed_watch_records_its_verification_and_offers_rollback_or_keep(
    bot: RunningBot,
) -> None:
    failed_deploy(bot)
    d = bot.deployment(1)
    assert d.error is not None and "v1.3.0-flaky is still live" in d.error
    v = d.verification
    assert v is not None
    assert (v.ok, v.offer_rollback, v.decision, v.bake_seconds) == (False, True, None, 300.0)
    assert "simulated.fail_verify" in v.reasons[0]
    card = bot.card(1)
    text = blocks_text(card)
    assert "`v1.3.0-flaky` failed its checks and is still live" in text
    rollback = verdict_button(bot, 1, ids.ROLL_BACK)
    assert rollback["text"]["text"] == "Roll back to v1.2.2"
    assert rollback["style"] == "danger" and "confirm" in rollback  # a dialog first
    assert verdict_button(bot, 1, ids.KEEP)["text"]["text"] == "Keep v1.3.0-flaky"


def test_rollback_runs_the_previous_version_and_marks_the_failed_deploy_rolled_back(
    bot: RunningBot,
) -> None:
    failed_deploy(bot)
    text = press(bot, 1, ids.ROLL_BACK, APPROVER)
    assert "back to `v1.2.2` (deployment #2)" in text, text

    wait_dm(bot, APPROVER)  # the rollback's requester hears how it ended
    assert bot.container.runner.wait_idle()
    rb = bot.deployment(2)
    assert (rb.kind, rb.version, rb.previous_version, rb.rollback_of, rb.state) == (
        Kind.ROLLBACK, "v1.2.2", "v1.3.0-flaky", 1, State.SUCCEEDED)
    assert rb.requested_by == APPROVER and rb.approvals_required == 0
    assert rb.migrations is None  # the old image's migrations are not run again
    assert running_version(bot.container.cluster, "staging", "api") == "v1.2.2"

    bad = bot.deployment(1)
    assert bad.state is State.ROLLED_BACK
    assert bad.error is not None and bad.error.endswith(
        f"rolled back to v1.2.2 by <@{APPROVER}> (deployment #2)")
    # The error keeps what the deployment reached (an honest record: its check line still
    # says it was left live when the watch failed) ...
    assert "v1.3.0-flaky is still live (automatic rollback is off in staging)" in bad.error
    assert bad.verification is not None
    assert (bad.verification.decision, bad.verification.decided_by,
            bad.verification.rollback_id) == ("rollback", APPROVER, 2)
    card = bot.card(1)
    assert not has_buttons(card)
    assert f"<@{APPROVER}> chose to roll back to `v1.2.2`" in blocks_text(card)
    # ... but its headline says what is true now: the card read "↩️ Rolled back — failed
    # verification: …; v1.3.0-flaky is still live (automatic rollback is off in staging);
    # rolled back to v1.2.2 by …".
    (status,) = [line for line in blocks_text(card).splitlines()
                 if line.startswith("*Status:*")]
    assert "Rolled back" in status and "still live" not in status, status

    assert audit_actions(bot, 2) == ["deploy.rollback_requested", "deploy.started",
                                     "version.marked_faulty", "lock.locked",
                                     "deploy.verifying", "deploy.verification",
                                     "deploy.succeeded"]
    assert audit_actions(bot, 1)[-1] == "deploy.rolled_back"
    # One announcement for the failure, one for the rollback; the rollback has its own card
    # and record.
    anns = announcements(bot)
    assert len(anns) == 2, [a["text"] for a in anns]
    rolled = blocks_text(anns[1])
    assert "↩️ *api is rolled back to `v1.2.2` in staging* (replacing `v1.3.0-flaky`, " \
           "deployment #1)" in rolled, rolled
    assert f"Requested by <@{APPROVER}>" in rolled
    assert "Severity: high" in rolled  # a rollback is announced at high severity
    rb_card = bot.card(2)
    assert rb_card["text"].startswith("↩️ Rollback #2 api back to v1.2.2 in staging")
    record = blocks_text(thread_replies(bot, rb.message_ts or "")[0])
    assert "Approval — not needed for a rollback" in record


def test_keep_leaves_the_version_live_and_records_who_decided(bot: RunningBot) -> None:
    failed_deploy(bot)
    text = press(bot, 1, ids.KEEP, REQUESTER)
    assert "`v1.3.0-flaky` stays live" in text
    d = bot.deployment(1)
    assert d.state is State.FAILED
    assert d.verification is not None and d.verification.decision == "keep"
    assert d.verification.decided_by == REQUESTER
    assert not has_buttons(bot.card(1))
    assert f"<@{REQUESTER}> chose to keep `v1.3.0-flaky` live" in blocks_text(bot.card(1))
    assert "deploy.kept" in audit_actions(bot, 1)
    # A late click on the other button changes nothing.
    late = press(bot, 1, ids.ROLL_BACK, APPROVER)
    assert f"<@{REQUESTER}> already kept it" in late
    assert deployment_ids(bot) == [1]
    assert running_version(bot.container.cluster, "staging", "api") == "v1.3.0-flaky"


def test_someone_who_may_not_deploy_there_cannot_decide(bot: RunningBot) -> None:
    failed_deploy(bot)
    text = press(bot, 1, ids.ROLL_BACK, OUTSIDER)
    assert "You may not roll back or keep versions in staging" in text
    assert deployment_ids(bot) == [1]
    d = bot.deployment(1)
    assert d.verification is not None and d.verification.decision is None
    assert has_buttons(bot.card(1))


def test_no_rollback_over_a_newer_deploy(bot: RunningBot) -> None:
    failed_deploy(bot)
    ephemeral_text(bot, bot.deploy("staging v1.4.0"))
    assert run_to_end(bot, 2) is State.SUCCEEDED
    text = press(bot, 1, ids.ROLL_BACK, REQUESTER)
    assert "runs v1.4.0 in staging now, not v1.3.0-flaky" in text, text
    assert deployment_ids(bot) == [1, 2]
    assert running_version(bot.container.cluster, "staging", "api") == "v1.4.0"


def test_simultaneous_rollback_clicks_start_one_rollback(bot: RunningBot) -> None:
    failed_deploy(bot)
    card = bot.card(1)
    users = [REQUESTER, APPROVER] * 5
    barrier = threading.Barrier(len(users))
    texts: list[str] = []
    lock = threading.Lock()

    def click(user: str) -> None:
        barrier.wait(timeout=10)
        reply = bot.requester.click(user_id=user, action_id=ids.ROLL_BACK, value="1",
                                    message=card)
        t = ephemeral_text(bot, reply)
        with lock:
            texts.append(t)

    threads = [threading.Thread(target=click, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert bot.container.runner.wait_idle()
    assert deployment_ids(bot) == [1, 2]
    started = [t for t in texts if "(deployment #2)" in t]
    assert len(started) == 1, texts
    assert sum("already rolled it back" in t for t in texts) == len(users) - 1, texts
    assert bot.deployment(1).state is State.ROLLED_BACK
