"""The pre-deployment checklist in the approval card (issue 6), over signed Slack HTTP with a
local fake GitHub API: checks and reviews of the tag's commit shown ✅/❌/⏳ and refreshed
when approve is clicked, ticks and "not applicable" from the card (audited, the requester's
own migrations tick refused), production approval refused while a required item is red or
cannot be checked (GitHub down, rate limited), an emergency skipping them on the record."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text

from bot.domain.checklist import FEATURE_FLAGS, MIGRATIONS, MONITORING, REVIEWS, ROLLBACK_PLAN
from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.checklist_views import item_block_id, na_block_id
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.review import FakeReview
from devtools.slack_requests import block_actions_body, signed_headers, text_value
from tests.conftest import (
    APPROVER,
    APPROVER2,
    REQUESTER,
    SIGNING_SECRET,
    WEDNESDAY,
    RunningBot,
    base_config,
)
from tests.handlers.spine import (
    audit_actions,
    blocks_text,
    click_reply,
    decisions,
    opened_modal,
    request,
    thread_replies,
)

ONCALL = "U0ONCALL"


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # a secret: from the environment only
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": []})


@pytest.fixture
def history(fake_github: FakeGitHub) -> FakeReview:
    """v1.2.2 runs in production (the simulated cluster's initial version); v1.2.3 adds
    two commits, each through an approved pull request."""
    h = FakeReview(fake_github, "acme/api")
    h.commit("initial", pr=1)
    h.tag("v1.2.2")
    h.commit("Add login page", author="dana", pr=12, files=["app/login.py"])
    h.commit("Speed up search", author="eli", pr=13, files=["app/search.py"])
    h.tag("v1.2.3")
    return h


@pytest.fixture
def config_data(fake_github: FakeGitHub, request: pytest.FixtureRequest) -> dict[str, Any]:
    cfg = base_config(
        services={"api": {"executor": "simulated", "github": {
            "repository": "acme/api", "required_checks": ["build", "test"],
            "migration_paths": ["migrations/"]}}},
        github={"api_url": fake_github.url},
        checklist={"refresh_every": "1m", "max_backoff": "10m"},
        emergency={"approvers": ["oncall"], "required": 1},
    )
    cfg["roles"]["oncall"] = [ONCALL]
    if request.node.get_closest_marker("nothing_running") is not None:
        cfg["simulated"]["initial_version"] = None  # a first deploy: nothing to compare with
    return cfg


def green(history: FakeReview, tag: str = "v1.2.3") -> None:
    history.check(tag, "build", "success")
    history.status(tag, "test", "success")


def wait_for_card(bot: RunningBot, deployment_id: int, needle: str) -> str:
    """The card's text once an update containing `needle` arrived (the checklist is
    evaluated off the ack path)."""
    ts = bot.deployment(deployment_id).message_ts

    def shows(c: Any) -> bool:
        return c.args.get("ts") == ts and needle in json.dumps(c.args.get("blocks"),
                                                               ensure_ascii=False)
    bot.slack.wait_for("chat.update", predicate=shows)
    return blocks_text(bot.card(deployment_id))


def item_line(bot: RunningBot, deployment_id: int, item: str) -> str:
    for b in bot.card(deployment_id)["blocks"]:
        if b.get("block_id") == item_block_id(deployment_id, item):
            return str(b["text"]["text"])
    raise AssertionError(f"no {item} on the card")


def interact(bot: RunningBot, deployment_id: int, user: str, action: dict[str, Any]) -> str:
    """Send a checkbox / text input interaction on the card as Slack does; the ephemeral
    answer's text."""
    key = bot.slack.new_response_key("chk")
    body = block_actions_body(user_id=user, action_id=str(action["action_id"]), value="",
                              message=bot.card(deployment_id),
                              response_url=bot.slack.response_url(key))
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["actions"] = [{**action, "action_ts": "1600000000.000100"}]
    body = urlencode({"payload": json.dumps(payload)})
    reply = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body))
    assert reply.status == 200, reply.body
    (post,) = bot.slack.wait_for("response_url", predicate=lambda c: c.key == key)
    assert post.args.get("response_type") == "ephemeral"
    return str(post.args["text"])


