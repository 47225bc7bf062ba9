"""The App Home tab end to end, over signed Slack HTTP: `app_home_opened` publishes it with
`views.publish` (what runs where and since when, locks, the windows, approvals waiting with
their buttons, the last deployments); its buttons work from the tab; changes republish it
for recent viewers; 200 services stay within Slack's limits."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_slack import view_problems
from devtools.slack_requests import app_home_opened_event
from tests.conftest import APPROVER, OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    blocks_text,
    dm_channel,
    ephemeral_text,
    request,
    run_to_end,
    wait_dm,
)
from tests.slack_hold import SlackHold, acked_while_held

GUIDE_SCHEDULE = {
    "monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
    "thursday": "anytime", "friday": {"until": "14:00"},
    "saturday": "emergency_only", "sunday": "emergency_only",
}


@pytest.fixture
def config_data() -> dict[str, Any]:
    # Refresh passes at most every 50 ms here (3 s by default).
    cfg = base_config(home={"refresh_every": 0.05})
    cfg["roles"]["freeze_managers"] = [REQUESTER]
    cfg["environments"]["production"]["schedule"] = GUIDE_SCHEDULE
    return cfg


def open_home(bot: RunningBot, user: str, *, tab: str = "home") -> None:
    reply = bot.requester.event(app_home_opened_event(user, tab=tab))
    assert reply.status == 200, reply.body


def published(bot: RunningBot, user: str, count: int = 1) -> dict[str, Any]:
    """Wait for the `count`-th views.publish for `user`; the view it published."""
    calls = bot.slack.wait_for("views.publish", count=count,
                               predicate=lambda c: c.args.get("user_id") == user)
    view = calls[count - 1].args["view"]
    assert isinstance(view, dict)
    return view


def publishes_for(bot: RunningBot, user: str) -> int:
    return len([c for c in bot.slack.calls("views.publish") if c.args.get("user_id") == user])


def buttons(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(block_id, action_id, value) of every button in the view."""
    return [(b.get("block_id", ""), e["action_id"], e["value"])
            for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def slash(bot: RunningBot, command: str, text_: str, user: str = REQUESTER) -> str:
    """A slash command answered in the background: its ephemeral answer."""
    return ephemeral_text(bot, bot.requester.command(command, text_, user_id=user))


def idle(bot: RunningBot) -> None:
    assert bot.container.background.wait_idle(5)
    assert bot.container.runner.wait_idle()
    assert bot.container.home_refresher.wait_idle(5)


def test_opening_the_home_publishes_what_runs_where_windows_approvals_and_history(
        bot: RunningBot) -> None:
    staged = request(bot, "staging v1.2.3")
    assert run_to_end(bot, staged) is State.SUCCEEDED
    pending = request(bot, "production v1.2.4")
    with bot.container.database.transaction() as r:
        r.locks.acquire(environment="staging", service="api", holder=APPROVER,
                        reason="db maintenance", at=bot.clock.now(),
                        expires_at=bot.clock.now() + timedelta(hours=2))
    idle(bot)

    open_home(bot, APPROVER)
    first = published(bot, APPROVER)
    # Published at once from the database; what runs where is read live (the executor is
    # the truth) by the refresher, which publishes again.
    assert ("2 running version(s) not looked up in the cluster yet; they appear as the tab "
            "refreshes.") in blocks_text(first)
    view = published(bot, APPROVER, count=2)

    assert view["type"] == "home"
    assert view["callback_id"] == ids.HOME_VIEW
    assert view_problems(view) == []
    assert bot.slack.home_view(APPROVER) is not None
    shown = blocks_text(view)
    assert "not looked up" not in shown
    # Per environment: the window now and its next change, then each service.
    assert "`staging`: 🟢 open now" in shown
    assert ("`production`: 🟢 open now — next change: Fri 2026-11-20 14:00 EST, the schedule "
            "closes") in shown
    assert "• `api` `v1.2.3` since Wed 2026-11-18 10:00 EST — 🔒 locked by <@U0BOB>" in shown
    assert "until Wed 2026-11-18 12:00 EST: db maintenance" in shown
    # Production never saw a deploybot deploy: the simulated cluster's answer; it does not
    # know since when its initial version runs, so neither does the tab.
    assert "• `api` `v1.2.2` (since unknown)" in shown
    # The approval waiting, with the card's own buttons (one block id per deployment).
    assert "⏳ Waiting for approval* (1)" in shown
    assert f"*#{pending} api v1.2.4 → production*" in shown
    assert "approvals 0/1" in shown
    assert buttons(view) == [(f"{ids.HOME_APPROVAL_BLOCK}.{pending}", ids.APPROVE, str(pending)),
                             (f"{ids.HOME_APPROVAL_BLOCK}.{pending}", ids.REJECT, str(pending))]
    # The last deployments, newest first.
    assert (f"• #{pending} `api` `v1.2.4` → `production` — ⏳ Awaiting approval — "
            f"<@{REQUESTER}>") in shown
    assert f"• #{staged} `api` `v1.2.3` → `staging` — ✅ Succeeded — <@{REQUESTER}>" in shown
    assert shown.index(f"#{pending} `api` `v1.2.4` → `production` — ") < shown.index(
        f"#{staged} `api`")

    with bot.container.database.engine.connect() as conn:
        viewers = conn.execute(text("SELECT user_id FROM app_home_viewers")).scalars().all()
    assert viewers == [APPROVER]


def test_opening_the_home_is_acked_before_it_is_published(
        bot: RunningBot, slack_hold: SlackHold) -> None:
    # The event is acked while the tab's views.publish is held: the tab is read and
    # published after the ack, never before it.
    reply = acked_while_held(slack_hold,
                             lambda: bot.requester.event(app_home_opened_event(APPROVER)),
                             "views.publish")
    assert reply.status == 200, reply.body
    assert published(bot, APPROVER)["type"] == "home"


def test_a_click_in_the_home_is_acked_before_it_is_decided(
        bot: RunningBot, slack_hold: SlackHold) -> None:
    pending = request(bot, "production v1.2.4")
    open_home(bot, APPROVER)
    view = published(bot, APPROVER)
    # The click is acked while the approver's answer (a DM) and the card's update are held.
    reply = acked_while_held(
        slack_hold, lambda: bot.requester.view_click(user_id=APPROVER, action_id=ids.APPROVE,
                                                     value=str(pending), view=view),
        "chat.postMessage", "chat.update")
    assert reply.status == 200
    assert run_to_end(bot, pending) is State.SUCCEEDED
    [answer] = wait_dm(bot, APPROVER)
    assert answer.args["text"].startswith(f"✅ You approved deployment #{pending}")


def test_other_tabs_publish_nothing(bot: RunningBot) -> None:
    open_home(bot, APPROVER, tab="messages")
    idle(bot)
    assert bot.slack.calls("views.publish") == []


def test_approving_from_the_home_runs_the_deploy_and_answers_by_dm(bot: RunningBot) -> None:
    pending = request(bot, "production v1.2.4")
    open_home(bot, APPROVER)
    view = published(bot, APPROVER)
    block_id = f"{ids.HOME_APPROVAL_BLOCK}.{pending}"

    assert buttons(view)[0] == (block_id, ids.APPROVE, str(pending))
    replies_before = len(bot.slack.calls("response_url"))

    reply = bot.requester.view_click(user_id=APPROVER, action_id=ids.APPROVE,
                                     value=str(pending), view=view)
    assert reply.status == 200
    assert run_to_end(bot, pending) is State.SUCCEEDED

    # No response_url from a view: the answer is a DM to the approver.
    [answer] = wait_dm(bot, APPROVER)
    assert answer.args["text"] == (f"✅ You approved deployment #{pending}; it is starting "
                                   "now.")
    assert len(bot.slack.calls("response_url")) == replies_before
    # The card and the tab follow: no approval waiting any more, v1.2.4 runs in production.
    card = bot.card(pending)
    assert f"approved by <@{APPROVER}>" in blocks_text(card)
    idle(bot)
    latest = bot.slack.home_view(APPROVER)
    assert latest is not None
    shown = blocks_text(latest)
    assert "Waiting for approval" not in shown
    assert "• `api` `v1.2.4` since" in shown
    assert buttons(latest) == []


def test_a_refusal_of_a_click_in_the_home_is_told_by_dm(bot: RunningBot) -> None:
    pending = request(bot, "production v1.2.4")
    open_home(bot, REQUESTER)
    view = published(bot, REQUESTER)

    reply = bot.requester.view_click(user_id=REQUESTER, action_id=ids.APPROVE,
                                     value=str(pending), view=view)
    assert reply.status == 200

    [answer] = bot.slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.args.get("channel") == REQUESTER
        and str(c.args.get("text", "")).startswith("⚠️"))
    assert "approve" in answer.args["text"].lower()
    assert bot.deployment(pending).state is State.AWAITING_APPROVAL
    assert dm_channel(REQUESTER) in {m["channel"] for m in bot.slack.messages()}


