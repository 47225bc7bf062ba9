"""Slack Web API backend: implements the Notifier and Directory ports with slack_sdk, over
HTTP connections kept open and reused (`KeptConnections` under `KeepAliveWebClient`); Bolt's
`respond` (replies on a request's response_url) goes over them too (`KeepAliveRespond`)."""

from __future__ import annotations

import contextlib
import functools
import http.client
import io
import logging
import re
import select
import threading
import time
from collections.abc import Mapping, Sequence
from email.message import Message
from ssl import SSLContext
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import SplitResult, urlsplit
from urllib.request import Request
from zoneinfo import ZoneInfo

from slack_bolt import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookClient, WebhookResponse

from bot.domain.deployment import Deployment
from bot.domain.severity import DEFAULT_SEVERITY, Outcome, Production, Severity, severity_of
from bot.domain.text import is_slack_user
from bot.errors import PermanentError, RetryableError
from bot.ports import Changes, ChecklistCards, DeploymentWatcher, MessageRefs
from bot.presentation import blocks
from bot.presentation.checklist_views import with_checklist

_RETRYABLE = {"ratelimited", "internal_error", "service_unavailable", "request_timeout",
              "fatal_error"}


class _OneWrite:
    """http.client writes a request's head and its body with two `send`s (two system calls,
    two TCP segments, two TLS records): one `send` of both when the body is bytes (slack_sdk's
    requests, Bolt's replies). The same bytes on the wire."""

    _buffer: list[bytes]  # http.client's: the request head, line by line (no value here)
    if TYPE_CHECKING:
        def send(self, data: Any) -> None: ...  # http.client's

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if isinstance(message_body, bytes) and not encode_chunked:
            self._buffer.extend((b"", b""))  # as http.client ends the head
            head = b"\r\n".join(self._buffer)
            del self._buffer[:]
            self.send(head + message_body)
            return
        super()._send_output(message_body, encode_chunked)  # type: ignore[misc]


class _HTTPConnection(_OneWrite, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_OneWrite, http.client.HTTPSConnection):
    pass


@functools.lru_cache(maxsize=256)
def _split(url: str) -> SplitResult:
    """`urlsplit(url)`, remembered: the Web API's few method URLs come back all the time."""
    return urlsplit(url)


#: `type/subtype` and an optional plain `charset` parameter: how Slack labels its answers.
_SIMPLE_CONTENT_TYPE = re.compile(
    r"([!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+)"
    r"(?:[ \t]*;[ \t]*charset=([0-9A-Za-z._:-]+))?[ \t]*")


def content_type(headers: Message) -> tuple[str, str | None]:
    """(`headers.get_content_type()`, `headers.get_content_charset()`): a plain
    `type/subtype[; charset=x]` read at once, anything else by the email package."""
    value = headers.get("content-type")
    if isinstance(value, str):
        m = _SIMPLE_CONTENT_TYPE.fullmatch(value)
        if m is not None:
            charset = m.group(2)
            return m.group(1).lower(), charset.lower() if charset is not None else None
    return headers.get_content_type(), headers.get_content_charset()