def tick(bot: RunningBot, deployment_id: int, item: str, user: str,
         checked: bool = True) -> str:
    option = {"text": {"type": "plain_text", "text": "Done"},
              "value": f"{deployment_id}.{item}"}
    return interact(bot, deployment_id, user, {
        "type": "checkboxes", "action_id": ids.CHECKLIST_TICK,
        "block_id": item_block_id(deployment_id, item),
        "selected_options": [option] if checked else []})


def not_applicable(bot: RunningBot, deployment_id: int, item: str, user: str,
                   reason: str) -> str:
    """Click the item's "Not applicable" (it asks why in a modal) and submit `reason`: the
    answer on the click's response_url, or the form's refusal under the field."""
    opened = len(bot.slack.open_views())
    click = bot.requester.click(user_id=user, action_id=ids.CHECKLIST_NOT_APPLICABLE,
                                value=f"{deployment_id}.{item}",
                                block_id=na_block_id(deployment_id, item),
                                message=bot.card(deployment_id))
    assert click.status == 200 and click.body == "", click.body
    view = opened_modal(bot, click, opened)
    if view is not None:
        assert view["callback_id"] == ids.NA_FORM
        submitted = bot.requester.submit_view(
            view, {ids.NA_REASON: {ids.NA_REASON: text_value(reason)}}, user_id=user)
        if submitted.json is not None:  # refused in the form
            assert submitted.json["response_action"] == "errors"
            return str(submitted.json["errors"][ids.NA_REASON])
    (post,) = bot.requester.response_posts(click)
    assert post.args.get("response_type") == "ephemeral"
    return str(post.args["text"])


def manual_items_done(bot: RunningBot, deployment_id: int) -> None:
    assert "Ticked" in tick(bot, deployment_id, FEATURE_FLAGS, REQUESTER)
    assert "Ticked" in tick(bot, deployment_id, MONITORING, APPROVER2)
    reply = not_applicable(bot, deployment_id, ROLLBACK_PLAN, REQUESTER, " config only ")
    assert "not applicable" in reply and "config only" in reply


def the_record(bot: RunningBot, deployment_id: int) -> dict[str, Any]:
    """The deployment record: the first reply in the card's thread."""
    d = bot.deployment(deployment_id)
    assert d.message_ts is not None
    return thread_replies(bot, d.message_ts)[0]


def requested(bot: RunningBot, needle: str = "GitHub asked at") -> int:
    i = request(bot, "production v1.2.3")
    wait_for_card(bot, i, needle)
    return i


def audit_details(bot: RunningBot, action: str) -> list[tuple[str, dict[str, Any]]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, details FROM audit_events WHERE action = :a "
                                 "ORDER BY id"), {"a": action}).all()
    return [(r[0], r[1] if isinstance(r[1], dict) else json.loads(r[1])) for r in rows]


def test_all_green_is_shown_with_the_changes_and_approval_goes_through(
        bot: RunningBot, history: FakeReview) -> None:
    green(history)
    i = requested(bot)
    card = blocks_text(bot.card(i))
    assert "✅ *Tests passing* — build, test" in card
    assert "✅ *Code reviewed and approved*" in card
    assert "Changes since `v1.2.2`* (2 commit(s))" in card
    assert "Add login page — dana" in card and "/pull/12|#12>" in card
    assert "⏳ *Feature flags configured*" in card
    blocks = {b.get("block_id"): b for b in bot.card(i)["blocks"]}
    # What the interactions below send is what the card offers:
    assert blocks[item_block_id(i, FEATURE_FLAGS)]["accessory"]["action_id"] == ids.CHECKLIST_TICK
    na = blocks[na_block_id(i, ROLLBACK_PLAN)]
    assert [e["action_id"] for e in na["elements"]] == [ids.CHECKLIST_NOT_APPLICABLE]
    assert "accessory" not in blocks[item_block_id(i, "tests")]  # checked automatically
    manual_items_done(bot, i)
    assert "✅ You approved deployment" in click_reply(bot, i, APPROVER)
    assert decisions(bot, i) == [(APPROVER, True)]
    assert [a for a in audit_actions(bot, i) if a.startswith("checklist.")] == [
        "checklist.ticked", "checklist.ticked", "checklist.not_applicable"]
    assert audit_details(bot, "checklist.not_applicable") == [
        (REQUESTER, {"item": ROLLBACK_PLAN, "reason": "config only"})]


