"""A local emulator of Slack's Socket Mode, for tests: the Web API of :class:`FakeSlack` plus
``apps.connections.open`` and the WebSocket "link" it hands out.

Where its behaviour comes from — Slack's documentation, not what a client happens to do:

- "Using Socket Mode", https://docs.slack.dev/apis/events-api/using-socket-mode/ (formerly
  https://api.slack.com/apis/connections/socket-implement):

  * ``apps.connections.open`` is POSTed with the app-level token (``xapp-…``) in the
    ``Authorization`` header and answers ``{"ok": true, "url": "wss://…/link/?ticket=…"}``,
    a temporary URL; every call gives a new one.
  * On connecting, Slack sends ``{"type": "hello", "connection_info": {"app_id": …},
    "num_connections": n, "debug_info": {"host", "started", "build_number",
    "approximate_connection_time"}}``.
  * An app may hold up to 10 connections; each payload may go to any of them.
  * Payloads arrive in envelopes ``{"payload", "envelope_id", "type",
    "accepts_response_payload"}``, ``type`` being ``slash_commands``, ``interactive``
    (``block_actions``, ``view_submission``, ``block_suggestion``) or ``events_api``; the
    documented examples have ``accepts_response_payload`` true for commands and interactive
    payloads and false for Events API ones.
  * The app acknowledges each envelope with ``{"envelope_id", "payload"?}`` (a command's
    reply, a modal's ``response_action``, options) "so that Slack knows whether to retry".
  * ``{"type": "disconnect", "reason": "warning" | "refresh_requested" | "link_disabled",
    "debug_info": {"host"}}``: a warning comes about 10 seconds before a disconnect; a
    ``refresh_requested`` is expected every few hours; ``link_disabled`` when Socket Mode is
    turned off. The app is to connect to a new URL "as quickly as possible".

- The ``apps.connections.open`` reference, https://docs.slack.dev/reference/methods/apps.connections.open
  (its error table, as in slack-ruby/slack-api-ref ``methods/apps/apps.connections.open.json``):
  ``invalid_auth`` for a token Slack does not accept, ``not_authed`` for none,
  ``not_allowed_token_type`` for a token of the wrong kind (e.g. a bot token).

- Redelivery: the Events API retries an unacknowledged delivery, telling the app the attempt
  number and the reason (over HTTP, ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason``); in an
  envelope they are ``retry_attempt`` / ``retry_reason``. The emulator does not retry on its
  own: a test redelivers explicitly (``send(..., retry_attempt=1, retry_reason="timeout")``).

Choices of the emulator where the documentation says nothing: a ticket is accepted once (a
second connection with it, or an unknown one, gets HTTP 401 at the handshake); after
``disconnect`` the emulator closes that connection itself after ``close_after`` seconds
(``warning``: 10, ``refresh_requested``: ``refresh_grace``, ``link_disabled``: at once)
unless the app has closed it first; the URL is ``ws://127.0.0.1:<port>`` (no TLS), which
slack_sdk's built-in client accepts for a port other than 443.

Everything is recorded: ``links()`` (each connection, its hello, whether it closed),
``sent()`` (envelopes), ``acks()`` and ``unexpected()`` (messages from the app that are no
valid ack); ``wait_for_link`` / ``wait_for_ack`` block until they arrive. The Web API calls
(``apps.connections.open`` among them) are :meth:`FakeSlack.calls` as usual.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from devtools.fake_slack import Call, FakeSlack, _json_reply
from devtools.httpbits import Reply
from devtools.server import free_port
from devtools.slack_requests import (
    API_APP_ID,
    block_actions_body,
    slash_command_body,
)

__all__ = ["APP_TOKEN", "Ack", "Envelope", "FakeSocketMode", "Link"]

#: The app-level token the emulator accepts unless told otherwise.
APP_TOKEN = "xapp-1-A0DEPLOYBOT-1-fake"
CONNECTIONS_OPEN = "apps.connections.open"
DISCONNECT_REASONS = ("warning", "refresh_requested", "link_disabled")
#: Envelope types and whether they accept a response payload (the documented examples).
ENVELOPE_TYPES = {"slash_commands": True, "interactive": True, "events_api": False}
HOST = "applink-fake-1"


@dataclass
class Link:
    """One WebSocket connection of the app (a ticket used)."""

    number: int
    ticket: str
    connection: ServerConnection = field(repr=False)
    hello: dict[str, Any]
    opened_at: float = field(default_factory=time.monotonic)
    closed: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def open(self) -> bool:
        return not self.closed.is_set()


@dataclass(frozen=True)
class Envelope:
    """An envelope sent to the app (``message`` is what went over the wire)."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    link: int
    message: dict[str, Any]
    sent_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Ack:
    """An acknowledgement from the app: ``payload`` is None when it sent none."""

    envelope_id: str
    payload: dict[str, Any] | None
    has_payload: bool
    link: int
    at: float = field(default_factory=time.monotonic)


