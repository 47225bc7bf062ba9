"""The fake Slack's modals (devtools/fake_slack_views.py), through slack_sdk's WebClient:
views.open exchanges a trigger the fake issued, once, within its lifetime (Slack's
invalid_trigger_id / exchanged_trigger_id / expired_trigger_id otherwise); views.update
changes an open view by id (hash_conflict, not_found); and the view_submission a
SlackRequester sends has Slack's payload shape, signed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from devtools.fake_slack import FakeSlack, view_problems
from devtools.fake_slack_views import FakeViews
from devtools.slack_requests import (
    boxes_value,
    option_value,
    signed_headers,
    text_value,
    view_submission_body,
)

MODAL: dict[str, Any] = {
    "type": "modal", "callback_id": "form", "private_metadata": "C1",
    "title": {"type": "plain_text", "text": "Deploy"},
    "submit": {"type": "plain_text", "text": "Go"},
    "blocks": [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "V"},
                "element": {"type": "plain_text_input", "action_id": "b"}}],
}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as e:
        call()
    return str(e.value.response["error"])


def test_an_issued_trigger_opens_one_view_with_an_id(fake: FakeSlack, client: WebClient) -> None:
    fake.issue_trigger("1.2.abc", "U1")
    res = client.views_open(trigger_id="1.2.abc", view=MODAL)
    view = res["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert (view["callback_id"], view["private_metadata"]) == ("form", "C1")
    assert view["state"] == {"values": {}}
    (opened,) = fake.open_views()
    assert opened.user_id == "U1" and opened.view["id"] == view["id"]
    # a trigger opens one view
    assert error_of(lambda: client.views_open(trigger_id="1.2.abc", view=MODAL)) == \
        "exchanged_trigger_id"


def test_a_trigger_never_issued_is_invalid_and_an_old_one_expired(
        fake: FakeSlack, client: WebClient) -> None:
    assert error_of(lambda: client.views_open(trigger_id="9.9.zzz", view=MODAL)) == \
        "invalid_trigger_id"
    fake.issue_trigger("1.2.old", "U1")
    fake.expire_triggers()
    assert error_of(lambda: client.views_open(trigger_id="1.2.old", view=MODAL)) == \
        "expired_trigger_id"
    fake.issue_trigger("1.2.new", "U1")  # issued after: fresh
    assert client.views_open(trigger_id="1.2.new", view=MODAL)["ok"]
    assert len(fake.open_views()) == 1


def test_a_trigger_lasts_three_seconds() -> None:
    now = [100.0]
    views = FakeViews(team_id="T", bot_id="B", app_id="A", check=view_problems,
                      clock=lambda: now[0])
    views.issue("t1")
    views.issue("t2")
    now[0] += 3.0
    assert views.open({"trigger_id": "t1", "view": MODAL})["ok"]
    now[0] += 0.5
    assert views.open({"trigger_id": "t2", "view": MODAL})["error"] == "expired_trigger_id"


def test_a_view_slack_would_refuse_is_invalid_arguments(
        fake: FakeSlack, client: WebClient) -> None:
    fake.issue_trigger("1.2.x")
    bad = {**MODAL, "blocks": [{"type": "header", "text": {"type": "plain_text",
                                                          "text": "x" * 151}}]}
    assert error_of(lambda: client.views_open(trigger_id="1.2.x", view=bad)) == \
        "invalid_arguments"


def test_views_update_replaces_an_open_view(fake: FakeSlack, client: WebClient) -> None:
    fake.issue_trigger("1.2.u", "U1")
    opened = client.views_open(trigger_id="1.2.u", view=MODAL)["view"]
    assert error_of(lambda: client.views_update(view_id=opened["id"], hash="stale",
                                                view=MODAL)) == "hash_conflict"
    assert error_of(lambda: client.views_update(view_id="VNOPE", view=MODAL)) == "not_found"
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Done"}}
    res = client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    assert res["view"]["id"] == opened["id"] and res["view"]["hash"] != opened["hash"]
    (kept,) = fake.open_views()
    assert kept.view["title"]["text"] == "Done" and len(kept.updates) == 1


def test_a_view_submission_has_slacks_shape_and_verifies() -> None:
    values = {"s": {"s": option_value("api")}, "v": {"v": text_value(None)},
              "e": {"e": boxes_value("emergency")}}
    view = {**MODAL, "id": "VM1", "hash": "h1"}
    body = view_submission_body(view, values, user_id="U1", trigger_id="1.2.t")
    headers = signed_headers("secret", body)
    assert SignatureVerifier("secret").is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    payload = json.loads(parse_qs(body)["payload"][0])
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == "U1" and payload["team"]["id"]
    assert payload["trigger_id"] == "1.2.t" and payload["api_app_id"]
    assert payload["response_urls"] == []
    v = payload["view"]
    assert (v["id"], v["callback_id"], v["private_metadata"], v["hash"]) == (
        "VM1", "form", "C1", "h1")
    assert v["state"]["values"]["s"]["s"]["selected_option"]["value"] == "api"
    assert v["state"]["values"]["v"]["v"] == {"type": "plain_text_input", "value": None}
    assert [o["value"] for o in v["state"]["values"]["e"]["e"]["selected_options"]] == [
        "emergency"]


@pytest.mark.parametrize(("change", "says"), [
    ({"title": {"type": "plain_text", "text": "A title far longer than Slack allows"}},
     "/view/title/text"),
    ({"submit": None}, "submit is required"),
    ({"private_metadata": "x" * 3001}, "/view/private_metadata"),
])
def test_a_modal_slack_would_refuse_is_invalid_arguments(
        fake: FakeSlack, client: WebClient, change: dict[str, Any], says: str) -> None:
    fake.issue_trigger("1.2.m")
    view = {k: v for k, v in {**MODAL, **change}.items() if v is not None}
    with pytest.raises(SlackApiError) as e:
        client.views_open(trigger_id="1.2.m", view=view)
    assert e.value.response["error"] == "invalid_arguments"
    assert any(says in m for m in e.value.response["response_metadata"]["messages"])
    assert fake.open_views() == []
