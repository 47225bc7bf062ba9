"""Build and send requests exactly as Slack sends them to the bot's events endpoint.

This module owns the Slack-side request builders used by tests, the benchmark and the local
shell: request signing (``sign``/``signed_headers``, Slack's ``v0`` HMAC-SHA256 scheme),
form bodies for slash commands (``slash_command_body``) and ``block_actions`` interactions
(``block_actions_body``, from a message or from a view such as the App Home tab), JSON
Events API callbacks (``event_callback_body``, e.g. ``app_home_opened``), and
:class:`SlackRequester`, a small stdlib HTTP client that signs and POSTs them to a running
bot and returns a :class:`Reply`.  When given a
:class:`~devtools.fake_slack.FakeSlack`, the requester points each request's
``response_url`` at the fake under a fresh key so callers can find what the bot posted back.
Stdlib only on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from devtools.httpbits import StartStop

if TYPE_CHECKING:
    from devtools.fake_slack import Call, FakeSlack

__all__ = [
    "Reply",
    "SlackRequester",
    "app_home_opened_event",
    "block_actions_body",
    "event_callback_body",
    "sign",
    "signed_headers",
    "slash_command_body",
]

DEFAULT_TEAM_ID = "T0001"
DEFAULT_CHANNEL_ID = "C0DEPLOYS"
TEAM_DOMAIN = "example"
API_APP_ID = "A0DEPLOYBOT"
BOT_USER_ID = "UBOT"
BOT_ID = "B0001"
# Slack's deprecated verification token; Bolt ignores it but Slack still sends it.
VERIFICATION_TOKEN = "xxxxDEPRECATEDverificationTOKEN"
PLACEHOLDER_RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1000000000001/placeholder"

_trigger_counter = itertools.count(1)
_action_ts_counter = itertools.count(1)
_message_ts_counter = itertools.count(1)
_event_counter = itertools.count(1)


def sign(secret: str, body: str, timestamp: int) -> str:
    """Slack request signature: ``"v0=" + hex(HMAC-SHA256(secret, f"v0:{ts}:{body}"))``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack sends with a request: content type, timestamp and signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, body, ts),
    }


def _trigger_id() -> str:
    n = next(_trigger_counter)
    return f"{1_000_000_000_000 + n}.{1_000_000_000_000 + n}.{uuid.uuid4().hex}"


def _action_ts() -> str:
    n = next(_action_ts_counter)
    return f"{int(time.time())}.{n % 1_000_000:06d}"


def _channel_name(channel_id: str) -> str:
    if channel_id == DEFAULT_CHANNEL_ID:
        return "deploys"
    if channel_id.startswith("D"):
        return "directmessage"
    return channel_id.lower()


def _user_name(user_id: str) -> str:
    return user_id.lower()


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    user_name: str | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    response_url: str,
    trigger_id: str | None = None,
) -> str:
    """Form-urlencoded body of a slash command invocation, with every field Slack sends.

    ``user_name`` defaults to the lower-cased user id, ``trigger_id`` to a fresh unique one.
    """
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name if channel_name is not None else _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_name if user_name is not None else _user_name(user_id),
        "command": command if command.startswith("/") else "/" + command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id if trigger_id is not None else _trigger_id(),
    }
    return urlencode(fields)


def _find_button(blocks: Any, action_id: str) -> tuple[str | None, str | None]:
    """(block_id, button text) of the element with ``action_id`` in ``blocks``, if any."""
    if not isinstance(blocks, list):
        return None, None
    for block in blocks:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or [])
        accessory = block.get("accessory")
        if accessory is not None:
            elements.append(accessory)
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                label = element.get("text")
                text = label.get("text") if isinstance(label, dict) else None
                block_id = block.get("block_id")
                return (
                    str(block_id) if block_id is not None else None,
                    str(text) if text is not None else None,
                )
    return None, None


