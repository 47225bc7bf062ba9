"""Slack over Socket Mode (`deploybot run` with SLACK_APP_TOKEN): the token checked before
anything starts, the connection, and a stop that drains like the HTTP server's (bot.drain).

The protocol (https://docs.slack.dev/apis/events-api/using-socket-mode/): the app POSTs
`apps.connections.open` with its app-level token for a temporary WebSocket URL, connects,
is sent `hello`, then receives envelopes (`slash_commands`, `interactive`, `events_api`) and
acks each by its `envelope_id`, with a `payload` when the envelope accepts one (a command's
reply). Slack refreshes connections every few hours (`disconnect`, `refresh_requested`).
slack-bolt's `SocketModeHandler` (slack_sdk's built-in client) speaks it and reconnects on
its own; its `start()` blocks on an Event that nothing sets, so a SIGTERM used to close the
socket and leave the process waiting forever. Here:

- `open_connection` asks for the first URL before anything starts: a token Slack refuses is
  a SettingsError (`deploybot run` prints one line and exits 2), Slack down or unreachable a
  RetryableError (one line, exit 1). The URL is the one the client then connects to.
- `serve` connects without blocking (`SocketModeClient.connect`) and waits for SIGTERM or
  SIGINT itself, then stops in the HTTP path's order: the drain begins (the hand-back starts);
  for `runner.drain` seconds the connection stays open, so envelopes being answered finish
  and their acks go out, while new ones are refused as the HTTP edge refuses requests (a
  command is acked with the "restarting, try again" ephemeral; anything else is left
  unacknowledged: Slack delivers an event again, to another connection once this one is
  gone, and a click shows as failed, so the user clicks again); then the client closes (its
  workers finish what they were given) and `serve` returns for the caller to wait for the
  hand-back and close the container. SIGINT skips the wait; a second signal cuts it short.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.drain import RESTARTING, Drain
from bot.errors import RetryableError
from bot.settings import SettingsError
from bot.slack_edge import payload_problem

log = logging.getLogger(__name__)

#: `apps.connections.open` errors that mean the app token is what is wrong (its reference,
#: https://docs.slack.dev/reference/methods/apps.connections.open), with what to do. Any other
#: error (internal_error, service_unavailable, …) is Slack's trouble: try again later.
TOKEN_REFUSED = {
    "invalid_auth": "Slack does not accept it (revoked, regenerated, or mistyped?)",
    "not_authed": "Slack received no token",
    "missing_args": "Slack received no token",
    "not_allowed_token_type": "it is not an app-level token",
    "missing_scope": "it lacks the connections:write scope",
    "no_permission": "it lacks the connections:write scope",
    "token_revoked": "it was revoked",
    "token_expired": "it has expired",
    "account_inactive": "its workspace or app is no longer active",
    "access_denied": "Slack denies it access",
    "forbidden_team": "its workspace cannot use Socket Mode",
}
_FIX = ("generate an app-level token with the connections:write scope (app settings → Basic "
        "Information → App-Level Tokens) and set it as SLACK_APP_TOKEN")


def _problem(e: Exception) -> Exception:
    """What `apps.connections.open` failing with `e` means for deploybot."""
    if isinstance(e, SlackApiError):
        error = str(e.response.get("error") or "unknown_error")
        if error in TOKEN_REFUSED:
            return SettingsError(f"SLACK_APP_TOKEN was refused by Slack (apps.connections.open: "
                                 f"{error}): {TOKEN_REFUSED[error]}; {_FIX}")
        return RetryableError(f"Socket Mode: Slack answered apps.connections.open with "
                              f"{error}; try again later")
    return RetryableError(f"Socket Mode: Slack cannot be reached ({type(e).__name__}: {e})")


def open_connection(app_token: str, api_url: str | None = None) -> str:
    """A WebSocket URL from `apps.connections.open` (`api_url`: SLACK_API_URL)."""
    client = WebClient(base_url=api_url or WebClient.BASE_URL, timeout=10)
    client.retry_handlers.extend([ConnectionErrorRetryHandler(max_retry_count=2),
                                  RateLimitErrorRetryHandler(max_retry_count=2)])
    try:
        response = client.apps_connections_open(app_token=app_token)
    except (SlackClientError, OSError) as e:  # SlackApiError is a SlackClientError
        raise _problem(e) from e
    url = response.get("url")
    if not isinstance(url, str) or not url.startswith(("wss://", "ws://")):
        raise RetryableError(f"Socket Mode: apps.connections.open gave no WebSocket URL "
                             f"({url!r}); try again later")
    return url


class _DrainingHandler(SocketModeHandler):
    """slack-bolt's handler, refusing new envelopes once the drain has begun."""

    def __init__(self, app: App, app_token: str, *, drain: Drain) -> None:
        self._drain = drain
        super().__init__(app, app_token)

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        if self._drain.draining:
            _refuse(client, req)
            return
        problem = payload_problem(req.payload)
        if problem is not None:  # Bolt's conversion would raise on it, before any middleware
            # Acked, so that Slack does not deliver it again: it would be refused again.
            log.warning("Socket Mode: %s envelope %s refused: %s", req.type, req.envelope_id,
                        problem)
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        assert isinstance(client, SocketModeClient)  # the built-in client it was given
        super().handle(client, req)


