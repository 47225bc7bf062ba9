"""What runs where is the truth (issue 12), over signed Slack HTTP on the simulated cluster:
the reproductions of a stale approval downgrading production (1), Keep leaving status wrong
(2) and invented times (4), supersession (also racing an approval) and the downgrade
confirmation."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.domain.states import State
from bot.presentation import ids
from bot.scheduling import jobs
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    deployment_ids,
    ephemeral_text,
    has_buttons,
    request,
    run_to_end,
    wait_dm,
)
from tests.handlers.test_status import lines_under, status


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["simulated"]["fail_verify"] = "-flaky$"
    cfg["environments"]["staging"] = {"verify": {"bake": "1m", "auto_rollback": False}}
    return cfg


def running_line(bot: RunningBot, env: str) -> str:
    (line,) = [ln for ln in lines_under(status(bot, "/deploy", "status"), "Running now")
               if f"`{env}` /" in ln]
    return line


def downgrade_button(reply_post: dict[str, Any]) -> dict[str, Any]:
    for block in reply_post.get("blocks") or []:
        if block.get("block_id") == ids.DOWNGRADE_BLOCK:
            return dict(block["elements"][0])
    raise AssertionError(f"no downgrade button in {reply_post}")


def test_a_stale_approval_cannot_downgrade_production(bot: RunningBot) -> None:
    """Reproduction 1: two production requests; the newer one supersedes the older, so the
    approval of the stale card cannot put v1.2.3 over v1.2.4; status, the announcement's
    "previous" and /rollback all read what runs."""
    for version, n in (("v1.2.3", 1), ("v1.2.4", 2)):
        request(bot, f"staging {version}")
        assert run_to_end(bot, n) is State.SUCCEEDED
    three = request(bot, "production v1.2.3")
    four = request(bot, "production v1.2.4")
    old = bot.deployment(three)
    assert (old.state, old.superseded_by) == (State.CANCELLED, four)
    assert "Superseded by #4" in blocks_text(bot.card(three))
    assert not has_buttons(bot.card(three))
    assert "deploy.superseded" in audit_actions(bot, three)

    assert "starting now" in click_reply(bot, four, APPROVER)
    wait_dm(bot, REQUESTER, count=4)  # 2 staging results, the superseded note, the result
    assert bot.container.runner.wait_idle()
    assert bot.deployment(four).state is State.SUCCEEDED
    text = click_reply(bot, three, APPROVER)
    assert text == ("⚠️ Deployment #3 (api `v1.2.3` to production) was superseded by #4; "
                    "nothing to approve."), text
    assert bot.deployment(three).state is State.CANCELLED

    assert running_line(bot, "production").startswith("• `production` / `api`: `v1.2.4` since")
    result = blocks_text(announcements(bot)[-1])
    assert "previous `v1.2.2`" in result, result  # what #4 replaced in production
    reply = bot.requester.command("/rollback", "production", user_id=APPROVER)
    posts = bot.requester.response_posts(reply)
    assert "back from `v1.2.4` to `v1.2.2`" in str(posts[-1].args["text"]), posts[-1].args


def test_keep_leaves_status_on_the_version_kept(bot: RunningBot) -> None:
    """Reproduction 2: a failed watch, Keep → status says the kept version runs."""
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    request(bot, "staging v1.2.4-flaky")
    wait_dm(bot, REQUESTER, count=2)
    assert bot.container.runner.wait_idle()
    assert bot.deployment(2).state is State.FAILED
    card = bot.card(2)
    reply = bot.requester.click(user_id=APPROVER, action_id=ids.KEEP, value="2", message=card)
    assert "stays live" in ephemeral_text(bot, reply)
    assert running_line(bot, "staging").startswith("• `staging` / `api`: `v1.2.4-flaky` since")


def test_times_are_real_or_unknown(bot: RunningBot) -> None:
    """Reproduction 4: no "since <now>" for what deploybot never deployed; a real time for
    what it did."""
    line = running_line(bot, "production")
    assert line == "• `production` / `api`: `v1.2.2` (since unknown)", line
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert "`v1.2.3` since Wed 2026-11-18 10:0" in running_line(bot, "staging")


def test_a_downgrade_needs_a_confirmation_naming_both_versions(bot: RunningBot) -> None:
    request(bot, "staging v1.2.4")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    reply = bot.deploy("staging v1.2.3")
    (post,) = bot.requester.response_posts(reply)
    text = str(post.args["text"])
    assert "downgrade api in staging: `v1.2.3` is older than `v1.2.4`" in text, text
    assert deployment_ids(bot) == [1]  # nothing recorded
    button = downgrade_button(post.args)
    assert button["text"]["text"] == "Deploy v1.2.3 over v1.2.4" and "confirm" in button
    click = bot.requester.click(user_id=REQUESTER, action_id=ids.CONFIRM_DOWNGRADE,
                                value=button["value"], message=post.args)
    assert "Deployment #2" in ephemeral_text(bot, click)
    wait_dm(bot, REQUESTER, count=2)
    assert bot.container.runner.wait_idle()
    d = bot.deployment(2)
    assert (d.state, d.downgrade_from) == (State.SUCCEEDED, "v1.2.4")
    assert "⬇️ downgrade" in blocks_text(announcements(bot)[-1])
    assert "deploy.requested" in audit_actions(bot, 2)


def test_approving_a_downgrade_asks_the_approver_to_confirm_it(bot: RunningBot) -> None:
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    request(bot, "staging v1.2.4")
    wait_dm(bot, REQUESTER, count=2)
    assert bot.container.runner.wait_idle()
    # Production takes v1.2.3 first (requested while v1.2.2 runs: no downgrade), then
    # v1.2.4 goes live there by another request…
    three = request(bot, "production v1.2.3")
    assert bot.deployment(three).downgrade_from is None
    # …simulated here by the live version moving on before the approval.
    bot.container.cluster.deploy("production", "api", "v1.2.4", progress=lambda _t: None)
    reply = bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE, value=str(three),
                                message=bot.card(three))
    (post,) = bot.requester.response_posts(reply)
    assert "Deployment #3 would downgrade api in production" in str(post.args["text"])
    assert bot.deployment(three).state is State.AWAITING_APPROVAL
    button = downgrade_button(post.args)
    assert button["value"] == f"{three}|v1.2.4"
    click = bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE_DOWNGRADE,
                                value=button["value"], message=post.args)
    assert "starting now" in ephemeral_text(bot, click)
    wait_dm(bot, REQUESTER, count=3)
    assert bot.container.runner.wait_idle()
    d = bot.deployment(three)
    assert (d.state, d.downgrade_from, d.previous_version) == (
        State.SUCCEEDED, "v1.2.4", "v1.2.4")


def test_a_supersede_racing_an_approval_leaves_exactly_one_to_run(bot: RunningBot) -> None:
    for version, n in (("v1.2.3", 1), ("v1.2.4", 2)):
        request(bot, f"staging {version}")
        wait_dm(bot, REQUESTER, count=n)
        assert bot.container.runner.wait_idle()
    three = request(bot, "production v1.2.3")
    results: list[Any] = []
    card = bot.card(three)

    def approve() -> None:
        results.append(bot.requester.click(user_id=APPROVER, action_id=ids.APPROVE,
                                           value=str(three), message=card))

    def supersede() -> None:
        results.append(bot.deploy("production v1.2.4"))

    threads = [threading.Thread(target=approve), threading.Thread(target=supersede)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for reply in results:
        bot.requester.response_posts(reply)
    assert bot.container.runner.wait_idle()
    old = bot.deployment(three)
    ids_ = deployment_ids(bot)
    if old.state is State.CANCELLED:  # the request won: #3 superseded, #4 waits
        assert old.superseded_by == 4 and bot.deployment(4).state is State.AWAITING_APPROVAL
    else:  # the approval won: #3 ran (or runs), and the newer request was refused as busy
        # or placed after it finished (then it supersedes nothing)
        assert old.superseded_by is None and old.state in (State.QUEUED, State.RUNNING,
                                                           State.VERIFYING, State.SUCCEEDED)
        assert len(ids_) in (3, 4)


def test_drift_seen_by_the_scheduler_refreshes_the_cards_waiting_there(bot: RunningBot) -> None:
    request(bot, "staging v1.2.3")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    first = request(bot, "production v1.2.3")
    assert "starting now" in click_reply(bot, first, APPROVER)
    wait_dm(bot, REQUESTER, count=2)
    assert bot.container.runner.wait_idle()
    request(bot, "staging v1.2.4")
    wait_dm(bot, REQUESTER, count=3)
    assert bot.container.runner.wait_idle()
    waiting = request(bot, "production v1.2.4")
    assert "*Running now:* `v1.2.3`" in blocks_text(bot.card(waiting))
    # Someone changes production by hand; the scheduler's look finds it.
    bot.container.cluster.deploy("production", "api", "v1.2.3-hotfix",
                                 progress=lambda _line: None)
    jobs.register_instance(bot.container)  # as the scheduler does when it starts
    try:
        assert jobs.check_live(bot.container.instance) == 1
    finally:
        jobs.unregister_instance(bot.container.instance)
    assert "*Running now:* `v1.2.3-hotfix`" in blocks_text(bot.card(waiting))
    assert bot.deployment(waiting).state is State.AWAITING_APPROVAL
