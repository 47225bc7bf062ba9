"""Abort (Shipit's "abort and rollback"): while a deploy rolls out, its card has an Abort
button and `/deploy abort <id>` works; the runner stops following the rollout at its next
progress report and rolls back to the version it replaced, once however many click.

Over signed Slack HTTP on the simulated cluster, whose rollout takes real seconds here
(`simulated.rollout_seconds`), so that there is time to click."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.blocks import when
from devtools.slack_requests import Reply
from tests.conftest import APPROVER, OUTSIDER, REQUESTER, RunningBot, base_config, running_version
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    dms,
    ephemeral_text,
    has_buttons,
    request,
    run_to_end,
    thread_replies,
)
from tests.handlers.test_honest_record import record as honest_record

CLICKS = 10
DEPLOYERS = [f"U0DEPL{n:02d}" for n in range(CLICKS)]


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config(roles={"deployers": [REQUESTER, APPROVER, *DEPLOYERS],
                             "approvers": [APPROVER]})
    cfg["simulated"]["rollout_seconds"] = 3  # three pods, a second each
    return cfg


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def abort_button(bot: RunningBot, deployment_id: int) -> dict[str, Any] | None:
    for block in bot.card(deployment_id).get("blocks") or []:
        if block.get("block_id") == ids.ABORT_BLOCK:
            for el in block["elements"]:
                if el["action_id"] == ids.ABORT:
                    return dict(el)
    return None


def rolling_out(bot: RunningBot) -> int:
    """`/deploy staging v1.2.3` (v1.2.2 runs), waited for until its card offers Abort."""
    deployment_id = request(bot, "staging v1.2.3")
    wait_until(lambda: bot.deployment(deployment_id).state is State.RUNNING
               and abort_button(bot, deployment_id) is not None)
    return deployment_id


def press_abort(bot: RunningBot, deployment_id: int, user: str) -> str:
    reply = bot.requester.click(user_id=user, action_id=ids.ABORT, value=str(deployment_id),
                                message=bot.card(deployment_id))
    assert reply.status == 200, reply.body
    return ephemeral_text(bot, reply)


def command_reply(bot: RunningBot, text_: str, user: str = REQUESTER) -> str:
    reply = bot.deploy(text_, user=user)
    assert reply.status == 200, reply.body
    return ephemeral_text(bot, reply)


def count(bot: RunningBot, action: str) -> int:
    with bot.container.database.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_events WHERE action = :a"),
                                {"a": action}).scalar_one())


def test_abort_during_the_rollout_rolls_back_announces_and_audits(bot: RunningBot) -> None:
    dep = rolling_out(bot)
    button = abort_button(bot, dep)
    assert button is not None
    assert button["text"]["text"] == "Abort" and button["style"] == "danger"
    assert "stop the rollout of api v1.2.3 in staging and roll back to v1.2.2" \
        in button["confirm"]["text"]["text"]

    answer = press_abort(bot, dep, APPROVER)
    assert "You aborted deployment #1" in answer, answer
    assert "roll back to v1.2.2" in answer

    assert run_to_end(bot, dep) is State.ROLLED_BACK
    d = bot.deployment(dep)
    assert d.error == f"aborted by <@{APPROVER}>; rolled back to v1.2.2"
    assert d.abort_requested_by == APPROVER and d.abort_requested_at is not None
    assert running_version(bot.container.cluster, "staging", "api") == "v1.2.2"

    actions = audit_actions(bot, dep)
    assert actions.index("deploy.abort_requested") < actions.index("deploy.aborted") \
        < actions.index("version.marked_faulty") < actions.index("deploy.rolled_back")
    assert actions[-1] == "deploy.rolled_back"
    with bot.container.database.transaction() as r:
        assert "v1.2.3" in r.faulty.marked("staging", "api")

    card = bot.card(dep)
    assert not has_buttons(card)
    assert "Rolled back" in blocks_text(card)
    assert f"aborted by <@{APPROVER}>; rolled back to v1.2.2" in blocks_text(card)
    (ann,) = announcements(bot)
    assert f"was aborted by <@{APPROVER}>, rolled back to `v1.2.2`" in blocks_text(ann)
    (note,) = dms(bot)
    assert f"was aborted by <@{APPROVER}> and rolled back to v1.2.2" in note["text"]

    # A late click is told it is over.
    assert press_abort(bot, dep, REQUESTER) == \
        "⚠️ Deployment #1 already rolled back; nothing to abort."


def test_deploying_the_aborted_version_again_names_who_aborted_it(bot: RunningBot) -> None:
    """The faulty mark an abort leaves says who aborted (deploybot wrote the mention): the
    refusal of a second deploy shows it as a mention, not as the text `<@U…>`."""
    dep = rolling_out(bot)
    press_abort(bot, dep, APPROVER)
    assert run_to_end(bot, dep) is State.ROLLED_BACK

    refused = command_reply(bot, "staging v1.2.3", user=APPROVER)  # the lock is theirs
    assert refused.startswith(f"⚠️ `v1.2.3` of api is marked faulty in staging: was aborted "
                              f"by <@{APPROVER}>; rolled back to v1.2.2 (<@{APPROVER}>, "), \
        refused
    assert "&lt;" not in refused
    assert '--force "reason"' in refused


def test_the_lock_an_abort_leaves_says_it_was_an_abort(bot: RunningBot) -> None:
    """The lock after an abort names the aborted deploy as what it was ("after the abort of
    #1"), not as a rollback: #1 was the deploy, and no rollback deployment exists."""
    dep = rolling_out(bot)
    press_abort(bot, dep, APPROVER)
    assert run_to_end(bot, dep) is State.ROLLED_BACK
    with bot.container.database.transaction() as r:
        lock = r.locks.get("staging", "api", at=bot.clock.now())
    assert lock is not None and (lock.holder, lock.origin, lock.deployment_id) == (
        APPROVER, "abort", dep)
    reply = bot.requester.command("/lock", "list", user_id=REQUESTER)
    (post,) = bot.requester.response_posts(reply)
    listed = blocks_text(dict(post.args))
    assert (f"🔒 locked by <@{APPROVER}> after the abort of #{dep} since "
            in listed), listed
    assert "rollback #" not in listed, listed
    refused = command_reply(bot, "staging v1.2.4", user=REQUESTER)
    assert refused.startswith(f"🔒 api in staging is locked by <@{APPROVER}> after the abort "
                              f"of #{dep} since "), refused


def test_the_aborted_version_refused_to_someone_else_names_the_lock_and_the_mark(
        bot: RunningBot) -> None:
    """After Bob aborted #1, Alice asks for v1.2.3 again: the service is locked (Bob's) and
    the version marked faulty. One answer names both and the way through both — unlock,
    then `--force` — not the lock now and `--force` after the unlock."""
    dep = rolling_out(bot)
    press_abort(bot, dep, APPROVER)
    assert run_to_end(bot, dep) is State.ROLLED_BACK

    refused = command_reply(bot, "staging v1.2.3", user=REQUESTER)
    assert refused.startswith(f"🔒 api in staging is locked by <@{APPROVER}> after the abort "
                              f"of #{dep} since "), refused
    assert refused.endswith(
        "`v1.2.3` is also marked faulty there: to deploy it, ask them or `/unlock staging "
        "api` if you may, then `/deploy api staging v1.2.3 --force \"reason\"`."), refused
    # With --force, the lock is what is left: its refusal as usual.
    forced = command_reply(bot, 'staging v1.2.3 --force "fixed the config"', user=REQUESTER)
    assert forced.endswith("Ask them, or `/unlock staging api` if you may."), forced
    # Once unlocked, --force is what is left, as the first answer said.
    assert "is unlocked" in command_reply_of(bot, "/unlock", "staging api", user=APPROVER)
    again = command_reply(bot, "staging v1.2.3", user=REQUESTER)
    assert again.startswith("⚠️ `v1.2.3` of api is marked faulty in staging"), again
    ok = command_reply(bot, 'staging v1.2.3 --force "fixed the config"', user=REQUESTER)
    assert "Deployment #2 started" in ok, ok


def command_reply_of(bot: RunningBot, command: str, text_: str, user: str) -> str:
    reply = bot.requester.command(command, text_, user_id=user)
    assert reply.status == 200, reply.body
    return ephemeral_text(bot, reply)


def test_deploy_abort_command_aborts_the_rollout(bot: RunningBot) -> None:
    dep = rolling_out(bot)
    answer = command_reply(bot, f"abort #{dep}")
    assert f"You aborted deployment #{dep}" in answer, answer
    assert run_to_end(bot, dep) is State.ROLLED_BACK
    d = bot.deployment(dep)
    assert d.error == f"aborted by <@{REQUESTER}>; rolled back to v1.2.2"
    assert running_version(bot.container.cluster, "staging", "api") == "v1.2.2"


def test_ten_concurrent_clicks_abort_once(bot: RunningBot) -> None:
    dep = rolling_out(bot)
    card = bot.card(dep)
    gate = threading.Barrier(CLICKS)

    def one(user: str) -> Reply:
        gate.wait(timeout=10)
        return bot.requester.click(user_id=user, action_id=ids.ABORT, value=str(dep),
                                   message=card)

    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        replies = list(pool.map(one, DEPLOYERS))
    assert [r.status for r in replies] == [200] * CLICKS
    answers = [ephemeral_text(bot, r) for r in replies]
    winners = [u for u, a in zip(DEPLOYERS, answers, strict=True) if "You aborted" in a]
    assert len(winners) == 1, answers
    (winner,) = winners
    others = Counter(a for a in answers if "You aborted" not in a)
    assert others == {f"⚠️ Deployment #{dep} is already being aborted by <@{winner}>; "
                      "nothing more was done.": CLICKS - 1}, others

    assert run_to_end(bot, dep) is State.ROLLED_BACK
    assert bot.deployment(dep).abort_requested_by == winner
    assert (count(bot, "deploy.abort_requested"), count(bot, "deploy.aborted"),
            count(bot, "deploy.rolled_back"), count(bot, "deploy.rollback_failed")) \
        == (1, 1, 1, 0)
    assert len(announcements(bot)) == 1
    assert len(dms(bot)) == 1
    assert running_version(bot.container.cluster, "staging", "api") == "v1.2.2"


def test_a_non_deployer_may_not_abort(bot: RunningBot) -> None:
    dep = rolling_out(bot)
    answer = press_abort(bot, dep, OUTSIDER)
    assert answer == ("⚠️ You may not abort deployments in staging: that needs the deployer "
                      "role there.")
    assert run_to_end(bot, dep) is State.SUCCEEDED
    assert bot.deployment(dep).abort_requested_by is None
    assert "deploy.abort_requested" not in audit_actions(bot, dep)
    assert running_version(bot.container.cluster, "staging", "api") == "v1.2.3"


def test_a_finished_deployment_cannot_be_aborted(bot: RunningBot) -> None:
    dep = request(bot, "staging v1.2.3")
    assert run_to_end(bot, dep) is State.SUCCEEDED
    assert command_reply(bot, f"abort {dep}") == \
        f"⚠️ Deployment #{dep} already succeeded; nothing to abort."
    assert not has_buttons(bot.card(dep))
    assert bot.deployment(dep).abort_requested_by is None
    assert command_reply(bot, "abort 99") == "⚠️ Deployment #99 does not exist."


@pytest.mark.parametrize(("text_", "problem"), [
    ("abort", "Which deployment should I abort? Give its number, e.g. `/deploy abort 42`"),
    ("abort x", "`x` is not a deployment number; e.g. `/deploy abort 42`"),
    ("abort 4 2", "`/deploy abort` takes one deployment number; `2` was not expected."),
])
def test_bad_abort_input_gets_a_specific_usage_message(bot: RunningBot, text_: str,
                                                        problem: str) -> None:
    reply = bot.deploy(text_)
    assert reply.status == 200
    body = reply.json
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith(f"⚠️ {problem}"), body["text"]
    assert "`/deploy abort &lt;id&gt;`" in body["text"]  # the usage follows


def test_help_names_abort(bot: RunningBot) -> None:
    reply = bot.deploy("help")
    assert "`/deploy abort &lt;id&gt;` — stop a deploy rolling out" in reply.json["text"]


@pytest.mark.parametrize(("environment", "severity"), [
    ("staging", "high"), ("production", "critical")])
def test_an_aborted_deploy_s_record_names_who_and_its_announcement_is_no_auto_rollback(
    bot: RunningBot, environment: str, severity: str,
) -> None:
    """The record says who aborted it and when, and that the rollout was stopped (not that
    it failed, nor that deploybot rolled it back by itself); the announcement is `rolled_back`
    (high) outside production, not an automatic rollback (critical, pages on-call), and
    production's rule stays (production_failed, critical)."""
    dep = request(bot, f"{environment} v1.2.3")
    if environment == "production":
        reply = bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE, value=str(dep),
                                    message=bot.card(dep))
        assert reply.status == 200, reply.body
    wait_until(lambda: bot.deployment(dep).state is State.RUNNING
               and abort_button(bot, dep) is not None)
    aborter = DEPLOYERS[0]
    assert "You aborted deployment" in press_abort(bot, dep, aborter)
    assert run_to_end(bot, dep) is State.ROLLED_BACK
    d = bot.deployment(dep)
    assert d.abort_requested_at is not None

    message_ts = d.message_ts
    assert message_ts is not None
    record = blocks_text(thread_replies(bot, message_ts)[0])
    asked = when(d.abort_requested_at, ZoneInfo("America/New_York"))
    assert f"🛑 Aborted by <@{aborter}>, {asked}; rolled back to v1.2.2" in record, record
    assert "🛑 Rollout — stopped: aborted" in record
    assert "⏭️ Post-deployment checks" in record
    assert "automatically" not in record
    assert "❌ Rollout" not in record

    (ann,) = announcements(bot)
    assert f"Severity: {severity}" in blocks_text(ann)
    assert ann["text"].startswith(f"{severity.capitalize()}: ")