def test_a_red_check_refuses_production_approval(bot: RunningBot,
                                                 history: FakeReview) -> None:
    history.check("v1.2.3", "build", "failure")
    history.status("v1.2.3", "test", "success")
    i = requested(bot)
    assert "❌ *Tests passing* — failed: build" in item_line(bot, i, "tests")
    manual_items_done(bot, i)
    reply = click_reply(bot, i, APPROVER)
    assert "Not approved" in reply and "Tests passing (failed: build)" in reply
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert decisions(bot, i) == []


def test_a_pending_check_turning_green_is_refreshed_when_approve_is_clicked(
        bot: RunningBot, history: FakeReview, fake_github: FakeGitHub) -> None:
    history.check("v1.2.3", "build", "pending")
    history.status("v1.2.3", "test", "pending")
    i = requested(bot)
    assert item_line(bot, i, "tests").startswith("⏳ *Tests passing* — pending: build, test")
    manual_items_done(bot, i)
    reply = click_reply(bot, i, APPROVER)
    assert "Not approved" in reply and "pending: build, test" in reply
    green(history)  # CI finished meanwhile; nobody refreshed the card
    before = len(fake_github.server.log)
    assert "✅ You approved deployment" in click_reply(bot, i, APPROVER)
    # Asked afresh: the checks in one GraphQL query, the compare a conditional GET
    # answered 304 (the versions did not change): at most 3 requests an evaluation.
    asked = [(p, st) for _, p, st in fake_github.answered()[before:]
             if p == "/graphql" or "/compare/" in p]
    assert asked == [("/repos/acme/api/compare/v1.2.2...v1.2.3", 304), ("/graphql", 200)]
    assert decisions(bot, i) == [(APPROVER, True)]
    assert bot.deployment(i).state is not State.AWAITING_APPROVAL


def test_the_background_refresh_turns_a_pending_check_green(
        bot: RunningBot, history: FakeReview) -> None:
    history.check("v1.2.3", "build", "pending")
    history.status("v1.2.3", "test", "success")
    i = requested(bot)
    checklists = bot.container.checklists
    assert checklists is not None
    assert checklists.refresh_due(at=bot.clock.now()) == []  # not due yet
    green(history)
    assert checklists.refresh_due(at=bot.clock.now() + timedelta(minutes=1)) == [i]
    assert item_line(bot, i, "tests").startswith("✅")
    assert checklists.refresh_due(at=bot.clock.now() + timedelta(hours=1)) == []  # settled


def test_an_unreviewed_commit_refuses_approval(bot: RunningBot, history: FakeReview) -> None:
    history.commit("Hotfix straight to main", author="eli")
    history.tag("v1.2.4")
    green(history, "v1.2.4")
    i = request(bot, "production v1.2.4")
    line = wait_for_card(bot, i, "GitHub asked at") and item_line(bot, i, "reviews")
    assert line.startswith("❌ *Code reviewed and approved* — 1 commit(s) without an approved")
    manual_items_done(bot, i)
    reply = click_reply(bot, i, APPROVER)
    assert "Not approved" in reply and "Code reviewed and approved" in reply
    assert decisions(bot, i) == []


