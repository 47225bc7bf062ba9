"""The HTTP side of the fake Slack (devtools/fake_slack.py): its server and request handler,
how a request's arguments and bearer token are read, and the :class:`Call` each request is
recorded as, and the :class:`Refusal` of a message Slack would not take.

Arguments come from the query string and the body, JSON or form-encoded (the body wins), as
slack_sdk sends them; ``blocks``, ``attachments`` and ``view``, which slack_sdk JSON-encodes
into a string in a form body, are decoded back.  The token is the ``Authorization: Bearer``
header's, or a ``token`` argument.  What a request means (a Web API method, a
``response_url`` post, a file's bytes) is FakeSlack's ``_dispatch``; this module only hands
it the path, the headers and the body, and sends back its :class:`~devtools.httpbits.Reply`.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from devtools.httpbits import DispatchHandler, Reply, TrackingServer

#: ``Call.method`` used for posts to a ``response_url`` (``/response/<key>``).
RESPONSE_URL_METHOD = "response_url"
#: ``Call.method`` used for posts of a file's bytes to its upload URL (``key``: the file id).
UPLOAD_METHOD = "file_upload"

# Arguments that slack_sdk JSON-encodes into a string when it sends a form body.
_JSON_STRING_ARGS = frozenset({"blocks", "attachments", "view"})


@dataclass(frozen=True)
class Call:
    """One request received by the fake."""

    method: str
    """Web API method (e.g. ``"chat.postMessage"``) or ``"response_url"``."""
    args: dict[str, Any]
    """Arguments from the query string and the JSON or form body (body wins)."""
    key: str | None = None
    """The ``<key>`` of a ``/response/<key>`` post; ``None`` for Web API calls."""
    token: str | None = None
    """Bearer token from the ``Authorization`` header (or a ``token`` argument)."""
    at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the request was received."""


#: The errors of a message or view Slack will not take as sent (`refusal_in`).
_REFUSED = frozenset({"invalid_blocks", "invalid_blocks_format", "invalid_arguments",
                      "no_text"})


@dataclass(frozen=True)
class Refusal:
    """A message or view Slack would have refused (or, ``message_truncated``, posted cut)."""

    call: Call
    error: str
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.call.method}: {self.error} {'; '.join(self.messages)}".rstrip()


def refusal_in(call: Call, payload: dict[str, Any]) -> Refusal | None:
    """The refusal a Web API answer says, if any: an error of a message or view Slack would
    not take, or the warning that it cut a message's text."""
    metadata: dict[str, Any] = payload.get("response_metadata") or {}
    messages = tuple(str(m) for m in metadata.get("messages") or ())
    if payload.get("ok") is False and payload.get("error") in _REFUSED:
        return Refusal(call, str(payload["error"]), messages)
    if "message_truncated" in (metadata.get("warnings") or ()):
        return Refusal(call, "message_truncated", messages)
    return None


@dataclass
class Failure:
    """A failure queued by ``FakeSlack.fail_next``: the error and the HTTP status."""

    error: str
    status: int


def json_reply(payload: dict[str, Any], status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8")


class Dispatch(Protocol):
    """What answers a request: FakeSlack's ``_dispatch``."""

    def __call__(self, *, path: str, headers: dict[str, str], body: bytes) -> Reply: ...


class SlackServer(TrackingServer):
    """The fake's threaded server on 127.0.0.1 (a free port), handing requests to ``dispatch``."""

    def __init__(self, dispatch: Dispatch) -> None:
        self.dispatch = dispatch
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(DispatchHandler):
    server_version = "FakeSlack/1.0"
    server: SlackServer

    def _handle(self) -> None:
        try:
            body = self._read_body()
            reply = self.server.dispatch(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        except Exception:  # pragma: no cover - a bug in the fake itself
            traceback.print_exc(file=sys.stderr)
            reply = json_reply({"ok": False, "error": "fake_slack_internal_error"}, 500)
        self.send_reply(reply)


def parse_args(query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        content_type = headers.get("content-type", "").lower()
        text = body.decode("utf-8", errors="replace")
        parsed: Any = None
        if "json" in content_type or (
            "x-www-form-urlencoded" not in content_type and text.lstrip()[:1] in ("{", "[")
        ):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        if isinstance(parsed, dict):
            args.update(parsed)
        elif parsed is None:
            args.update(parse_qsl(text, keep_blank_values=True))
        else:
            args["_body"] = parsed
    for name in _JSON_STRING_ARGS:
        value = args.get(name)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[name] = json.loads(value)
    return args


def bearer_token(headers: dict[str, str], args: dict[str, Any]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    token = args.get("token")
    return token if isinstance(token, str) and token else None


def describe(call: Call) -> str:
    """One line for ``call`` in ``wait_for``'s timeout message (its arguments cut at 300)."""
    args = json.dumps(call.args, default=str, sort_keys=True)
    if len(args) > 300:
        args = args[:297] + "..."
    where = f" key={call.key}" if call.key is not None else ""
    return f"{call.method}{where} {args}"