def _refuse(client: BaseSocketModeClient, req: SocketModeRequest) -> None:
    payload: dict[str, Any] = req.payload if isinstance(req.payload, dict) else {}
    if req.type == "slash_commands":
        client.send_socket_mode_response(SocketModeResponse(
            envelope_id=req.envelope_id,
            payload={"response_type": "ephemeral", "text": RESTARTING}))
        log.info("draining: refused %s (told the user to try again)",
                 payload.get("command") or "a slash command")
    else:
        log.info("draining: left a %s envelope (%s) unacknowledged for Slack to deliver again",
                 req.type, payload.get("type") or "-")


class SocketModeConnection:
    """The app's Socket Mode connection: `connect()` returns once connected (or raises
    SettingsError / RetryableError), `close()` disconnects and stops the client's threads.
    `url`: a URL from `open_connection` to use first (a new one is asked for if it fails)."""

    def __init__(self, app: App, app_token: str, *, drain: Drain | None = None,
                 url: str | None = None) -> None:
        self._handler = _DrainingHandler(app, app_token, drain=drain or Drain())
        self.client: SocketModeClient = self._handler.client
        self.client.wss_uri = url

    def connect(self) -> None:
        try:
            self.client.connect()
            if not self.client.is_connected():  # the URL given expired: a new one, now
                log.info("Socket Mode: the first URL did not connect; asking for a new one")
                self.client.wss_uri = None
                self.client.connect()
        except (SlackClientError, OSError) as e:
            raise _problem(e) from e
        if not self.client.is_connected():
            raise RetryableError("Socket Mode: the WebSocket connection to Slack failed "
                                 "(see the log above); try again later")
        log.info("Socket Mode: connected (session %s)", self.client.session_id())

    def close(self) -> None:
        self.client.close()


def serve(app: App, app_token: str, *, drain: Drain, drain_for: float,
          url: str | None = None) -> None:
    """Answer Slack over Socket Mode until SIGTERM/SIGINT, then drain (see the module)."""
    signalled = threading.Event()
    cut_short = threading.Event()
    received: list[int] = []

    def on_signal(sig: int, _frame: FrameType | None) -> None:
        if signalled.is_set():  # a second signal: stop now
            cut_short.set()
            return
        received.append(sig)
        drain.begin()
        signalled.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    connection = SocketModeConnection(app, app_token, drain=drain, url=url)
    try:
        connection.connect()
        while not signalled.wait(1.0):
            pass
        wait = drain_for if received[0] != signal.SIGINT else 0.0
        name = signal.Signals(received[0]).name
        if wait > 0:
            log.info("%s: draining; Socket Mode stays connected %.0f s for envelopes being "
                     "answered, new ones are refused", name, wait)
            cut_short.wait(wait)
        else:
            log.info("%s: stopping", name)
    finally:
        connection.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.info("Socket Mode: disconnected")
