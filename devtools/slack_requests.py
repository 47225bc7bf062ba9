"""Build and send requests exactly as Slack sends them to the bot's events endpoint.

This module owns :class:`SlackRequester`, a small stdlib HTTP client that signs and POSTs
Slack's requests to a running bot and returns a :class:`Reply`.  When given a
:class:`~devtools.fake_slack.FakeSlack`, the requester points each request's
``response_url`` at the fake under a fresh key so callers can find what the bot posted back,
and has the fake issue each request's trigger id (so ``views.open`` takes it).

The request builders it uses, used by tests, the benchmark and the local shell too, live in
their own modules and are importable from here:

- devtools/slack_requests_signing.py: request signing (``sign``/``signed_headers``, Slack's
  ``v0`` HMAC-SHA256 scheme);
- devtools/slack_requests_commands.py: form bodies for slash commands
  (``slash_command_body``);
- devtools/slack_requests_actions.py: ``block_actions`` interactions
  (``block_actions_body``, from a message, an ephemeral message or a view such as the App
  Home tab);
- devtools/slack_requests_views.py: ``view_submission`` bodies (``view_submission_body``)
  and their input values (``text_value``, ``option_value``, ``boxes_value``);
- devtools/slack_requests_events.py: JSON Events API callbacks (``event_callback_body``,
  e.g. ``app_home_opened_event``);
- devtools/slack_requests_ids.py: the team, channel, app and bot they come from.

Stdlib only on purpose.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from devtools.httpbits import StartStop
from devtools.slack_requests_actions import block_actions_body
from devtools.slack_requests_commands import slash_command_body
from devtools.slack_requests_events import app_home_opened_event, event_callback_body
from devtools.slack_requests_ids import (
    API_APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    new_trigger_id,
)
from devtools.slack_requests_signing import sign, signed_headers
from devtools.slack_requests_views import (
    boxes_value,
    option_value,
    text_value,
    view_submission_body,
)

if TYPE_CHECKING:
    from devtools.fake_slack import Call, FakeSlack

__all__ = [
    "API_APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_TEAM_ID",
    "PLACEHOLDER_RESPONSE_URL",
    "TEAM_DOMAIN",
    "VERIFICATION_TOKEN",
    "Reply",
    "SlackRequester",
    "app_home_opened_event",
    "block_actions_body",
    "boxes_value",
    "event_callback_body",
    "option_value",
    "sign",
    "signed_headers",
    "slash_command_body",
    "text_value",
    "view_submission_body",
]

PLACEHOLDER_RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1000000000001/placeholder"


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer to a request sent by :class:`SlackRequester`."""

    status: int
    body: str
    elapsed: float
    """Seconds from sending the request to reading the whole response."""
    json: Any | None
    """The body parsed as JSON, or ``None`` when it is empty or not JSON."""
    response_key: str | None = None
    """Key of the request's ``response_url`` on the fake (``None`` without a fake)."""
    headers: dict[str, str] | None = None
    """Response headers (lower-cased names)."""


_RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class SlackRequester(StartStop):
    """Signs and POSTs Slack requests to the bot's events URL (stdlib ``http.client``).

    Connections are kept alive per thread, so one requester may be shared by threads.
    """

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        fake: FakeSlack | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(events_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"events_url must be an http(s) URL, got {events_url!r}")
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.fake = fake
        self.timeout = timeout
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public API

    def command(
        self,
        command: str,
        text: str,
        *,
        user_id: str,
        user_name: str | None = None,
        channel_id: str = DEFAULT_CHANNEL_ID,
        team_id: str = DEFAULT_TEAM_ID,
        timestamp: int | None = None,
    ) -> Reply:
        """Send a signed slash command (e.g. ``command("/deploy", "api v1.2")``)."""
        key, url = self._response_url("cmd")
        body = slash_command_body(
            command,
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            team_id=team_id,
            response_url=url,
            trigger_id=self._trigger(user_id),
        )
        return self._send(body, signed_headers(self.signing_secret, body, timestamp=timestamp), key)

    def click(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str,
        message: dict[str, Any] | None = None,
        block_id: str | None = None,
        channel_id: str | None = None,
        team_id: str = DEFAULT_TEAM_ID,
        user_name: str | None = None,
        timestamp: int | None = None,
    ) -> Reply:
        """Send a signed ``block_actions`` button click (see :func:`block_actions_body`)."""
        key, url = self._response_url("act")
        body = block_actions_body(
            user_id=user_id,
            action_id=action_id,
            value=value,
            block_id=block_id,
            message=message,
            channel_id=channel_id,
            response_url=url,
            team_id=team_id,
            user_name=user_name,
            trigger_id=self._trigger(user_id),
        )
        return self._send(body, signed_headers(self.signing_secret, body, timestamp=timestamp), key)

    def view_click(
        self,
        *,
        user_id: str,
        action_id: str,
        value: str,
        view: dict[str, Any],
        block_id: str | None = None,
        team_id: str = DEFAULT_TEAM_ID,
        timestamp: int | None = None,
    ) -> Reply:
        """Send a signed ``block_actions`` click on a button in ``view`` (the App Home tab):
        no response_url, as from Slack."""
        body = block_actions_body(user_id=user_id, action_id=action_id, value=value,
                                  block_id=block_id, response_url=None, team_id=team_id,
                                  view=view, trigger_id=self._trigger(user_id))
        return self._send(body, signed_headers(self.signing_secret, body, timestamp=timestamp),
                          None)

    def submit_view(
        self,
        view: dict[str, Any],
        values: dict[str, dict[str, dict[str, Any]]],
        *,
        user_id: str,
        team_id: str = DEFAULT_TEAM_ID,
        timestamp: int | None = None,
    ) -> Reply:
        """Send a signed ``view_submission`` of the modal ``view`` (as views.open answered
        it, e.g. ``fake.open_views()[-1].view``) with ``values`` as its ``state.values``
        (``{block_id: {action_id: {"type": ..., "value" | "selected_option" |
        "selected_options": ...}}}``, see :func:`text_value`, :func:`option_value`,
        :func:`boxes_value`). The bot's answer (``response_action``) is the reply's JSON."""
        body = view_submission_body(view, values, user_id=user_id, team_id=team_id,
                                    trigger_id=self._trigger(user_id))
        return self._send(body, signed_headers(self.signing_secret, body, timestamp=timestamp),
                          None)

    def event(self, event: dict[str, Any], *, team_id: str = DEFAULT_TEAM_ID,
              timestamp: int | None = None) -> Reply:
        """Send a signed Events API callback (JSON) carrying ``event``, e.g.
        ``app_home_opened_event("U1")``."""
        body = event_callback_body(event, team_id=team_id)
        headers = signed_headers(self.signing_secret, body, timestamp=timestamp,
                                 content_type="application/json")
        return self._send(body, headers, None)

    def raw(self, body: str, headers: dict[str, str]) -> Reply:
        """POST ``body`` with exactly ``headers`` (e.g. a forged or stale signature)."""
        return self._send(body, headers, None)

    def response_posts(self, reply: Reply, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until the bot posted ``count`` times to ``reply``'s response_url; return them."""
        if self.fake is None or reply.response_key is None:
            raise RuntimeError("response_posts needs a SlackRequester created with a FakeSlack")
        key = reply.response_key
        return self.fake.wait_for(
            "response_url", count=count, timeout=timeout, predicate=lambda c: c.key == key
        )

    def close(self) -> None:
        """Close every kept-alive connection (what leaving `with` does)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    stop = close  # StartStop: `with SlackRequester(...) as requester:` closes on exit

    # ------------------------------------------------------------------ internals

    def _trigger(self, user_id: str) -> str:
        """A fresh trigger id, issued by the fake (when there is one) so views.open takes it."""
        trigger_id = new_trigger_id()
        if self.fake is not None:
            self.fake.issue_trigger(trigger_id, user_id)
        return trigger_id

    def _response_url(self, prefix: str) -> tuple[str | None, str]:
        if self.fake is None:
            return None, PLACEHOLDER_RESPONSE_URL
        key = self.fake.new_response_key(prefix)
        return key, self.fake.response_url(key)

    def _new_connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self._scheme == "https":
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        with self._lock:
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def _drop_connection(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def _send(self, body: str, headers: dict[str, str], key: str | None) -> Reply:
        data = body.encode("utf-8")
        send_headers = {"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        send_headers.update(headers)
        send_headers["Content-Length"] = str(len(data))
        existing: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        for attempt in range(2):
            reused = existing is not None and attempt == 0
            conn = existing if reused and existing is not None else self._new_connection()
            started = time.perf_counter()
            try:
                conn.request("POST", self._path, body=data, headers=send_headers)
                response = conn.getresponse()
                raw = response.read()
            except _RETRYABLE:
                self._drop_connection(conn)
                if reused:
                    continue  # a stale kept-alive connection: retry once on a fresh one
                raise
            except BaseException:
                self._drop_connection(conn)
                raise
            elapsed = time.perf_counter() - started
            if response.will_close:
                self._drop_connection(conn)
            text = raw.decode("utf-8", errors="replace")
            parsed: Any | None = None
            if text.strip():
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
            return Reply(
                status=response.status,
                body=text,
                elapsed=elapsed,
                json=parsed,
                response_key=key,
                headers={k.lower(): v for k, v in response.getheaders()},
            )
        raise AssertionError("unreachable")  # pragma: no cover
