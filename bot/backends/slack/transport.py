"""The kept-alive HTTP transport under slack_sdk: `KeptConnections` (HTTP/1.1 connections
kept open and reused, one per thread and host), `KeepAliveWebClient` (a WebClient sending the
Web API calls over them), `KeepAliveWebhookClient` and `KeepAliveRespond` (Bolt's `respond`,
a request's response_url, over them too). Only the transport differs from slack_sdk's: the
same requests, the same answers and errors as `urllib.request.urlopen` gives."""

from __future__ import annotations

import functools
import http.client
import io
import re
import select
import threading
from collections.abc import Sequence
from email.message import Message
from ssl import SSLContext
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import SplitResult, urlsplit
from urllib.request import Request

from slack_bolt import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk import WebClient
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookClient, WebhookResponse


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

