"""An honest deployment record (issue 12, items 5 and 6), end to end over signed Slack HTTP on
the simulated cluster: a record never regresses once its deployment ended (a later rollback
or Keep adds a line, the rollout, checks and announcement stay as they were reached), and a
pre-deployment checklist item is ✅ only when something checked it: with no GitHub it is shown
not checked and why, and approval attests it only where the environment says so
(`checklist_attestation: approver`), by name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.blocks import when
from devtools.fake_slack import FakeSlack
from tests.conftest import (
    APPROVER,
    APPROVER2,
    REQUESTER,
    WEDNESDAY,
    RunningBot,
    base_config,
    serve_bot,
)
from tests.handlers.spine import (
    blocks_text,
    click_reply,
    deployment_ids,
    ephemeral_text,
    request,
    run_to_end,
    thread_replies,
    wait_dm,
)

ITEMS = ("Tests passing", "Code reviewed and approved", "Database migrations reviewed",
         "Feature flags configured", "Monitoring alerts set up", "Rollback plan documented")
NO_GITHUB = "not checked: no GitHub repository configured for api"
VERIFIED = "✅ Post-deployment checks — verified: watched 5m00s, pods healthy"
# An hour after the suite's Wednesday 10:00 in New York: when the decisions below are taken.
LATER = timedelta(hours=1)
LATER_SHOWN = "Wed 2026-11-18 11:00 EST"
ZONE = ZoneInfo("America/New_York")


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["simulated"]["fail_verify"] = "-flaky$"
    cfg["environments"]["staging"] = {"verify": {"bake": "5m", "auto_rollback": False}}
    return cfg


def record(bot: RunningBot, deployment_id: int) -> str:
    """The deployment record's text as it is now: the first reply in the card's thread."""
    d = bot.deployment(deployment_id)
    assert d.message_ts is not None
    return blocks_text(thread_replies(bot, d.message_ts)[0])


def production_deploy(bot: RunningBot, version: str, expect: State = State.SUCCEEDED) -> int:
    i = request(bot, f"production {version}")
    assert "You approved deployment" in click_reply(bot, i, APPROVER)
    assert run_to_end(bot, i) is expect
    return i


def staging_deploy(bot: RunningBot, version: str, expect: State) -> int:
    before = set(deployment_ids(bot))
    ephemeral_text(bot, bot.deploy(f"staging {version}"))
    (new,) = set(deployment_ids(bot)) - before
    assert run_to_end(bot, new) is expect
    return new


def rollback(bot: RunningBot, text: str, *, user: str = APPROVER) -> int:
    """`/rollback text`, confirmed by `user`; the rollback deployment's id once it ended."""
    reply = bot.requester.command("/rollback", text, user_id=user)
    (plan,) = bot.requester.response_posts(reply)
    (button,) = next(b for b in plan.args["blocks"]
                     if b.get("block_id") == ids.ROLLBACK_BLOCK)["elements"]
    before = set(deployment_ids(bot))
    click = bot.requester.click(user_id=user, action_id=ids.ROLLBACK_CONFIRM,
                                value=button["value"], channel_id="C0DEPLOYS")
    assert click.status == 200, click.body
    bot.requester.response_posts(click)
    (new,) = set(deployment_ids(bot)) - before
    wait_dm(bot, user)
    assert bot.container.runner.wait_idle()
    assert bot.deployment(new).state is State.SUCCEEDED
    return new


def finished(bot: RunningBot, deployment_id: int) -> str:
    """When a deployment (a rollback) ended, as the record shows times."""
    at = bot.deployment(deployment_id).finished_at
    assert at is not None
    return when(at, ZONE)


def press(bot: RunningBot, deployment_id: int, action_id: str, user: str) -> str:
    reply = bot.requester.click(user_id=user, action_id=action_id, value=str(deployment_id),
                                message=bot.card(deployment_id))
    assert reply.status == 200, reply.body
    return ephemeral_text(bot, reply)