def test_changed_migrations_need_a_tick_by_someone_other_than_the_requester(
        bot: RunningBot, history: FakeReview) -> None:
    history.commit("Add orders table", author="dana", pr=14,
                   files=["migrations/0003_orders.py"])
    history.tag("v1.2.4")
    green(history, "v1.2.4")
    i = request(bot, "production v1.2.4")
    wait_for_card(bot, i, "GitHub asked at")
    assert item_line(bot, i, MIGRATIONS).startswith(
        "⏳ *Database migrations reviewed* — `migrations/0003_orders.py` changed")
    manual_items_done(bot, i)
    assert "Database migrations reviewed" in click_reply(bot, i, APPROVER)  # refused
    own = tick(bot, i, MIGRATIONS, REQUESTER)
    assert "cannot review its migrations yourself" in own
    assert item_line(bot, i, MIGRATIONS).startswith("⏳")
    assert "Every required item is green" in tick(bot, i, MIGRATIONS, APPROVER2)
    assert item_line(bot, i, MIGRATIONS).startswith("✅")
    assert audit_details(bot, "checklist.ticked")[-1] == (APPROVER2, {"item": MIGRATIONS})
    assert "✅ You approved deployment" in click_reply(bot, i, APPROVER)
    # The deployment record in the thread tells the same story as the card.
    record = blocks_text(the_record(bot, i))
    assert (f"✅ Database migrations reviewed — `migrations/0003_orders.py` reviewed by "
            f"<@{APPROVER2}>") in record
    assert "⏭️ Rollback plan documented — not applicable: config only" in record
    assert "✅ Tests passing — build, test" in record


def test_github_unreachable_is_never_approved_without_its_checks(
        bot: RunningBot, history: FakeReview, fake_github: FakeGitHub) -> None:
    green(history)
    i = requested(bot)
    manual_items_done(bot, i)
    fake_github.status = 502  # GitHub goes down after the card was posted, all green
    reply = click_reply(bot, i, APPROVER)
    assert "Not approved" in reply and "could not be checked" in reply and "502" in reply
    assert decisions(bot, i) == []
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert "⏳ *Tests passing* — could not be checked: GitHub" in item_line(bot, i, "tests")
    # The background refresh backs off while GitHub stays down: 1m, then 2m, 4m, … (≤ 10m).
    checklists = bot.container.checklists
    assert checklists is not None
    now = bot.clock.now()
    for wait in (1, 2, 4, 8, 10, 10):
        with bot.container.database.transaction() as r:
            assert list(r.checklists.due(now + timedelta(minutes=wait, seconds=-1), 9)) == []
            assert list(r.checklists.due(now + timedelta(minutes=wait), 9)) == [i]
        assert checklists.refresh_due(at=now + timedelta(minutes=wait)) == [i]
    fake_github.status = None  # back: the next refresh settles it
    assert checklists.refresh_due(at=now + timedelta(minutes=10)) == [i]
    assert item_line(bot, i, "tests").startswith("✅")
    with bot.container.database.transaction() as r:
        assert list(r.checklists.due(now + timedelta(days=1), 9)) == []


def test_rate_limited_names_the_reset_time_and_the_refresh_backs_off(
        bot: RunningBot, history: FakeReview, fake_github: FakeGitHub) -> None:
    green(history)
    i = requested(bot)
    manual_items_done(bot, i)
    reset = WEDNESDAY + timedelta(minutes=47)
    fake_github.status = 403
    fake_github.headers = {"X-RateLimit-Remaining": "0",
                           "X-RateLimit-Reset": str(int(reset.timestamp()))}
    reply = click_reply(bot, i, APPROVER)
    assert "Not approved" in reply and "rate limit exceeded (it resets at 15:47 UTC)" in reply
    assert decisions(bot, i) == []
    with bot.container.database.transaction() as r:  # not asked again before the reset
        assert list(r.checklists.due(reset - timedelta(seconds=1), 10)) == []
        assert list(r.checklists.due(reset, 10)) == [i]