class FakeSocketMode(FakeSlack):
    """FakeSlack (the Web API, recording calls) that also speaks Socket Mode.

    Point the app at ``base_url`` (``SLACK_API_URL``) and give it one of ``app_tokens``
    (default :data:`APP_TOKEN`) as ``SLACK_APP_TOKEN``.
    """

    def __init__(self, *, app_tokens: Iterable[str] = (APP_TOKEN,), app_id: str = API_APP_ID,
                 usergroups: dict[str, list[str]] | None = None,
                 refresh_grace: float = 2.0,
                 on_call: Callable[[Call], None] | None = None) -> None:
        super().__init__(usergroups=usergroups, on_call=on_call)
        self.app_tokens = set(app_tokens)
        self.app_id = app_id
        self.refresh_grace = refresh_grace
        self._sm = threading.Condition()
        self._tickets: dict[str, bool] = {}  # issued ticket -> used
        self._links: list[Link] = []
        self._sent: list[Envelope] = []
        self._acks: list[Ack] = []
        self._unexpected: list[tuple[int, str]] = []
        self._numbers = itertools.count(1)
        self._ws_port = 0
        self._ws_server: Server | None = None
        self._ws_thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSocketMode:
        super().start()
        if self._ws_server is not None:
            return self
        self._ws_port = free_port()
        self._ws_server = serve(self._serve_link, "127.0.0.1", self._ws_port,
                               process_request=self._handshake, compression=None,
                               ping_interval=None)
        self._ws_thread = threading.Thread(target=self._ws_server.serve_forever,
                                           name=f"FakeSocketMode:{self._ws_port}", daemon=True)
        self._ws_thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._ws_server, self._ws_thread
        self._ws_server = self._ws_thread = None
        for timer in self._timers:
            timer.cancel()
        if server is not None:
            for link in self.links():
                if link.open:
                    with contextlib.suppress(Exception):
                        link.connection.close()
            server.shutdown()
        if thread is not None:
            thread.join(timeout=5.0)
        super().stop()

    # ------------------------------------------------------------------ driving the app

    def send(self, type: str, payload: dict[str, Any], *, link: Link | None = None,
             accepts_response_payload: bool | None = None, retry_attempt: int = 0,
             retry_reason: str = "", envelope_id: str | None = None) -> Envelope:
        """Deliver ``payload`` in an envelope of ``type`` on ``link`` (default: the newest
        open connection)."""
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type!r} (one of {list(ENVELOPE_TYPES)})")
        target = link or self.current_link()
        accepts = (ENVELOPE_TYPES[type] if accepts_response_payload is None
                   else accepts_response_payload)
        eid = envelope_id or str(uuid.uuid4())
        message = {"envelope_id": eid, "type": type, "payload": payload,
                   "accepts_response_payload": accepts, "retry_attempt": retry_attempt,
                   "retry_reason": retry_reason}
        envelope = Envelope(eid, type, payload, target.number, message)
        with self._sm:
            self._sent.append(envelope)
        target.connection.send(json.dumps(message))
        return envelope

    def command(self, command: str, text: str, *, user_id: str, response_url: str | None = None,
                trigger_id: str | None = None, **kw: Any) -> Envelope:
        """A slash command, its payload the fields Slack posts over HTTP (as the docs show);
        ``response_url`` defaults to a fresh ``response_url`` of this fake."""
        url = response_url or self.response_url(self.new_response_key("cmd"))
        body = slash_command_body(command, text, user_id=user_id, response_url=url,
                                  trigger_id=trigger_id)
        return self.send("slash_commands", dict(parse_qsl(body, keep_blank_values=True)), **kw)

    def click(self, *, user_id: str, action_id: str, value: str,
              message: dict[str, Any] | None = None, **kw: Any) -> Envelope:
        """A ``block_actions`` payload (a button click) in an ``interactive`` envelope."""
        body = block_actions_body(user_id=user_id, action_id=action_id, value=value,
                                  message=message,
                                  response_url=self.response_url(self.new_response_key("act")))
        payload = json.loads(parse_qs(body)["payload"][0])
        return self.send("interactive", payload, **kw)

    def disconnect(self, reason: str = "refresh_requested", *, link: Link | None = None,
                   close_after: float | None = None) -> Link:
        """Send ``disconnect`` on ``link`` (default: the newest open one), then close it
        after ``close_after`` seconds unless the app closed it first."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"unknown disconnect reason {reason!r}")
        target = link or self.current_link()
        target.connection.send(json.dumps({"type": "disconnect", "reason": reason,
                                           "debug_info": {"host": HOST}}))
        delay = close_after if close_after is not None else {
            "warning": 10.0, "refresh_requested": self.refresh_grace, "link_disabled": 0.0,
        }[reason]
        timer = threading.Timer(delay, self._close_link, args=(target,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        return target

    # ------------------------------------------------------------------ inspection

    @property
    def ws_port(self) -> int:
        return self._ws_port

    def links(self) -> list[Link]:
        with self._sm:
            return list(self._links)

    def current_link(self) -> Link:
        """The newest open connection (AssertionError when there is none)."""
        open_links = [link for link in self.links() if link.open]
        if not open_links:
            raise AssertionError("the app has no open Socket Mode connection")
        return open_links[-1]

    def sent(self) -> list[Envelope]:
        with self._sm:
            return list(self._sent)

    def acks(self, envelope: Envelope | str | None = None) -> list[Ack]:
        wanted = envelope.envelope_id if isinstance(envelope, Envelope) else envelope
        with self._sm:
            return [a for a in self._acks if wanted is None or a.envelope_id == wanted]

    def unexpected(self) -> list[tuple[int, str]]:
        """Messages from the app that are not an ack of an envelope sent: (link, text)."""
        with self._sm:
            return list(self._unexpected)

    def wait_for_link(self, count: int = 1, timeout: float = 10.0) -> Link:
        """The ``count``-th connection (1-based), once it has been sent its hello."""
        with self._sm:
            if self._sm.wait_for(lambda: len(self._links) >= count, timeout=timeout):
                return self._links[count - 1]
            got = len(self._links)
        raise AssertionError(f"timed out after {timeout:.1f}s waiting for Socket Mode "
                             f"connection #{count}; {got} so far")

    def wait_for_ack(self, envelope: Envelope, timeout: float = 10.0) -> Ack:
        with self._sm:
            def acked() -> bool:
                return any(a.envelope_id == envelope.envelope_id for a in self._acks)

            if self._sm.wait_for(acked, timeout=timeout):
                return next(a for a in self._acks if a.envelope_id == envelope.envelope_id)
            unexpected = list(self._unexpected)
        raise AssertionError(f"timed out after {timeout:.1f}s waiting for the ack of "
                             f"{envelope.type} envelope {envelope.envelope_id}; "
                             f"unexpected messages: {unexpected}")

    # ------------------------------------------------------------------ the Web API side

    def _respond(self, call: Call) -> Reply:
        # Caller holds FakeSlack's lock; a failure queued with fail_next goes first.
        if call.method != CONNECTIONS_OPEN or self._failures.get(call.method):
            return super()._respond(call)
        token = call.token
        if not token:
            return _json_reply({"ok": False, "error": "not_authed"})
        if not token.startswith("xapp-"):
            return _json_reply({"ok": False, "error": "not_allowed_token_type"})
        if token not in self.app_tokens:
            return _json_reply({"ok": False, "error": "invalid_auth"})
        ticket = uuid.uuid4().hex
        with self._sm:
            self._tickets[ticket] = False
        url = f"ws://127.0.0.1:{self._ws_port}/link/?ticket={ticket}&app_id={self.app_id}"
        return _json_reply({"ok": True, "url": url})

    # ------------------------------------------------------------------ the WebSocket side

    def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        with self._sm:
            known = parts.path.rstrip("/") == "/link" and self._tickets.get(ticket) is False
            if known:
                self._tickets[ticket] = True
        if not known:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unknown or used ticket\n")
        return None

    def _serve_link(self, connection: ServerConnection) -> None:
        ticket = (parse_qs(urlsplit(connection.request.path).query).get("ticket")
                  or [""])[0] if connection.request is not None else ""
        with self._sm:
            number = next(self._numbers)
            hello = {"type": "hello", "connection_info": {"app_id": self.app_id},
                     "num_connections": 1 + sum(1 for k in self._links if k.open),
                     "debug_info": {"host": HOST,
                                    "started": datetime.now(UTC).strftime(
                                        "%Y-%m-%d %H:%M:%S.%f")[:-3],
                                    "build_number": 1, "approximate_connection_time": 3600}}
            link = Link(number, ticket, connection, hello)
            # Sent and recorded at once: a client that has read its hello finds the link
            # open (a test sends its first envelope right after), and nothing is sent on
            # the link before its hello (Slack's first frame on a connection).
            connection.send(json.dumps(hello))
            self._links.append(link)
            self._sm.notify_all()
        try:
            for message in connection:
                self._received(link, message if isinstance(message, str)
                               else message.decode("utf-8", "replace"))
        except ConnectionClosed:
            pass
        finally:
            link.closed.set()
            with self._sm:
                self._sm.notify_all()

    def _received(self, link: Link, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        with self._sm:
            known = {e.envelope_id for e in self._sent}
            if (isinstance(message, dict) and message.get("envelope_id") in known
                    and (message.get("payload") is None
                         or isinstance(message.get("payload"), dict))):
                self._acks.append(Ack(str(message["envelope_id"]), message.get("payload"),
                                      "payload" in message, link.number))
            else:
                self._unexpected.append((link.number, text))
            self._sm.notify_all()

    def _close_link(self, link: Link) -> None:
        if link.open:
            with contextlib.suppress(Exception):
                link.connection.close()