def kept_lines(before: str, after: str) -> list[str]:
    """The lines of the earlier record that the later one lost or changed."""
    now = after.splitlines()
    return [line for line in before.splitlines() if line not in now]


# -- 5. a record never regresses ------------------------------------------------------


def test_a_rollback_adds_a_line_to_a_succeeded_record_and_changes_nothing_else(
        bot: RunningBot) -> None:
    i = production_deploy(bot, "v1.2.3")
    before = record(bot, i)
    assert VERIFIED in before
    bot.clock.set(WEDNESDAY + LATER)
    rb = rollback(bot, "production")
    assert bot.deployment(i).state is State.ROLLED_BACK
    after = record(bot, i)
    assert VERIFIED in after  # it was verified; a later rollback does not undo that
    assert "⏳" not in after
    assert "✅ Rollout — v1.2.3 went live" in after
    assert "✅ Announced in the deployments channel" in after
    assert (f"↩️ Rolled back to v1.2.2 by <@{APPROVER}> (deployment #{rb}), "
            f"{finished(bot, rb)}") in after
    # Every other line stays as it was (the rollout's tense aside: it is not live any more).
    assert kept_lines(before, after) == ["✅ Rollout — v1.2.3 is live"]


def test_an_automatic_rollback_after_a_failed_watch_keeps_the_failure_and_adds_a_line(
        bot: RunningBot) -> None:
    i = production_deploy(bot, "v1.3.0-flaky", expect=State.ROLLED_BACK)
    after = record(bot, i)
    assert "✅ Rollout — v1.3.0-flaky went live" in after
    assert ("❌ Post-deployment checks — failed verification: simulated failure: the pods of "
            "api v1.3.0-flaky restarted 3 times") in after
    assert "rolling back to" not in after and "⏳" not in after
    assert "✅ Announced in the deployments channel" in after
    assert f"↩️ Rolled back to v1.2.2 automatically, {finished(bot, i)}" in after


def test_a_rollback_chosen_after_a_failed_watch_adds_who_chose_it(bot: RunningBot) -> None:
    i = staging_deploy(bot, "v1.3.0-flaky", State.FAILED)
    before = record(bot, i)
    assert "❌ Post-deployment checks — failed verification" in before
    bot.clock.set(WEDNESDAY + LATER)
    assert "(deployment #2)" in press(bot, i, ids.ROLL_BACK, APPROVER)
    wait_dm(bot, APPROVER)
    assert bot.container.runner.wait_idle()
    assert bot.deployment(i).state is State.ROLLED_BACK
    after = record(bot, i)
    assert (f"↩️ Rolled back to v1.2.2 by <@{APPROVER}> (deployment #2), "
            f"{finished(bot, 2)}") in after
    assert "⏳" not in after
    assert kept_lines(before, after) == []  # nothing of what it reached changed


def test_a_failed_watch_rolled_back_with_the_command_keeps_its_failure(
        bot: RunningBot) -> None:
    i = staging_deploy(bot, "v1.3.0-flaky", State.FAILED)
    before = record(bot, i)
    bot.clock.set(WEDNESDAY + LATER)
    rb = rollback(bot, "staging")  # /rollback instead of the card's button
    after = record(bot, i)
    assert bot.deployment(i).state is State.ROLLED_BACK
    assert (f"↩️ Rolled back to v1.2.2 by <@{APPROVER}> (deployment #{rb}), "
            f"{finished(bot, rb)}") in after
    assert kept_lines(before, after) == []


def test_keep_adds_who_kept_it_and_a_later_rollback_adds_another_line(
        bot: RunningBot) -> None:
    i = staging_deploy(bot, "v1.3.0-flaky", State.FAILED)
    bot.clock.set(WEDNESDAY + LATER)
    assert "stays live" in press(bot, i, ids.KEEP, REQUESTER)
    kept = record(bot, i)
    assert (f"🟠 Kept v1.3.0-flaky live — chosen by <@{REQUESTER}> after its checks failed, "
            f"{LATER_SHOWN}") in kept
    bot.clock.set(WEDNESDAY + 2 * LATER)
    rb = rollback(bot, "staging")
    after = record(bot, i)
    assert bot.deployment(i).state is State.ROLLED_BACK
    assert (f"↩️ Rolled back to v1.2.2 by <@{APPROVER}> (deployment #{rb}), "
            f"{finished(bot, rb)}") in after
    assert kept_lines(kept, after) == []