def block_actions_body(
    *,
    user_id: str,
    action_id: str,
    value: str,
    block_id: str | None = None,
    message: dict[str, Any] | None = None,
    channel_id: str | None = None,
    response_url: str | None,
    team_id: str = DEFAULT_TEAM_ID,
    user_name: str | None = None,
    button_text: str | None = None,
    trigger_id: str | None = None,
    view: dict[str, Any] | None = None,
    ephemeral: bool = False,
) -> str:
    """Form body ``payload=<json>`` of a ``block_actions`` interaction (a button click).

    With ``ephemeral`` the button is in a message only the user sees (a response_url reply,
    chat.postEphemeral): the container says ``"is_ephemeral": true`` and, Slack keeping no
    copy of such a message, the payload has no ``message`` (Slack's block_actions payload:
    https://docs.slack.dev/reference/interaction-payloads/block_actions-payload — `message`
    is sent for a button in a message the app posted; `container` says where it was).

    With ``view`` (e.g. ``FakeSlack.home_view(user)``) the button is in that view, as in the
    App Home tab: Slack then sends the view and no channel, message or ``response_url``.

    ``message`` is the message the button lives on, e.g. an entry of
    ``FakeSlack.messages()``; its ``ts``, ``thread_ts`` and ``blocks`` are used (a ``ts`` is
    invented when missing, and a minimal bot message is used when ``message`` is ``None``).
    ``channel_id`` defaults to the message's ``channel`` or ``"C0DEPLOYS"``; ``block_id`` and
    ``button_text`` default to the matching button in the message's blocks, when found.
    """
    source = dict(message or {})
    if channel_id is None:
        channel = source.get("channel")
        channel_id = str(channel) if channel else DEFAULT_CHANNEL_ID
    msg: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": API_APP_ID,
        "team": team_id,
        "text": "",
    }
    msg.update({k: v for k, v in source.items() if k != "channel" and v is not None})
    if not msg.get("ts"):
        msg["ts"] = f"1600000000.{next(_message_ts_counter) % 1_000_000:06d}"
    found_block_id, found_text = _find_button(msg.get("blocks"), action_id)
    resolved_block_id = block_id or found_block_id or "actions"
    name = user_name if user_name is not None else _user_name(user_id)
    if view is not None:
        return _view_actions_body(user_id=user_id, name=name, action_id=action_id, value=value,
                                  block_id=block_id, view=view, team_id=team_id,
                                  button_text=button_text, trigger_id=trigger_id)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": msg["ts"],
        "channel_id": channel_id,
        "is_ephemeral": ephemeral,
    }
    if msg.get("thread_ts"):
        container["thread_ts"] = msg["thread_ts"]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id if trigger_id is not None else _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "message": msg,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": resolved_block_id,
                "text": {
                    "type": "plain_text",
                    "text": button_text or found_text or value,
                    "emoji": True,
                },
                "value": value,
                "type": "button",
                "action_ts": _action_ts(),
            }
        ],
    }
    if ephemeral:
        del payload["message"]
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def _view_actions_body(*, user_id: str, name: str, action_id: str, value: str,
                       block_id: str | None, view: dict[str, Any], team_id: str,
                       button_text: str | None, trigger_id: str | None) -> str:
    found_block_id, found_text = _find_button(view.get("blocks"), action_id)
    view_id = str(view.get("id") or "V0000000001")
    full_view = {"id": view_id, "team_id": team_id, "type": view.get("type", "home"),
                 "private_metadata": "", "callback_id": "", "state": {"values": {}},
                 "hash": "1600000000.abcdef", "clear_on_close": False,
                 "notify_on_close": False, "root_view_id": view_id, "app_id": API_APP_ID,
                 "external_id": "", "app_installed_team_id": team_id, "bot_id": BOT_ID,
                 "previous_view_id": None}
    full_view.update(view)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": trigger_id if trigger_id is not None else _trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": full_view,
        "actions": [{
            "action_id": action_id,
            "block_id": block_id or found_block_id or "actions",
            "text": {"type": "plain_text", "text": button_text or found_text or value,
                     "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": _action_ts(),
        }],
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def text_value(text: str | None) -> dict[str, Any]:
    """A plain_text_input's state in a view_submission (``value`` is null when left empty)."""
    return {"type": "plain_text_input", "value": text}


def option_value(value: str | None, text: str | None = None) -> dict[str, Any]:
    """A static_select's state (``selected_option`` is null when nothing was chosen)."""
    option = (None if value is None else
              {"text": {"type": "plain_text", "text": text or value, "emoji": True},
               "value": value})
    return {"type": "static_select", "selected_option": option}


def boxes_value(*values: str) -> dict[str, Any]:
    """A checkboxes element's state: the options ticked."""
    return {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": v, "emoji": True}, "value": v}
        for v in values]}


def view_submission_body(view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]],
                         *, user_id: str, team_id: str = DEFAULT_TEAM_ID,
                         trigger_id: str | None = None) -> str:
    """Form body of a ``view_submission`` payload, in Slack's shape
    (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload): type,
    team, user, api_app_id, token, trigger_id, view (its ``id``, ``callback_id``,
    ``private_metadata``, ``hash`` and ``state.values``), ``response_urls`` (empty: the
    modal has no conversation select with ``response_url_enabled``)."""
    name = _user_name(user_id)
    view_id = str(view.get("id") or "V0000000001")
    full_view = dict(view)
    full_view.update({"id": view_id, "team_id": team_id, "type": view.get("type", "modal"),
                      "private_metadata": view.get("private_metadata", ""),
                      "callback_id": view.get("callback_id", ""),
                      "hash": view.get("hash", "1600000000.abcdef"),
                      "state": {"values": values}, "app_id": API_APP_ID, "bot_id": BOT_ID,
                      "root_view_id": view.get("root_view_id", view_id)})
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id if trigger_id is not None else _trigger_id(),
        "view": full_view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def app_home_opened_event(user_id: str, *, tab: str = "home",
                          view: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``app_home_opened`` event Slack sends when a user opens the app's Home (or
    Messages, ``tab="messages"``) tab; ``view`` is the Home view published before, if any."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": f"D{user_id}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = view
    return event


def event_callback_body(event: dict[str, Any], *, team_id: str = DEFAULT_TEAM_ID,
                        event_id: str | None = None) -> str:
    """JSON body of an Events API ``event_callback`` carrying ``event``, as Slack posts it."""
    n = next(_event_counter)
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{1_000_000 + n:010d}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team_id,
                            "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": f"4-eyJldCI6ImFwcF9ob21lX29wZW5lZCJ9-{n}",
    }
    return json.dumps(body, separators=(",", ":"))


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
        trigger_id = _trigger_id()
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