class KeptConnections:
    """HTTP/1.1 connections kept open and reused: one per thread, scheme and host:port (a
    thread's requests to one host go one after another on its connection). The one
    transport under `KeepAliveWebClient` (the Web API) and `KeepAliveWebhookClient` (posts
    to a response_url); `ssl` is the context of every https connection.

    `send` answers as `urllib.request.urlopen` would for slack_sdk's callers: an error while
    sending is a `URLError`; an answer other than 2xx raises `HTTPError` (a redirect too: it
    is never followed). A kept connection the server has closed meanwhile is noticed before
    it is used (it reads as ready while idle) and replaced, so no request is sent on it."""

    def __init__(self, ssl: SSLContext | None = None) -> None:
        self.ssl = ssl
        self._local = threading.local()

    def send(self, url: str, req: Request, *,
             timeout: float) -> tuple[http.client.HTTPResponse, bytes]:
        """POST/GET `req` to `url` (http or https) on this thread's connection to its host;
        the 2xx answer and its body."""
        parts = _split(url)
        conn = self._connection(parts, timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(req.get_method(), path or "/", body=req.data,
                         headers=dict(req.header_items()))
        except OSError as e:  # as urlopen reports it
            self._forget(parts)
            raise URLError(e) from e
        try:
            resp = conn.getresponse()
            body = resp.read()
        except BaseException:
            self._forget(parts)
            raise
        if resp.will_close:
            self._forget(parts)
        if not 200 <= resp.status < 300:  # urlopen's HTTPErrorProcessor (no redirects)
            raise HTTPError(url, resp.status, resp.reason, resp.headers, io.BytesIO(body))
        return resp, body

    def _connection(self, parts: SplitResult, timeout: float) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = \
            self._local.__dict__.setdefault("pool", {})
        key = (parts.scheme, parts.netloc)
        conn = pool.get(key)
        if conn is not None and not _dropped(conn):
            conn.timeout = timeout  # callers differ (Web API, response_url)
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn
        if conn is not None:
            conn.close()
        host, port = parts.hostname or "", parts.port
        if parts.scheme == "https":
            conn = _HTTPSConnection(host, port, timeout=timeout, context=self.ssl)
        else:
            conn = _HTTPConnection(host, port, timeout=timeout)
        pool[key] = conn
        return conn

    def _forget(self, parts: SplitResult) -> None:
        pool = self._local.__dict__.get("pool", {})
        conn = pool.pop((parts.scheme, parts.netloc), None)
        if conn is not None:
            conn.close()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether a kept connection cannot be used: readable while idle (the server closed it,
    or sent something unasked). One not opened yet can: `request` opens it."""
    sock = conn.sock
    if sock is None:
        return False  # not connected yet: request() connects
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _kept(url: str, proxy: str | None) -> bool:
    """Whether a request to `url` goes over `KeptConnections`: http(s) without a proxy (else
    slack_sdk's own transport, unchanged, takes it)."""
    return proxy is None and url.lower().startswith(("http://", "https://"))


class KeepAliveWebClient(WebClient):
    """A WebClient that keeps its HTTP connections open and reuses them (keep-alive): one
    per thread and host (`KeptConnections`). slack_sdk's own transport
    (`urllib.request.urlopen`) opens a new connection, TCP and TLS, for every call and
    closes it after the answer.

    Only the transport changes: the request slack_sdk builds is sent as it is; an answer
    other than 2xx raises `HTTPError` as urlopen does (slack_sdk's retry handlers and its
    429 handling see what they saw); errors while sending are `URLError`s as urlopen's.
    With a proxy configured slack_sdk's transport is used unchanged.

    `respond_to` makes Bolt's `respond` for a request: its posts to the response_url go
    over the same kept connections (per thread and host: hooks.slack.com has its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections = KeptConnections(self.ssl)

    def respond_to(self, response_url: str | None) -> Respond:
        """Bolt's `respond` for a request with this `response_url` (None: there is none;
        calling it then raises ValueError, as Bolt's does)."""
        return KeepAliveRespond(response_url=response_url, connections=self.connections,
                                proxy=self.proxy)

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if not _kept(url, self.proxy):
            return super()._perform_urllib_http_request_internal(url, req)
        resp, body = self.connections.send(url, req, timeout=self.timeout)
        kind, charset = content_type(resp.headers)
        if kind == "application/gzip":  # admin.analytics.getFile
            return {"status": resp.status, "headers": resp.headers, "body": body}
        return {"status": resp.status, "headers": resp.headers,
                "body": body.decode(charset or "utf-8")}


class KeepAliveWebhookClient(WebhookClient):
    """slack_sdk's WebhookClient (incoming webhooks, a request's response_url) posting over
    `connections`. Everything but the transport is WebhookClient's: the JSON body and its
    headers, the retry of a connection error, and an answer other than 2xx (a redirect too:
    never followed) returned as a WebhookResponse with its status, not raised."""

    def __init__(self, url: str, *, connections: KeptConnections, **kwargs: Any) -> None:
        super().__init__(url, ssl=connections.ssl, **kwargs)
        self.connections = connections

    def _perform_http_request_internal(self, url: str, req: Request) -> WebhookResponse:
        if not _kept(url, self.proxy):
            return super()._perform_http_request_internal(url, req)  # type: ignore[no-any-return]
        resp, body = self.connections.send(url, req, timeout=self.timeout)
        charset = content_type(resp.headers)[1] or "utf-8"
        return WebhookResponse(url=url, status_code=resp.status, body=body.decode(charset),
                               headers=resp.headers)  # type: ignore[arg-type]  # as slack_sdk


class KeepAliveRespond(Respond):
    """Bolt's `respond` (slack_bolt.context.respond.Respond) posting through a
    `KeepAliveWebhookClient` instead of a new urllib WebhookClient per call: the same
    arguments, the same message (Bolt's own `_build_message`), the same answer (a
    WebhookResponse, whatever its status) and the same errors."""

    def __init__(self, *, response_url: str | None, connections: KeptConnections,
                 proxy: str | None = None) -> None:
        super().__init__(response_url=response_url, proxy=proxy, ssl=connections.ssl)
        self.connections = connections

    def __call__(  # Bolt's signature, argument for argument
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):  # a whole message
            message = _build_message(**text)
        elif isinstance(text, str):
            message = _build_message(
                text=text, blocks=blocks, attachments=attachments,
                response_type=response_type, replace_original=replace_original,
                delete_original=delete_original, unfurl_links=unfurl_links,
                unfurl_media=unfurl_media, thread_ts=thread_ts, metadata=metadata)
        else:
            raise ValueError(f"The arg is unexpected type ({type(text)})")
        client = KeepAliveWebhookClient(self.response_url, connections=self.connections,
                                        proxy=self.proxy)
        return client.send_dict(message)


class SdkLogger(logging.LoggerAdapter[logging.Logger]):
    """slack_sdk's own logger, whose `level` reads as its effective level. slack_sdk builds
    a debug line for every Web API call (the whole request, its blocks and all: ~12 µs for a
    card) whenever `logger.level <= DEBUG`, which a logger left at NOTSET (0: the default,
    following its parents) always is, and logging then drops it unless DEBUG is on. Read as
    the effective level, the line is built only when it is logged; what is logged, and
    where, is unchanged (the records are the logger's own)."""

    @property
    def level(self) -> int:
        return self.logger.getEffectiveLevel()


def make_client(token: str, base_url: str | None) -> WebClient:
    client = KeepAliveWebClient(
        token=token, base_url=base_url or WebClient.BASE_URL, timeout=10,
        logger=SdkLogger(logging.getLogger("slack_sdk.web.base_client")))
    client.retry_handlers.extend([ConnectionErrorRetryHandler(max_retry_count=2),
                                  RateLimitErrorRetryHandler(max_retry_count=2)])
    return client


def slack_call(fn: Any, **kw: Any) -> Any:
    """`fn(**kw)` (a WebClient method), with Slack's errors turned into deploybot's: the one
    place for it, shared by the other Slack backend modules (readiness, doctor)."""
    try:
        return fn(**kw)
    except SlackApiError as e:
        err = str(e.response.get("error", "unknown_error"))
        if err in _RETRYABLE or e.response.status_code >= 500:
            raise RetryableError(f"Slack API error {err}") from e
        raise PermanentError(f"Slack API error {err}") from e
    except SlackClientError as e:
        raise RetryableError(f"Slack API unreachable: {e}") from e
    except OSError as e:
        raise RetryableError(f"Slack API unreachable: {e}") from e


class SlackNotifier:
    def __init__(self, client: WebClient, *, channel: str, zone: ZoneInfo,
                 production: Production = frozenset({"production"}),
                 severity: Mapping[Outcome, Severity] = DEFAULT_SEVERITY,
                 mentions: Mapping[Severity, str] | None = None,
                 changes: Changes | None = None) -> None:
        """`production`, `severity` and `mentions` decide how loud a result is announced
        (app.yaml's environments.<name>.production, announcements.severity and .mentions);
        `changes` is told whenever a deployment's card is shown or an announcement posted
        (the App Home refresh)."""
        self._client = client
        self._channel = channel
        self._zone = zone
        self._production = production
        self._severity = severity
        self._mentions = dict(mentions or {})
        self._changes = changes
        self._watchers: list[DeploymentWatcher] = []
        self._checklists: ChecklistCards | None = None
        # Serialize edits of one deployment's messages so an older state never lands last.
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, deployment_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(deployment_id, threading.Lock())

    def show(self, d: Deployment) -> MessageRefs:
        """Called whenever a deployment changes: its card, and `changes` (even when Slack
        refused the card, the deployment changed), and the `watcher`."""
        refs: MessageRefs | None = None
        try:
            refs = self._show_card(d)
            return refs
        finally:
            self._changed()
            for watcher in self._watchers:
                watcher.deployment_changed(d, refs)

    def watch(self, watcher: DeploymentWatcher) -> None:
        """Hand `watcher` too each deployment shown from now on (the GitHub deployments
        mirror, the alert router: built after the notifier)."""
        self._watchers.append(watcher)

    def show_checklists(self, checklists: ChecklistCards) -> None:
        """Show each card's pre-deployment checklist from `checklists` (built after the
        notifier)."""
        self._checklists = checklists

    def permalink(self, channel: str, ts: str) -> str | None:
        """The permalink of a message (a deployment's thread); None when Slack will not say."""
        try:
            res = slack_call(self._client.chat_getPermalink, channel=channel, message_ts=ts)
        except (RetryableError, PermanentError):
            return None
        return str(res["permalink"])

    def _show_card(self, d: Deployment) -> MessageRefs:
        card = blocks.deployment_card(d, self._zone)
        checklist = self._checklists.card_checklist(d) if self._checklists else None
        if checklist is not None:
            card = with_checklist(card, d, checklist)
        record = blocks.deployment_record(d, self._zone, checklist)
        with self._lock_for(d.id):
            if d.channel and d.message_ts:
                slack_call(self._client.chat_update, channel=d.channel, ts=d.message_ts,
                      text=card.text, blocks=card.blocks)
                if d.record_ts:
                    slack_call(self._client.chat_update, channel=d.channel, ts=d.record_ts,
                          text=record.text, blocks=record.blocks)
                return MessageRefs(d.channel, d.message_ts, d.record_ts)
            posted = slack_call(self._client.chat_postMessage, channel=self._channel,
                           text=card.text, blocks=card.blocks, unfurl_links=False)
            channel, ts = str(posted["channel"]), str(posted["ts"])
            try:
                rec = slack_call(self._client.chat_postMessage, channel=channel, thread_ts=ts,
                            text=record.text, blocks=record.blocks, unfurl_links=False)
            except (RetryableError, PermanentError):
                # Both or neither: the caller cancels the request, so leave no card with
                # live Approve buttons behind.
                with contextlib.suppress(RetryableError, PermanentError):
                    slack_call(self._client.chat_delete, channel=channel, ts=ts)
                raise
            return MessageRefs(channel, ts, str(rec["ts"]))

    def _permalink(self, d: Deployment) -> str | None:
        if not (d.channel and d.message_ts):
            return None
        try:
            res = slack_call(self._client.chat_getPermalink, channel=d.channel,
                        message_ts=d.message_ts)
        except (RetryableError, PermanentError):
            return None
        return str(res["permalink"])

    def announce(self, d: Deployment) -> None:
        level = severity_of(d, production=self._production, mapping=self._severity)
        msg = blocks.announcement(d, self._zone, self._permalink(d), severity=level,
                                  mention=self._mentions.get(level))
        slack_call(self._client.chat_postMessage, channel=d.channel or self._channel,
              text=msg.text, blocks=msg.blocks, unfurl_links=False)

    def notify_requester(self, d: Deployment) -> None:
        if not is_slack_user(d.requested_by):  # e.g. "deploybot (github)": nobody to DM
            return
        msg = blocks.requester_note(d, self._zone, self._permalink(d))
        slack_call(self._client.chat_postMessage, channel=d.requested_by, text=msg.text,
              blocks=msg.blocks, unfurl_links=False)


    def alert(self, d: Deployment, overrides: Sequence[str]) -> None:
        msg = blocks.emergency_alert(d, list(overrides), self._zone)
        slack_call(self._client.chat_postMessage, channel=d.channel or self._channel,
              text=msg.text, blocks=msg.blocks, unfurl_links=False)

    def prompt_requester(self, d: Deployment) -> None:
        msg = blocks.window_open_prompt(d, self._zone)
        slack_call(self._client.chat_postMessage, channel=d.requested_by, text=msg.text,
              blocks=msg.blocks, unfurl_links=False)

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """The HomeTab port: views.publish of the user's App Home tab."""
        slack_call(self._client.views_publish, user_id=user_id, view=view)

    def direct_message(self, user_id: str, text: str,
                       blocks: Sequence[dict[str, Any]] | None = None) -> None:
        """The DirectMessages port: a message in the user's DM with the bot."""
        slack_call(self._client.chat_postMessage, channel=user_id, text=text,
              blocks=list(blocks) if blocks else None, unfurl_links=False)

    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        """The Poster port: a plain announcement in the deployments channel. Freezes and
        locks are announced after each change (added, removed, taken, released, expired,
        starting, ending), so `changes` is told here too."""
        msg = blocks.notice(text)
        try:
            res = slack_call(self._client.chat_postMessage, channel=channel or self._channel,
                        text=msg.text, blocks=msg.blocks, unfurl_links=False)
        finally:
            self._changed()
        return str(res["channel"]), str(res["ts"])

    def _changed(self) -> None:
        if self._changes is not None:
            self._changes.changed()


class SlackDirectory:
    """User-group membership, cached for `ttl` seconds."""

    def __init__(self, client: WebClient, *, ttl: float = 300.0) -> None:
        self._client = client
        self._ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def group_members(self, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(group_id)
            if hit and now - hit[0] < self._ttl:
                return hit[1]
        res = slack_call(self._client.usergroups_users_list, usergroup=group_id)
        members = frozenset(str(u) for u in res.get("users", []))
        with self._lock:
            self._cache[group_id] = (now, members)
        return members