def watch_abort_text(bot: RunningBot, dep: int) -> str | None:
    """The confirm text of the card's abort button once it is the watch's, else None."""
    button = abort_button(bot, dep)
    if button is None:
        return None
    text: str = button["confirm"]["text"]["text"]
    return text if "stop the watch" in text else None


class TestDuringTheWatch:
    """The bake window after the rollout (a long one, passing on the test's clock)."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        cfg = base_config()
        # Long on the test's clock (moved on by each poll of the watch), so that even a
        # starved test thread sees the watch under way before it could end by itself.
        cfg["environments"]["staging"] = {"verify": {"bake": "3d"}}
        return cfg

    def test_abort_during_the_watch_rolls_back(self, bot: RunningBot) -> None:
        dep = request(bot, "staging v1.2.3")
        # The state turns VERIFYING before the card that shows it is updated (the card
        # follows the record), so wait for the card's button to speak of the watch.
        wait_until(lambda: bot.deployment(dep).state is State.VERIFYING
                   and watch_abort_text(bot, dep) is not None)
        text = watch_abort_text(bot, dep)
        assert text is not None
        assert "stop the watch of api v1.2.3 in staging and roll back to v1.2.2" in text
        assert "You aborted deployment #1" in press_abort(bot, dep, REQUESTER)
        assert run_to_end(bot, dep) is State.ROLLED_BACK
        d = bot.deployment(dep)
        assert d.error == f"aborted by <@{REQUESTER}> during the watch; rolled back to v1.2.2"
        assert d.finished_at is not None and d.started_at is not None
        assert d.finished_at - d.started_at < timedelta(days=3)  # the watch was cut short
        # The record keeps what it reached: it went live, and its watch was stopped.
        record = honest_record(bot, dep)
        assert "✅ Rollout" in record and "🛑 Post-deployment checks — stopped: aborted" \
            in record, record
        assert running_version(bot.container.cluster, "staging", "api") == "v1.2.2"