def test_an_emergency_deploy_may_skip_red_items_on_the_record(
        bot: RunningBot, history: FakeReview) -> None:
    history.check("v1.2.3", "build", "failure")
    i = request(bot, 'production v1.2.3 --emergency "checkout down"')
    wait_for_card(bot, i, "GitHub asked at")
    assert "*skipped* (emergency: checkout down)" in item_line(bot, i, "tests")
    assert "✅ You approved deployment" in click_reply(bot, i, ONCALL)
    ((actor, details),) = audit_details(bot, "checklist.skipped")
    assert actor == ONCALL and details["emergency_reason"] == "checkout down"
    assert {"tests", FEATURE_FLAGS, MONITORING, ROLLBACK_PLAN} <= set(details["items"])


def test_staging_does_not_require_the_items(bot: RunningBot, history: FakeReview,
                                            fake_github: FakeGitHub) -> None:
    i = request(bot, "staging v1.2.3")  # no approval in staging: nothing waits on it
    assert bot.deployment(i).state is not State.AWAITING_APPROVAL
    assert not any("check-runs" in p for p in fake_github.reads())


def test_ticks_are_refused_once_the_deploy_is_decided(bot: RunningBot,
                                                      history: FakeReview) -> None:
    green(history)
    i = requested(bot)
    assert "rejected" in click_reply(bot, i, APPROVER, approve=False)
    assert "no longer awaiting approval" in tick(bot, i, FEATURE_FLAGS, APPROVER2)
    assert audit_details(bot, "checklist.ticked") == []



def test_an_untick_is_audited_and_the_item_is_pending_again(bot: RunningBot,
                                                            history: FakeReview) -> None:
    green(history)
    i = requested(bot)
    tick(bot, i, MONITORING, APPROVER2)
    assert item_line(bot, i, MONITORING).startswith("✅")
    assert "Unticked" in tick(bot, i, MONITORING, APPROVER2, checked=False)
    assert item_line(bot, i, MONITORING).startswith("⏳")
    assert [a for a in audit_actions(bot, i) if a.startswith("checklist.")] == [
        "checklist.ticked", "checklist.unticked"]
    assert "checked automatically" in tick(bot, i, "tests", APPROVER2)
    assert "why" in not_applicable(bot, i, FEATURE_FLAGS, APPROVER2, "   ")


@pytest.mark.nothing_running
def test_a_first_deploy_is_reviewed_by_hand_and_ticked_by_someone_else(
        bot: RunningBot, history: FakeReview) -> None:
    # Nothing runs in production yet: GitHub has nothing to compare with, so the review is
    # done by hand and ticked by someone other than the requester (not marked N/A).
    green(history)
    i = requested(bot)
    line = item_line(bot, i, REVIEWS)
    assert line.startswith("⏳ *Code reviewed and approved* — no running version to compare "
                           "with: review by hand and tick (not by the requester)")
    manual_items_done(bot, i)
    assert "Code reviewed and approved" in click_reply(bot, i, APPROVER)  # refused
    assert "cannot review its changes yourself" in tick(bot, i, REVIEWS, REQUESTER)
    assert "cannot be marked not applicable" in not_applicable(bot, i, REVIEWS, APPROVER2,
                                                               "trust me")
    assert item_line(bot, i, REVIEWS).startswith("⏳")
    tick(bot, i, REVIEWS, APPROVER2)
    assert item_line(bot, i, REVIEWS).startswith(
        f"✅ *Code reviewed and approved* — reviewed by hand by <@{APPROVER2}>")
    # The migrations, likewise unknown, need their own tick.
    assert "Database migrations reviewed" in click_reply(bot, i, APPROVER)
    assert "Every required item is green" in tick(bot, i, MIGRATIONS, APPROVER2)
    assert "✅ You approved deployment" in click_reply(bot, i, APPROVER)
