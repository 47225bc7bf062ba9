"""Tests for the Slack fakes in devtools (FakeSlack and the Slack request builders)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from devtools.fake_slack import Call, FakeSlack
from devtools.slack_requests import (
    SlackRequester,
    block_actions_body,
    sign,
    signed_headers,
    slash_command_body,
)

SECRET = "test-signing-secret"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "*Deploy*"}},
    {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "dep-1",
            }
        ],
    },
]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(usergroups={"S0SRE": ["U1", "U2"]}) as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def test_base_and_response_urls(fake: FakeSlack) -> None:
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/api/"
    assert fake.response_url("abc") == f"http://127.0.0.1:{fake.port}/response/abc"
    assert fake.port > 0


def test_auth_test(fake: FakeSlack, client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["ok"] is True
    assert resp["user_id"] == "UBOT"
    assert resp["bot_id"] == "B0001"
    assert resp["team_id"] == "T0001"
    assert resp["user"] == "deploybot"
    [call] = fake.calls("auth.test")
    assert call.token == "xoxb-test"
    assert call.key is None


def test_post_message_records_json_call(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postMessage(channel="C0DEPLOYS", text="Deploying", blocks=BLOCKS)
    assert resp["ok"] is True
    assert resp["channel"] == "C0DEPLOYS"
    assert resp["message"]["blocks"] == BLOCKS
    assert resp["message"]["text"] == "Deploying"
    assert resp["message"]["ts"] == resp["ts"]

    [call] = fake.calls("chat.postMessage")
    assert call.method == "chat.postMessage"
    assert call.token == "xoxb-test"
    assert call.args["channel"] == "C0DEPLOYS"
    assert call.args["text"] == "Deploying"
    assert call.args["blocks"] == BLOCKS


def test_ts_values_are_unique_and_increasing(fake: FakeSlack, client: WebClient) -> None:
    ts = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)]
    assert len(set(ts)) == 5
    assert ts == sorted(ts, key=float)
    assert ts[0] == "1700000000.000100"


def test_thread_reply_keeps_thread_ts(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    reply = client.chat_postMessage(channel="C1", text="child", thread_ts=parent)
    assert reply["message"]["thread_ts"] == parent
    assert [m["thread_ts"] for m in fake.messages("C1")] == [None, parent]


def test_form_body_blocks_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    # Without json=, slack_sdk sends a form body; blocks arrive as a JSON string.
    client.api_call(
        "chat.postMessage",
        params={"channel": "C2", "text": "hi", "blocks": json.dumps(BLOCKS)},
    )
    [call] = fake.calls("chat.postMessage")
    assert call.args["blocks"] == BLOCKS
    assert call.token == "xoxb-test"
    assert fake.messages("C2")[0]["blocks"] == BLOCKS


def test_update_is_reflected_in_messages(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0DEPLOYS", text="pending", blocks=BLOCKS)
    client.chat_postMessage(channel="C0OTHER", text="elsewhere")
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}]
    upd = client.chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="done", blocks=new_blocks)
    assert upd["ok"] is True
    assert upd["ts"] == posted["ts"]
    assert upd["channel"] == "C0DEPLOYS"
    assert upd["text"] == "done"

    [call] = fake.calls("chat.update")
    assert call.args["ts"] == posted["ts"]
    assert call.args["blocks"] == new_blocks

    assert fake.messages("C0DEPLOYS") == [
        {
            "channel": "C0DEPLOYS",
            "ts": posted["ts"],
            "thread_ts": None,
            "text": "done",
            "blocks": new_blocks,
        }
    ]
    assert len(fake.messages()) == 2


def test_get_permalink(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_getPermalink(channel="C0DEPLOYS", message_ts="1700000000.000123")
    assert resp["permalink"] == "https://example.slack.com/archives/C0DEPLOYS/p1700000000000123"
    [call] = fake.calls("chat.getPermalink")
    assert call.args == {"channel": "C0DEPLOYS", "message_ts": "1700000000.000123"}


def test_usergroups_users_list(fake: FakeSlack, client: WebClient) -> None:
    assert client.usergroups_users_list(usergroup="S0SRE")["users"] == ["U1", "U2"]
    fake.set_usergroup("S0NEW", ["U9"])
    assert client.usergroups_users_list(usergroup="S0NEW")["users"] == ["U9"]
    with pytest.raises(SlackApiError) as exc:
        client.usergroups_users_list(usergroup="S0MISSING")
    assert exc.value.response["error"] == "no_such_subteam"
    assert [c.args["usergroup"] for c in fake.calls("usergroups.users.list")] == [
        "S0SRE",
        "S0NEW",
        "S0MISSING",
    ]


def test_other_methods(fake: FakeSlack, client: WebClient) -> None:
    assert client.conversations_open(users=["U7", "U8"])["channel"]["id"] == "DU7"
    assert client.users_info(user="U7")["user"]["tz"] == "America/New_York"
    assert (
        client.views_publish(user_id="U7", view={"type": "home", "blocks": []})["view"]["id"]
        == "V1"
    )
    eph = client.chat_postEphemeral(channel="C1", user="U7", text="only you")
    assert eph["message_ts"]
    assert client.api_call("reactions.add", json={"name": "ok"})["ok"] is True
    assert [c.method for c in fake.calls()] == [
        "conversations.open",
        "users.info",
        "views.publish",
        "chat.postEphemeral",
        "reactions.add",
    ]
    assert fake.calls("views.publish")[0].args["view"] == {"type": "home", "blocks": []}


def test_dm_post_returns_d_channel(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postMessage(channel="U123", text="psst")
    assert resp["channel"] == "DU123"
    assert fake.messages("DU123")[0]["text"] == "psst"
    assert fake.messages("U123") == []


def test_fail_next_raises_slack_api_error(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C1", text="x")
        assert exc.value.response["error"] == "channel_not_found"
        assert exc.value.response.status_code == 200
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert len(fake.calls("chat.postMessage")) == 3
    assert len(fake.messages("C1")) == 1  # failed posts do not create messages


def test_fail_next_rate_limited(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.update", error="ratelimited", status=429)
    with pytest.raises(SlackApiError) as exc:
        client.chat_update(channel="C1", ts="1.2", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response["error"] == "ratelimited"
    retry_after = {k.lower(): v for k, v in exc.value.response.headers.items()}["retry-after"]
    assert retry_after in ("1", ["1"])


def test_wait_for_times_out_with_listing(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="hello")
    with pytest.raises(AssertionError) as exc:  # raised only once the wait timed out
        fake.wait_for("chat.update", timeout=0.2)
    assert "timed out after 0.20s waiting for 1 'chat.update' call(s)" in str(exc.value)
    assert "chat.postMessage" in str(exc.value)  # the listing of recorded calls


def test_wait_for_wakes_on_arrival(fake: FakeSlack, client: WebClient) -> None:
    def post_later() -> None:
        time.sleep(0.05)
        for i in range(3):
            client.chat_postMessage(channel="C1", text=f"m{i}")

    thread = threading.Thread(target=post_later)
    thread.start()
    calls = fake.wait_for(
        "chat.postMessage", count=2, timeout=5, predicate=lambda c: c.args["text"] != "m0"
    )
    thread.join()
    assert [c.args["text"] for c in calls][:2] == ["m1", "m2"]
    assert all(c.method == "chat.postMessage" for c in calls)


def test_on_call_and_clear() -> None:
    seen: list[Call] = []
    with FakeSlack(on_call=seen.append) as fake:
        client = WebClient(token="xoxb-x", base_url=fake.base_url)
        client.chat_postMessage(channel="C1", text="a")
        assert [c.method for c in seen] == ["chat.postMessage"]
        assert seen[0].args["text"] == "a"
        fake.clear()
        assert fake.calls() == []
        assert len(fake.messages()) == 1  # message state survives clear()
        fake.reset()
        assert fake.messages() == []


def test_response_url_post_is_recorded_with_key(fake: FakeSlack) -> None:
    webhook = WebhookClient(fake.response_url("cmd-42"))
    resp = webhook.send(text="Deploy queued", response_type="ephemeral")
    assert resp.status_code == 200
    assert resp.body == "ok"
    [call] = fake.wait_for("response_url")
    assert call.key == "cmd-42"
    assert call.args["text"] == "Deploy queued"
    assert call.args["response_type"] == "ephemeral"
    assert fake.response_posts("cmd-42") == [call]
    assert fake.response_posts("other") == []


def test_keep_alive_connection_reused(fake: FakeSlack) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        for i in range(3):
            conn.request(
                "POST",
                "/api/chat.postMessage",
                body=json.dumps({"channel": "C1", "text": str(i)}),
                headers={"Content-Type": "application/json", "Authorization": "Bearer t"},
            )
            resp = conn.getresponse()
            assert resp.status == 200
            assert json.loads(resp.read())["ok"] is True
            assert not resp.will_close
    finally:
        conn.close()
    assert [c.args["text"] for c in fake.calls("chat.postMessage")] == ["0", "1", "2"]


# --------------------------------------------------------------------------- slack_requests


def test_sign_verifies_with_slack_sdk() -> None:
    body = slash_command_body(
        "/deploy", "api v1.2.3", user_id="U1", response_url="https://example.invalid/r"
    )
    now = int(time.time())
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body=body, timestamp=str(now), signature=sign(SECRET, body, now))
    assert not verifier.is_valid(
        body=body, timestamp=str(now), signature=sign("wrong-secret", body, now)
    )
    headers = signed_headers(SECRET, body)
    assert verifier.is_valid_request(body, headers)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_sign_known_vector() -> None:
    # Example from Slack's "Verifying requests from Slack" documentation.
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert (
        sign(secret, body, 1531420618)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_slash_command_body_fields() -> None:
    body = slash_command_body(
        "/deploy", "api v1 --force", user_id="U1", user_name="alice", response_url="http://r/1"
    )
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    assert set(fields) == {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert fields["command"] == "/deploy"
    assert fields["text"] == "api v1 --force"
    assert fields["user_name"] == "alice"
    assert fields["channel_id"] == "C0DEPLOYS"
    assert fields["team_id"] == "T0001"
    assert fields["response_url"] == "http://r/1"


def test_block_actions_body_uses_message() -> None:
    message = {"channel": "C9", "ts": "1700000000.000200", "text": "t", "blocks": BLOCKS}
    body = block_actions_body(
        user_id="U2", action_id="approve", value="dep-1", message=message, response_url="http://r"
    )
    payload = json.loads(parse_qs(body)["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U2"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000200",
        "channel_id": "C9",
        "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == "C9"
    assert payload["message"]["ts"] == "1700000000.000200"
    assert payload["message"]["blocks"] == BLOCKS
    assert "channel" not in payload["message"]
    [action] = payload["actions"]
    assert action["action_id"] == "approve"
    assert action["block_id"] == "approval"  # found in the message's blocks
    assert action["text"] == {"type": "plain_text", "text": "Approve", "emoji": True}
    assert action["value"] == "dep-1"
    assert action["type"] == "button"
    assert payload["response_url"] == "http://r"


class _BoltHandler(BaseHTTPRequestHandler):
    """Minimal stdlib adapter feeding requests into a Bolt App (mirrors a real deployment)."""

    protocol_version = "HTTP/1.1"
    app: App

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        headers: dict[str, str | Sequence[str]] = {k.lower(): v for k, v in self.headers.items()}
        resp = self.app.dispatch(BoltRequest(body=body, headers=headers))
        data = resp.body.encode()
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def bolt_url(fake: FakeSlack) -> Iterator[str]:
    app = App(
        signing_secret=SECRET,
        client=WebClient(token="xoxb-bolt", base_url=fake.base_url),
    )

    @app.command("/deploy")
    def deploy(ack: Any, respond: Any, command: dict[str, Any], client: WebClient) -> None:
        ack(text=f"queued {command['text']}", response_type="ephemeral")
        respond(f"deploying {command['text']} for <@{command['user_id']}>")
        client.chat_postMessage(channel=command["channel_id"], text="approve?", blocks=BLOCKS)

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_update(
            channel=body["container"]["channel_id"],
            ts=body["container"]["message_ts"],
            text=f"approved {body['actions'][0]['value']} by {body['user']['id']}",
            blocks=[],
        )

    handler = type("Handler", (_BoltHandler,), {"app": app})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        server.shutdown()
        server.server_close()


def test_requester_end_to_end_with_bolt(fake: FakeSlack, bolt_url: str) -> None:
    with SlackRequester(bolt_url, SECRET, fake) as requester:
        reply = requester.command("/deploy", "api v1.2", user_id="U5")
        assert reply.status == 200
        assert reply.json == {"text": "queued api v1.2", "response_type": "ephemeral"}
        # The requester measures the round trip (benchmarks/ack_budget.py reports it); what
        # it measured is not judged here (no wall-clock assertions in tests).
        assert isinstance(reply.elapsed, float)
        assert reply.response_key is not None

        [posted] = requester.response_posts(reply)
        assert posted.key == reply.response_key
        assert posted.args["text"] == "deploying api v1.2 for <@U5>"

        fake.wait_for("chat.postMessage")
        [message] = fake.messages("C0DEPLOYS")
        assert message["blocks"] == BLOCKS

        click = requester.click(user_id="U6", action_id="approve", value="dep-1", message=message)
        assert click.status == 200
        assert click.response_key not in (None, reply.response_key)
        [update] = fake.wait_for("chat.update")
        assert update.token == "xoxb-bolt"
        assert fake.messages("C0DEPLOYS")[0]["text"] == "approved dep-1 by U6"


def test_requester_forged_and_stale_signatures_rejected(fake: FakeSlack, bolt_url: str) -> None:
    requester = SlackRequester(bolt_url, SECRET)
    body = slash_command_body("/deploy", "x", user_id="U1", response_url=fake.response_url("k"))
    forged = requester.raw(body, signed_headers("not-the-secret", body))
    assert forged.status == 401
    assert forged.response_key is None
    stale = requester.command("/deploy", "x", user_id="U1", timestamp=int(time.time()) - 3600)
    assert stale.status == 401
    ok = requester.raw(body, signed_headers(SECRET, body))
    assert ok.status == 200
    assert ok.response_key is None
    [posted] = fake.wait_for("response_url")
    assert posted.key == "k"  # only the genuinely signed request reached the listener
    requester.close()
