"""The Slack HTTP edge: a request is verified on its raw bytes before anything parses it.

Slack signs every request it sends (https://api.slack.com/authentication/verifying-requests-
from-slack): `X-Slack-Signature: v0=<hex HMAC-SHA256 keyed with the signing secret of
"v0:" + X-Slack-Request-Timestamp + ":" + the raw body>`, the timestamp being Unix seconds.
`signature_problem` checks exactly that, on the bytes as they arrived, and refuses a
timestamp that is not a plain number or is more than five minutes from now (a replay).
Nothing of the body is decoded before it passes.

slack-bolt's request conversion (`BoltRequest`) decodes the body, parses it (JSON, or a form
whose `payload` is JSON) and indexes well-known fields assuming Slack's shapes; given
anything else it raises. `bolt_request` lets that conversion parse the body (once: only a body
it cannot read is parsed again, by the same parser, to say why) and checks the shapes Bolt's
middleware reads, so a signed but malformed body is refused with the reason (`Malformed`),
never a traceback. This check is the app's only one when it is served by
bot.web (which takes Bolt's own verification, the same HMAC again, out of the app).

Slack's SSL certificate check (`ssl_check=1`, a form POST without signature headers) is
answered here and goes no further: nothing that rides along with it is read.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt import BoltRequest
from slack_bolt.request.internals import (
    build_normalized_headers,
    extract_content_type,
    parse_body,
)

#: How far (seconds) a request's timestamp may be from now: Slack's recommendation.
MAX_AGE = 5 * 60
#: Digits a Unix timestamp in seconds may have (int() of more would be the attacker's cost).
MAX_TIMESTAMP_DIGITS = 12
#: Top-level and nested fields Bolt's conversion reads as "a string, or an object with an
#: `id`" (bolt's request/internals.py).
_ID_FIELDS = ("enterprise", "team", "user", "channel")
#: Objects Bolt's conversion descends into (looking for the fields above), when objects.
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")


class Malformed(ValueError):
    """A signed request whose body is not what Slack sends; the message says why."""


def is_ssl_check(body: bytes) -> bool:
    """Slack's SSL certificate check: a form with `ssl_check=1` (its bytes, undecoded)."""
    return b"ssl_check=1" in body.split(b"&")


def signature_problem(secret: str, body: bytes, timestamp: str | None,
                      signature: str | None, *, now: float) -> str | None:
    """None when `body` is signed with `secret` at a timestamp within `MAX_AGE` of `now`
    (Unix seconds); otherwise why not, for the log line."""
    if not secret:
        return "no signing secret is configured"
    if not timestamp or not signature:
        return "no signature headers"
    if not (timestamp.isascii() and timestamp.isdigit()
            and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        return "the timestamp is not a number"
    if abs(now - int(timestamp)) > MAX_AGE:
        return "the timestamp is more than five minutes from now"
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "bad signature"
    return None


def bolt_request(body: bytes, headers: Mapping[str, str],
                 query: Mapping[str, str]) -> BoltRequest:
    """The BoltRequest for a verified request; `Malformed` when Bolt could not read it.

    The body is parsed once, by Bolt's conversion; only when that fails is it parsed again
    (`_malformed`) to say why."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    normalized = build_normalized_headers({k: v for k, v in headers.items()})
    try:
        request = BoltRequest(body=text, query=dict(query), headers=normalized)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as e:
        # RecursionError: JSON nested too deep, or `event` in `event` in … (Bolt's
        # conversion recurses)
        raise _malformed(text, normalized, e) from None
    if not isinstance(request.body, dict):
        raise _malformed(text, normalized, None)
    try:
        # What Bolt's conversion read without complaint but its middleware would not.
        _check_fields(request.body, "")
    except RecursionError:
        raise Malformed("the body nests objects too deep") from None
    return request


def _malformed(text: str, headers: dict[str, Sequence[str]],
               error: Exception | None) -> Malformed:
    """Why Bolt could not read `text` (`error`: what its conversion raised)."""
    try:
        parsed = parse_body(text, extract_content_type(headers))
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        return Malformed("the body (or its payload) is not JSON")
    if not isinstance(parsed, dict):
        return Malformed(f"the body (or its payload) is not a JSON object but {_kind(parsed)}")
    try:
        _check_fields(parsed, "")
    except RecursionError:
        return Malformed("the body nests objects too deep")
    except Malformed as e:
        return e
    # A shape the checks do not know yet: refused all the same.
    return Malformed(f"slack-bolt could not read it ({type(error).__name__})")


def payload_problem(payload: object) -> str | None:
    """Why a Socket Mode envelope's payload (JSON already parsed by the client) is not what
    Slack sends and Bolt can read, or None. No signature there: the WebSocket is the app's
    own, opened with its app token; the shapes are checked all the same."""
    if not isinstance(payload, dict):
        return f"the payload is {_kind(payload)}, not an object"
    try:
        _check_fields(payload, "")
    except RecursionError:
        return "the payload nests objects too deep"
    except Malformed as e:
        return str(e)
    return None


def _check_fields(obj: dict[str, Any], where: str) -> None:
    for name in _ID_FIELDS:
        value = obj.get(name)
        if isinstance(value, dict):
            if not isinstance(value.get("id"), str | None):
                raise Malformed(f"`{where}{name}.id` is {_kind(value['id'])}")
        elif not isinstance(value, str | None):
            raise Malformed(f"`{where}{name}` is {_kind(value)}")
    for name in ("authorizations", "response_urls"):
        items = obj.get(name)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise Malformed(f"`{where}{name}` is not a list of objects")
        if name == "authorizations" and items:
            _check_fields(items[0], f"{where}{name}[0].")
    for name in _NESTED:
        value = obj.get(name)
        if isinstance(value, dict):
            _check_fields(value, f"{where}{name}.")
        elif name == "event" and name in obj:  # Bolt reads `body.get("event", {}).get(…)`
            raise Malformed(f"`{where}event` is {_kind(value)}")
    # Bolt's own middleware reads `view.get(…)` of a body that has one (its unhandled-request
    # message, for instance): present, it must be an object.
    if "view" in obj and not isinstance(obj["view"], dict):
        raise Malformed(f"`{where}view` is {_kind(obj['view'])}")


def _kind(value: object) -> str:
    """What a parsed JSON value is, for a message: "an array", "a number", "null"…"""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "?")