def test_a_finished_deploy_republishes_the_home_for_recent_viewers_only(
        bot: RunningBot) -> None:
    with bot.container.database.transaction() as r:  # opened it 8 days ago: not recent
        r.home_viewers.opened("U0LONGAGO", at=bot.clock.now() - timedelta(days=8))
    open_home(bot, APPROVER)
    open_home(bot, OUTSIDER)
    before = published(bot, APPROVER)
    published(bot, OUTSIDER)
    assert "v1.2.3" not in blocks_text(before)
    idle(bot)

    staged = request(bot, "staging v1.2.3")
    assert run_to_end(bot, staged) is State.SUCCEEDED
    idle(bot)

    for viewer in (APPROVER, OUTSIDER):
        latest = bot.slack.home_view(viewer)
        assert latest is not None
        shown = blocks_text(latest)
        assert "• `api` `v1.2.3` since Wed 2026-11-18 10:00 EST" in shown, viewer
        assert f"• #{staged} `api` `v1.2.3` → `staging` — ✅ Succeeded" in shown
        assert publishes_for(bot, viewer) >= 2  # opened, then republished
    assert publishes_for(bot, "U0LONGAGO") == 0


def test_a_freeze_or_a_lock_changed_in_slack_republishes_the_home(bot: RunningBot) -> None:
    open_home(bot, APPROVER)
    published(bot, APPROVER)
    idle(bot)

    said = slash(bot, "/freeze", 'add "Offsite" 2026-11-18 09:00 to 2026-11-19 10:00 production')
    assert said == "Freeze #1 added", said
    idle(bot)
    latest = bot.slack.home_view(APPROVER)
    assert latest is not None
    assert ("`production`: 🔴 closed: Offsite freeze until Thu 2026-11-19 10:00 EST — opens "
            "Thu 2026-11-19 10:00 EST") in blocks_text(latest)

    assert slash(bot, "/lock", 'staging api "db maintenance" for 2h').startswith(
        "🔒 You locked api in staging")
    idle(bot)
    latest = bot.slack.home_view(APPROVER)
    assert latest is not None
    assert "🔒 locked by <@U0ALICE> since Wed 2026-11-18 10:00 EST" in blocks_text(latest)

    slash(bot, "/unlock", "staging api")
    idle(bot)
    latest = bot.slack.home_view(APPROVER)
    assert latest is not None
    assert "🔒" not in blocks_text(latest)


