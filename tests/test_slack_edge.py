"""bot.slack_edge on its own: Slack's signature scheme on raw bytes, and the body shapes
slack-bolt's conversion can read (genuine Slack requests pass; the HTTP cases are in
tests/test_web_edge.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from bot.slack_edge import MAX_AGE, Malformed, bolt_request, is_ssl_check, signature_problem
from devtools.slack_requests import (
    app_home_opened_event,
    block_actions_body,
    event_callback_body,
    slash_command_body,
)

SECRET = "s3cret"
NOW = 1_800_000_000
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}


def sign(body: bytes, ts: str, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body,
                            hashlib.sha256).hexdigest()


def test_a_signed_request_passes_at_the_edges_of_the_window() -> None:
    body = b"token=x&text=hello"
    for ts in (NOW - MAX_AGE, NOW, NOW + MAX_AGE):
        assert signature_problem(SECRET, body, str(ts), sign(body, str(ts)), now=NOW) is None


@pytest.mark.parametrize(("ts", "signature", "problem"), [
    (None, "v0=00", "no signature headers"),
    (str(NOW), None, "no signature headers"),
    ("", "v0=00", "no signature headers"),
    ("12a", "v0=00", "the timestamp is not a number"),
    ("1" * 13, "v0=00", "the timestamp is not a number"),
    (str(NOW - MAX_AGE - 1), "sign", "the timestamp is more than five minutes from now"),
    (str(NOW + MAX_AGE + 1), "sign", "the timestamp is more than five minutes from now"),
    (str(NOW), "v0=" + "0" * 64, "bad signature"),
    (str(NOW), "v0=é", "bad signature"),
])
def test_why_a_request_is_not_signed(ts: str | None, signature: str | None,
                                     problem: str) -> None:
    body = b"token=x"
    if signature == "sign":
        assert ts is not None
        signature = sign(body, ts)
    assert signature_problem(SECRET, body, ts, signature, now=NOW) == problem


def test_no_secret_refuses_everything() -> None:
    body = b"token=x"
    assert signature_problem("", body, str(NOW), sign(body, str(NOW), ""), now=NOW) == (
        "no signing secret is configured")


def test_ssl_check_is_recognised_on_the_bytes() -> None:
    assert is_ssl_check(b"ssl_check=1&token=x")
    assert is_ssl_check(b"token=x&ssl_check=1")
    assert not is_ssl_check(b"ssl_check=0&token=x")
    assert not is_ssl_check(b"text=ssl_check%3D1")


@pytest.mark.parametrize(("body", "headers"), [
    (slash_command_body("/deploy", "staging v1.2.3", user_id="U1",
                        response_url="https://hooks.slack.com/x"), FORM),
    (block_actions_body(user_id="U1", action_id="deploy.approve", value="1",
                        response_url="https://hooks.slack.com/x"), FORM),
    (event_callback_body(app_home_opened_event("U1")), JSON),
    (json.dumps({"type": "url_verification", "challenge": "c", "token": "t"}), JSON),
    ("", FORM),
])
def test_genuine_slack_bodies_become_bolt_requests(body: str, headers: dict[str, str]) -> None:
    req = bolt_request(body.encode(), headers, {})
    assert req.raw_body == body


@pytest.mark.parametrize(("body", "headers", "why"), [
    (b"\xff", FORM, "the body is not UTF-8"),
    (b"{", FORM, "the body (or its payload) is not JSON"),
    (urlencode({"payload": "[]"}).encode(), FORM,
     "the body (or its payload) is not a JSON object but an array"),
    (b"null", JSON, "the body (or its payload) is not a JSON object but null"),
    (json.dumps({"enterprise": 5}).encode(), JSON, "`enterprise` is a number"),
    (json.dumps({"user": {"id": True}}).encode(), JSON, "`user.id` is a boolean"),
    (json.dumps({"event": {"channel": []}}).encode(), JSON, "`event.channel` is an array"),
    (json.dumps({"authorizations": [{"team": 1}]}).encode(), JSON,
     "`authorizations[0].team` is a number"),
    (json.dumps({"authorizations": {"0": {}}}).encode(), JSON,
     "`authorizations` is not a list of objects"),
])
def test_what_bolt_could_not_read_is_malformed_with_the_reason(
        body: bytes, headers: dict[str, str], why: str) -> None:
    with pytest.raises(Malformed) as e:
        bolt_request(body, headers, {})
    assert str(e.value) == why


def test_objects_nested_near_the_recursion_limit_are_read_or_malformed_never_a_crash() -> None:
    # Deep enough for json to parse it, then for the checks or Bolt's conversion (both
    # recurse into `event`) to run out of stack: whichever happens, no RecursionError.
    outcomes = set()
    for depth in range(800, 1000, 4):
        body = b'{"event": ' * depth + b"{}" + b"}" * depth
        try:
            bolt_request(body, JSON, {})
            outcomes.add("read")
        except Malformed as e:
            outcomes.add(str(e))
    assert outcomes <= {"read", "the body (or its payload) is not JSON",
                        "the body nests objects too deep"}
    assert "read" in outcomes and len(outcomes) > 1
