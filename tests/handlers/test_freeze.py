"""`/freeze` end to end: signed Slack HTTP in, the fake Slack Web API out, the real store.

Bad input is answered in the ack, privately, naming the problem, and nothing is stored or
posted; a freeze added from Slack refuses deploys inside it until it is removed.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from devtools.slack_requests import Reply
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    CHANNEL,
    blocks_text,
    click_reply,
    deployment_ids,
    ephemeral_text,
    posts_to,
    request,
    settle,
)
from tests.slack_hold import SlackHold, acked_while_held

MANAGER = "U0FRANK"
NY = ZoneInfo("America/New_York")
GUIDE = {"monday": "anytime", "tuesday": "anytime", "wednesday": "anytime",
         "thursday": "anytime", "friday": {"until": "14:00"},
         "saturday": "emergency_only", "sunday": "emergency_only"}
OFFSITE = '"Company offsite" 2026-12-10 09:00 to 2026-12-11 18:00'


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["roles"]["freeze_managers"] = [MANAGER]
    cfg["environments"]["production"]["schedule"] = GUIDE
    cfg["freezes"] = {
        "managers": ["freeze_managers"],
        "holidays": [{"country": "US", "names": ["Thanksgiving Day", "Christmas Day"],
                      "environments": ["production"]}],
        "black_friday_cyber_monday": {"environments": ["production"]},
    }
    return cfg


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def freeze(bot: RunningBot, text_: str, *, user: str = MANAGER) -> Reply:
    reply = bot.requester.command("/freeze", text_, user_id=user)
    assert reply.status == 200, reply.body
    return reply


def answer(bot: RunningBot, text_: str, *, user: str = MANAGER) -> tuple[str, str]:
    """`/freeze text`: (the ephemeral answer's text, its blocks' text)."""
    reply = freeze(bot, text_, user=user)
    summary = ephemeral_text(bot, reply)
    (post,) = bot.requester.response_posts(reply)
    return summary, blocks_text(post.args)


def freeze_rows(bot: RunningBot) -> list[tuple[int, str, Any]]:
    with bot.container.database.engine.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(
            text("SELECT id, name, removed_at FROM freezes ORDER BY id"))]


def freeze_audit(bot: RunningBot) -> list[tuple[str, str]]:
    with bot.container.database.engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(text(
            "SELECT action, actor FROM audit_events WHERE action LIKE 'freeze.%' ORDER BY id"))]


# -- bad input: a specific private message, nothing stored, nothing posted --------------------

BAD = [
    pytest.param('"Offsite" 2026-12-10 9am to 2026-12-11 18:00',
                 "`2026-12-10 9am` is not a date and time I can read", id="unparseable-time"),
    pytest.param('"Offsite" 10/12/2026 to 2026-12-11', "`10/12/2026` is not a date and time",
                 id="unparseable-date"),
    pytest.param('"Offsite" 2026-12-31 to 2026-12-30',
                 "The end (the whole day 2026-12-30) is before the start "
                 "(Thu 2026-12-31 00:00 EST)", id="end-before-start"),
    pytest.param('"Offsite" 2026-12-10 18:00 to 2026-12-10 09:00',
                 "The end (Thu 2026-12-10 09:00 EST) is before the start "
                 "(Thu 2026-12-10 18:00 EST)", id="end-before-start-same-day"),
    pytest.param('"Offsite" 2026-12-10 to 2026-12-11 prod',
                 "Unknown environment `prod`. Known environments: `production`, `staging`",
                 id="unknown-environment"),
    pytest.param("Offsite 2026-12-10 to 2026-12-11", "Put the freeze name in quotes",
                 id="no-quotes"),
    pytest.param('"Offsite" 2025-12-10 to 2025-12-11', "entirely in the past", id="past"),
    pytest.param('"<!channel> party" 2026-12-10 to 2026-12-11',
                 "may not contain `&lt;`, `&gt;`", id="mention"),
]


@pytest.mark.parametrize(("args", "problem"), BAD)
def test_bad_freeze_add_is_refused_privately_and_stores_nothing(
    bot: RunningBot, args: str, problem: str
) -> None:
    reply = freeze(bot, "add " + args)

    body = reply.json
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("⚠️ ")
    assert problem in body["text"]
    assert problem in blocks_text(body)
    assert "*Usage*" in body["text"]
    assert "<!channel>" not in reply.body

    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []  # said once, in the ack
    assert freeze_rows(bot) == []
    assert freeze_audit(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


def test_a_non_member_of_the_role_is_refused_and_nothing_is_stored(bot: RunningBot) -> None:
    reply = freeze(bot, "add " + OFFSITE, user=REQUESTER)
    assert "Adding the freeze `Company offsite`" in reply.json["text"]

    said = ephemeral_text(bot, reply)

    assert said.startswith("⚠️ You may not add freezes: that needs the `freeze_managers` role")
    assert freeze_rows(bot) == []
    assert freeze_audit(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


def test_a_non_member_cannot_remove_either(bot: RunningBot) -> None:
    answer(bot, "add " + OFFSITE)
    said, _ = answer(bot, "remove 1", user=REQUESTER)
    assert said.startswith("⚠️ You may not remove freezes: that needs the `freeze_managers`")
    assert [(n, r) for n, _, r in freeze_rows(bot)] == [(1, None)]


def test_removing_an_unknown_freeze_says_so(bot: RunningBot) -> None:
    said, _ = answer(bot, "remove #42")
    assert said.startswith("⚠️ There is no freeze #42 to remove")
    assert freeze_audit(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


def test_unknown_subcommand_and_help(bot: RunningBot) -> None:
    reply = freeze(bot, "pause production")
    assert "Unknown `/freeze` subcommand `pause`" in reply.json["text"]
    reply = freeze(bot, "help")
    assert reply.json["text"].startswith("*Usage*")
    assert "/freeze remove <number>" in html.unescape(reply.json["text"])
    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []


# -- the life of a freeze ------------------------------------------------------------------------

def test_add_list_refuse_remove_allow(bot: RunningBot) -> None:
    reply = freeze(bot, "add " + OFFSITE + ' --reason "all hands"')
    assert reply.json["text"] == "⏳ Adding the freeze `Company offsite`…"
    said = ephemeral_text(bot, reply)
    assert said == "Freeze #1 added"
    (post,) = bot.requester.response_posts(reply)
    assert ("🧊 Freeze #1 added: *Company offsite* freeze: Thu 2026-12-10 09:00 EST → "
            "Fri 2026-12-11 18:00 EST · all environments — all hands (#1)"
            ) in blocks_text(post.args)
    assert freeze_rows(bot) == [(1, "Company offsite", None)]
    assert freeze_audit(bot) == [("freeze.added", MANAGER)]
    (announced,) = posts_to(bot, CHANNEL)
    assert announced.args["text"].startswith(f"🧊 <@{MANAGER}> added freeze #1: *Company offsite*")

    # The list shows it with its number and who added it, with the computed freezes.
    said, listed = answer(bot, "list", user=REQUESTER)
    assert said == "Freezes"
    lines = [ln for ln in listed.splitlines() if ln.startswith("• ")]
    assert lines == [
        "• *Thanksgiving Day* freeze: Thu 2026-11-26 00:00 EST → Fri 2026-11-27 00:00 EST · "
        "production — public holiday in US (public holiday)",
        "• *Black Friday / Cyber Monday* freeze: Fri 2026-11-27 00:00 EST → "
        "Tue 2026-12-01 00:00 EST · production — peak traffic (every year)",
        "• *Company offsite* freeze: Thu 2026-12-10 09:00 EST → Fri 2026-12-11 18:00 EST · "
        f"all environments — all hands (#1, added by <@{MANAGER}>)",
    ]
    assert "`/freeze remove &lt;number&gt;`" in listed  # a bare <…> would be a link

    # A deploy inside it is refused, with the freeze as the reason.
    bot.clock.set(ny(2026, 12, 10, 12, 0))  # Thursday noon: the schedule alone is open
    refused = bot.deploy("production v1.2.3")
    said = ephemeral_text(bot, refused)
    assert said == "Not now: api v1.2.3 cannot go to production"
    (post,) = bot.requester.response_posts(refused)
    assert "• Company offsite freeze until Fri 2026-12-11 18:00 EST (all hands)" in \
        blocks_text(post.args)
    assert deployment_ids(bot) == []

    # /freeze shows it active now, for every environment.
    said, status = answer(bot, "", user=REQUESTER)
    assert said == "Deploy windows"
    assert ("`staging`: 🔴 closed: Company offsite freeze until Fri 2026-12-11 18:00 EST "
            "(all hands) — opens Fri 2026-12-11 18:00 EST") in status
    assert ("`production`: 🔴 closed: Company offsite freeze until Fri 2026-12-11 18:00 EST "
            "(all hands) — opens Mon 2026-12-14 00:00 EST") in status

    # Removed, the same deploy is allowed.
    said, removed = answer(bot, "remove #1")
    assert said == "Freeze #1 removed"
    assert removed.startswith("🔓 Freeze #1 removed: *Company offsite* freeze")
    assert freeze_rows(bot)[0][2] is not None  # the row is kept, marked removed
    assert freeze_audit(bot) == [("freeze.added", MANAGER), ("freeze.removed", MANAGER)]
    assert posts_to(bot, CHANNEL)[-1].args["text"].startswith(
        f"🔓 <@{MANAGER}> removed freeze #1: *Company offsite*")
    deployment = request(bot, "production v1.2.3")
    assert bot.deployment(deployment).environment == "production"

    said, listed = answer(bot, "list", user=REQUESTER)
    assert "Company offsite" not in listed
    said, _ = answer(bot, "remove 1")
    assert said.startswith("⚠️ There is no freeze #1 to remove")


def test_a_freeze_is_added_after_the_ack(bot: RunningBot, slack_hold: SlackHold) -> None:
    # The ack comes back while the freeze's announcement in the channel is held: the freeze
    # is added (stored, announced) after the ack, never before it.
    reply = acked_while_held(
        slack_hold, lambda: freeze(bot, "add " + OFFSITE), "chat.postMessage", "response_url",
        follow_up=lambda c: c.method == "chat.postMessage" and c.args.get("channel") == CHANNEL)
    assert reply.json["text"] == "⏳ Adding the freeze `Company offsite`…"
    assert ephemeral_text(bot, reply) == "Freeze #1 added"
    assert freeze_rows(bot) == [(1, "Company offsite", None)]


# -- the status views ----------------------------------------------------------------------------

def test_freeze_without_arguments_shows_the_windows(bot: RunningBot) -> None:
    said, body = answer(bot, "", user=REQUESTER)  # Wednesday 2026-11-18 10:00
    assert said == "Deploy windows"
    assert "now Wed 2026-11-18 10:00 EST" in body
    assert "`staging`: 🟢 open now\n    Schedule: always open (no schedule)" in body
    assert ("`production`: 🟢 open now — next change: Fri 2026-11-20 14:00 EST, the schedule "
            "closes") in body
    assert ("Schedule: Monday to Thursday anytime; Friday before 14:00; Saturday and Sunday "
            "emergency fixes only (America/New_York)") in body
    assert ("    • *Thanksgiving Day* freeze: Thu 2026-11-26 00:00 EST → Fri 2026-11-27 "
            "00:00 EST · production — public holiday in US") in body
    assert "No freezes start in the next 30 days." in body  # staging
    assert bot.slack.calls("chat.postMessage") == []


@pytest.mark.parametrize(("command", "text_"), [("/deploy", "status"), ("/deploy", " status ")])
def test_the_deploy_status_view_has_a_line_per_environment(
    bot: RunningBot, command: str, text_: str
) -> None:
    def windows() -> list[str]:
        reply = bot.requester.command(command, text_, user_id=REQUESTER)
        (post,) = bot.requester.response_posts(reply)
        body = blocks_text(post.args)
        return body.split("*Deploy windows*\n", 1)[1].splitlines()

    assert windows() == [
        "• `staging`: 🟢 open now",
        "• `production`: 🟢 open now — next change: Fri 2026-11-20 14:00 EST, the schedule "
        "closes",
    ]
    bot.clock.set(ny(2026, 11, 20, 14, 5))
    assert windows() == [
        "• `staging`: 🟢 open now",
        "• `production`: 🔴 closed: deploys to production are allowed Friday only before "
        "14:00 (America/New_York) — opens Mon 2026-11-23 00:00 EST",
    ]
    bot.clock.set(ny(2026, 11, 25, 12, 0))  # the day before Thanksgiving
    assert windows()[1] == ("• `production`: 🟢 open now — next change: Thu 2026-11-26 "
                            "00:00 EST, *Thanksgiving Day* freeze starts")


def test_an_approver_is_not_a_freeze_manager(bot: RunningBot) -> None:
    said, _ = answer(bot, "add " + OFFSITE, user=APPROVER)
    assert "needs the `freeze_managers` role" in said
    assert freeze_rows(bot) == []


def test_a_freeze_starting_under_a_waiting_request_is_said_on_its_card(
        bot: RunningBot) -> None:
    """A freeze that starts while a request awaits approval: its card says the freeze and
    until when (approving is refused until it ends), from the start announcement on; when
    the freeze ends the card drops it and the request can be approved."""
    bot.clock.set(ny(2026, 12, 10, 8, 0))  # Thursday: the schedule is open
    three = request(bot, "production v1.2.3")  # expires 10:00 (2h)
    assert "freeze" not in blocks_text(bot.card(three)).lower()
    bot.clock.set(ny(2026, 12, 10, 8, 10))
    freeze(bot, 'add "Hotfix review" 2026-12-10 08:30 to 2026-12-10 09:00 production')
    settle(bot)
    assert "freeze" not in blocks_text(bot.card(three)).lower()  # not started yet

    bot.clock.set(ny(2026, 12, 10, 8, 30))
    assert bot.container.announcements.post_due(at=bot.clock.now())  # "🧊 … has started"
    card = blocks_text(bot.card(three))
    assert ("🧊 Not approvable now: Hotfix review freeze until Thu 2026-12-10 09:00 EST. "
            "It can be approved once that ends, Thu 2026-12-10 09:00 EST; only an emergency "
            "deploy goes before.") in card, card
    refused = click_reply(bot, three, APPROVER)
    assert refused.startswith("⚠️ Not approved: the deploy window is closed now — Hotfix "
                              "review freeze"), refused

    bot.clock.set(ny(2026, 12, 10, 9, 0))
    assert bot.container.announcements.post_due(at=bot.clock.now())  # "… has ended"
    assert "Not approvable now" not in blocks_text(bot.card(three))
    assert "starting now" in click_reply(bot, three, APPROVER)


def test_a_freeze_added_on_already_is_said_on_waiting_cards_until_removed(
        bot: RunningBot) -> None:
    """Added already begun (no start announcement follows), the freeze is said on the cards
    at once; one the request cannot outlast says so; removed, the cards drop it."""
    bot.clock.set(ny(2026, 12, 10, 8, 0))
    three = request(bot, "production v1.2.3")  # expires 10:00 (2h)
    bot.clock.set(ny(2026, 12, 10, 8, 10))
    reply = freeze(bot, 'add "Hotfix review" 2026-12-10 08:10 to 2026-12-10 12:00 production')
    assert ephemeral_text(bot, reply) == "Freeze #1 added"
    card = blocks_text(bot.card(three))
    assert ("🧊 Not approvable now: Hotfix review freeze until Thu 2026-12-10 12:00 EST. "
            "It expires before the window opens again (Thu 2026-12-10 12:00 EST): request "
            "it again then; only an emergency deploy goes before.") in card, card
    assert ephemeral_text(bot, freeze(bot, "remove 1")) == "Freeze #1 removed"
    assert "Not approvable now" not in blocks_text(bot.card(three))