SERVICES = [f"svc-{i:03d}" for i in range(200)]


@pytest.fixture
def many_services(config_data: dict[str, Any]) -> dict[str, Any]:
    config_data["services"] = {name: {"executor": "simulated"} for name in SERVICES}
    config_data["environments"]["development"] = {}
    return config_data


@pytest.mark.usefixtures("many_services")
def test_200_services_fit_slack_limits_and_the_cluster_is_asked_in_bounded_passes(
        bot: RunningBot) -> None:
    for i in range(12):  # more approvals waiting than the tab has room for
        request(bot, f"svc-{i:03d} production v2.0.{i}")
    idle(bot)
    passes = bot.container.home_refresher.passes
    open_home(bot, APPROVER)
    first = published(bot, APPROVER)  # the fake refuses what Slack would refuse

    assert view_problems(first) == []
    shown = blocks_text(first)
    assert "⏳ Waiting for approval* (12)" in shown
    assert "…and 4 more waiting for approval" in shown
    assert len(buttons(first)) == 16
    for env in ("staging", "production", "development"):
        assert f"`{env}`: 🟢 open now" in shown
    # Opening never waits for the cluster: 3 x 200 versions to look up, none by deploybot.
    assert "600 running version(s) not looked up in the cluster yet" in shown
    assert "• Version not known yet: `svc-000`, `svc-001`" in shown

    # The refresher looks them up, home.cluster_lookups (50) per pass, publishing each time.
    deadline = time.monotonic() + 20
    while "not looked up" in blocks_text(bot.slack.home_view(APPROVER) or first):
        assert time.monotonic() < deadline, "the refresher did not look everything up"
        time.sleep(0.05)
    idle(bot)
    view = bot.slack.home_view(APPROVER)
    assert view is not None
    assert view_problems(view) == []
    assert len(view["blocks"]) <= 100
    shown = blocks_text(view)
    assert shown.count("(since unknown)") == 600
    assert "Not shown" not in shown
    assert bot.container.home_refresher.passes - passes == 12
    assert publishes_for(bot, APPROVER) == 1 + 12