# -- the post-deployment checks are ✅ only when a watch ran ----------------------------


class TestWithoutAWatch:
    """Staging with no `verify:` (the suite's base configuration): nothing watched it."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config()

    def test_a_success_nobody_watched_says_not_checked_and_why(self, bot: RunningBot) -> None:
        i = staging_deploy(bot, "v1.2.3", State.SUCCEEDED)
        text = record(bot, i)
        assert ("⚪ Post-deployment checks — not checked: no post-deployment watch configured "
                "for staging (environments.staging.verify)") in text, text
        assert "✅ Post-deployment checks" not in text
        assert "✅ Rollout — v1.2.3 is live" in text
        # A rollback there is not watched either: its record says so too.
        bot.clock.set(WEDNESDAY + LATER)
        rb = rollback(bot, "staging")
        assert "⚪ Post-deployment checks — not checked: no post-deployment watch " \
            "configured for staging" in record(bot, rb)
        # The rolled-back deploy's record keeps what it reached and adds the rollback.
        after = record(bot, i)
        assert "⚪ Post-deployment checks — not checked" in after
        assert f"↩️ Rolled back to v1.2.2 by <@{APPROVER}> (deployment #{rb})" in after


# -- 6. the checklist claims only what was checked --------------------------------------


def test_without_github_an_approval_ticks_nothing_it_did_not_check(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3")
    card = blocks_text(bot.card(i))
    assert "not checked by deploybot (no GitHub repository configured for api)" in card
    assert "Approving does not attest them" in card
    assert "☑️" not in record(bot, i)
    click_reply(bot, i, APPROVER)
    assert run_to_end(bot, i) is State.SUCCEEDED
    text = record(bot, i)
    for item in ITEMS:
        assert f"⚪ {item} — {NO_GITHUB}" in text, text
        assert f"✅ {item}" not in text
    assert f"✅ Approval — <@{APPROVER}>" in text


def test_a_staging_record_claims_no_checks_without_an_approval(bot: RunningBot) -> None:
    i = staging_deploy(bot, "v1.2.3", State.SUCCEEDED)
    text = record(bot, i)
    for item in ITEMS:
        assert f"⚪ {item} — {NO_GITHUB}" in text, text
    assert "✅ Tests passing" not in text


@pytest.fixture
def attesting(database_url: str, fake_slack: FakeSlack,
              clock: ManualClock) -> Iterator[RunningBot]:
    """Production approvals attest the unchecked items; two approvals needed."""
    cfg = base_config()
    cfg["environments"]["production"]["checklist_attestation"] = "approver"
    cfg["environments"]["production"]["approval"]["required"] = 2
    with serve_bot(parse_config(cfg, source="test config"), database_url, fake_slack,
                   clock) as running:
        yield running


def test_an_attesting_approval_names_the_approvers_on_each_item(attesting: RunningBot) -> None:
    bot = attesting
    i = request(bot, "production v1.2.3")
    card = blocks_text(bot.card(i))
    assert "Approving attests them" in card
    click_reply(bot, i, APPROVER)
    # One of two approvals: nothing is attested yet.
    pending = record(bot, i)
    assert "☑️" not in pending and "✅ Tests passing" not in pending
    click_reply(bot, i, APPROVER2)
    assert run_to_end(bot, i) is State.SUCCEEDED
    text = record(bot, i)
    for item in ITEMS:
        assert f"☑️ {item} — attested by <@{APPROVER}>, <@{APPROVER2}> on approval" in text, \
            text
        assert f"✅ {item}" not in text

