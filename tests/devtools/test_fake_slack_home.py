"""The App Home parts of the Slack fakes: views.publish checks a view as Slack does and keeps
each user's tab; SlackRequester sends signed Events API callbacks (`app_home_opened`) and
clicks on a button in a view (no response_url), as Bolt receives them from Slack."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from devtools.fake_slack import FakeSlack, view_problems
from devtools.slack_requests import (
    SlackRequester,
    app_home_opened_event,
    event_callback_body,
    signed_headers,
)
from tests.devtools.test_fake_slack import SECRET, _BoltHandler


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def test_views_publish_keeps_each_users_home_view(fake: FakeSlack, client: WebClient) -> None:
    first = client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("a")]})
    client.views_publish(user_id="U2", view={"type": "home", "blocks": []})
    again = client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("b")]})

    assert first["view"]["id"] == again["view"]["id"] == "V1"
    view = fake.home_view("U1")
    assert view is not None
    assert view["blocks"] == [section("b")]
    assert view["id"] == "V1"
    assert fake.home_view("U2") is not None
    assert fake.home_view("U3") is None
    fake.reset()
    assert fake.home_view("U1") is None


@pytest.mark.parametrize(("view", "problem"), [
    ({"type": "home", "blocks": [section("x")] * 101}, "no more than 100 items allowed"),
    ({"type": "home", "blocks": [section("x" * 3001)]}, "must be less than 3001 characters"),
    ({"type": "home", "blocks": [{"type": "header",
                                  "text": {"type": "plain_text", "text": "h" * 151}}]},
     "must be less than 151 characters"),
    ({"type": "home", "blocks": [section("a", "same"), section("b", "same")]},
     "duplicate block_id 'same'"),
    ({"type": "home", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}}
    ]}]}, "must be less than 76 characters"),
    ({"type": "message", "blocks": []}, "type of home or modal"),
])
def test_views_publish_refuses_what_slack_refuses(fake: FakeSlack, client: WebClient,
                                                  view: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in view_problems(view))
    with pytest.raises(SlackApiError) as err:
        client.views_publish(user_id="U1", view=view)
    assert err.value.response["error"] == "invalid_arguments"
    assert any(problem in m for m in err.value.response["response_metadata"]["messages"])
    assert fake.home_view("U1") is None


def test_views_publish_needs_a_user(client: WebClient) -> None:
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="", view={"type": "home", "blocks": []})


@pytest.fixture
def home_app(fake: FakeSlack) -> Iterator[tuple[str, list[Any]]]:
    seen: list[Any] = []
    app = App(signing_secret=SECRET, client=WebClient(token="xoxb-bolt", base_url=fake.base_url))

    @app.event("app_home_opened")
    def opened(ack: Any, event: dict[str, Any], client: WebClient) -> None:
        ack()
        seen.append(event)
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [
            {"type": "actions", "block_id": "b1", "elements": [
                {"type": "button", "action_id": "go", "value": "42",
                 "text": {"type": "plain_text", "text": "Go"}}]}]})

    @app.action("go")
    def go(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        seen.append((body, respond.response_url))

    handler = type("Handler", (_BoltHandler,), {"app": app})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", seen
    finally:
        server.shutdown()
        server.server_close()


def test_requester_sends_app_home_opened_and_view_clicks_as_slack_does(
        fake: FakeSlack, home_app: tuple[str, list[Any]]) -> None:
    url, seen = home_app
    with SlackRequester(url, SECRET, fake) as requester:
        reply = requester.event(app_home_opened_event("U5"))
        assert reply.status == 200
        fake.wait_for("views.publish")  # Bolt runs the listener after its ack
        assert seen[0]["type"] == "app_home_opened"
        assert seen[0]["tab"] == "home"
        assert seen[0]["user"] == "U5"
        view = fake.home_view("U5")
        assert view is not None

        click = requester.view_click(user_id="U5", action_id="go", value="42", view=view)
        assert click.status == 200
        assert click.response_key is None
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        body, response_url = seen[1]
        assert response_url is None  # a click in a view comes without one
        assert body["container"] == {"type": "view", "view_id": view["id"]}
        assert body["view"]["type"] == "home"
        assert body["actions"][0]["block_id"] == "b1"
        assert body["actions"][0]["value"] == "42"
        assert "channel" not in body and "message" not in body

        forged = event_callback_body(app_home_opened_event("U6"))
        assert requester.raw(forged, signed_headers("wrong", forged,
                                                    content_type="application/json")
                             ).status == 401
        time.sleep(0.1)
        assert len(seen) == 2
