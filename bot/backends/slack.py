"""Slack Web API backend: implements the Notifier and Directory ports with slack_sdk, over
HTTP connections kept open and reused (`KeepAliveWebClient`)."""

from __future__ import annotations

import contextlib
import http.client
import io
import select
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import SplitResult, urlsplit
from urllib.request import Request
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.domain.deployment import Deployment
from bot.domain.severity import DEFAULT_SEVERITY, Outcome, Production, Severity, severity_of
from bot.domain.text import is_slack_user
from bot.errors import PermanentError, RetryableError
from bot.ports import Changes, ChecklistCards, DeploymentWatcher, MessageRefs
from bot.presentation import blocks
from bot.presentation.checklist_views import with_checklist

_RETRYABLE = {"ratelimited", "internal_error", "service_unavailable", "request_timeout",
              "fatal_error"}


class KeepAliveWebClient(WebClient):
    """A WebClient that keeps its HTTP connections open and reuses them (keep-alive): one
    per thread and host. slack_sdk's own transport (`urllib.request.urlopen`) opens a new
    connection, TCP and TLS, for every call and closes it after the answer.

    Only the transport changes: the request slack_sdk builds is sent as it is; an answer
    other than 2xx raises `HTTPError` as urlopen does (slack_sdk's retry handlers and its
    429 handling see what they saw); errors while sending are `URLError`s as urlopen's. A
    kept connection the server has closed meanwhile is noticed before it is used (it reads
    as ready while idle) and replaced, so no request is sent on it. With a proxy configured
    slack_sdk's transport is used unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def _connection(self, parts: SplitResult) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = \
            self._local.__dict__.setdefault("pool", {})
        key = (parts.scheme, parts.netloc)
        conn = pool.get(key)
        if conn is not None and not _dropped(conn):
            return conn
        if conn is not None:
            conn.close()
        host, port = parts.hostname or "", parts.port
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout,
                                               context=self.ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        pool[key] = conn
        return conn

    def _forget(self, parts: SplitResult) -> None:
        pool = self._local.__dict__.get("pool", {})
        conn = pool.pop((parts.scheme, parts.netloc), None)
        if conn is not None:
            conn.close()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        conn = self._connection(parts)
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
        if not 200 <= resp.status < 300:  # urlopen's HTTPErrorProcessor
            raise HTTPError(url, resp.status, resp.reason, resp.headers, io.BytesIO(body))
        if resp.headers.get_content_type() == "application/gzip":  # admin.analytics.getFile
            return {"status": resp.status, "headers": resp.headers, "body": body}
        charset = resp.headers.get_content_charset() or "utf-8"
        return {"status": resp.status, "headers": resp.headers, "body": body.decode(charset)}


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether a kept connection cannot be used: never opened, or readable while idle (the
    server closed it, or sent something unasked)."""
    sock = conn.sock
    if sock is None:
        return False  # not connected yet: request() connects
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def make_client(token: str, base_url: str | None) -> WebClient:
    client = KeepAliveWebClient(token=token, base_url=base_url or WebClient.BASE_URL,
                                timeout=10)
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
