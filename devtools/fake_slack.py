"""A local fake of the Slack Web API for tests, the benchmark and the local shell.

This module owns :class:`FakeSlack`, a tiny stdlib HTTP server (``ThreadingHTTPServer`` on
127.0.0.1, in a daemon thread) that answers Slack Web API calls such as ``chat.postMessage``
with plausible responses, and posts to Slack ``response_url`` endpoints.  Every request is
recorded as a :class:`Call` so tests can assert on what the bot sent; ``wait_for`` blocks on a
condition variable until expected calls arrive, ``fail_next`` injects Slack errors and
``messages`` reconstructs the current state of posted (and updated) messages.
``views.publish`` refuses a view Slack would refuse (``view_problems``: block count, text
lengths, duplicate block ids) and keeps each user's App Home view (``home_view``);
``views.open`` / ``views.update`` open and change modals, exchanging the trigger ids the
fake issued (``issue_trigger``, ``expire_triggers``, ``open_views``:
devtools/fake_slack_views.py).
Every Web API answer carries the token's scopes in ``X-OAuth-Scopes`` (``set_scopes``), and
``conversations.info`` / ``conversations.list`` know the channels given to ``set_channel``
(whether the bot is a member). File uploads go in Slack's three steps
(``files.getUploadURLExternal``, the bytes to the upload URL, ``files.completeUploadExternal``:
devtools/fake_slack_files.py); ``uploaded_files`` hands tests what was shared.

Point ``slack_sdk.WebClient(base_url=fake.base_url)`` at it and use ``fake.response_url(key)``
as the ``response_url`` of a slash command or block action.  Stdlib only on purpose.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devtools.fake_slack_files import UPLOAD_PATH, FileUploads, UploadedFile
from devtools.fake_slack_views import FakeViews, OpenView
from devtools.httpbits import DispatchHandler, Reply, StartStop, TrackingServer

__all__ = ["RESPONSE_URL_METHOD", "UPLOAD_METHOD", "Call", "FakeSlack", "OpenView",
           "UploadedFile", "view_problems"]

#: ``Call.method`` used for posts to a ``response_url`` (``/response/<key>``).
RESPONSE_URL_METHOD = "response_url"
#: ``Call.method`` used for posts of a file's bytes to its upload URL (``key``: the file id).
UPLOAD_METHOD = "file_upload"

TEAM_ID = "T0001"
TEAM_NAME = "Deploybot Test"
TEAM_URL = "https://example.slack.com/"
BOT_USER_ID = "UBOT"
BOT_USER_NAME = "deploybot"
BOT_ID = "B0001"

# Arguments that slack_sdk JSON-encodes into a string when it sends a form body.
_JSON_STRING_ARGS = frozenset({"blocks", "attachments", "view"})
_TS_BASE_SECONDS = 1_700_000_000
#: The bot token scopes the fake says it has (``X-OAuth-Scopes``) unless told otherwise.
DEFAULT_SCOPES = ("channels:read", "chat:write", "commands", "groups:read", "usergroups:read")


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


@dataclass
class _Failure:
    error: str
    status: int


def _json_reply(payload: dict[str, Any], status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8")


class _Server(TrackingServer):
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(DispatchHandler):
    server_version = "FakeSlack/1.0"
    server: _Server

    def _handle(self) -> None:
        try:
            body = self._read_body()
            reply = self.server.fake._dispatch(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        except Exception:  # pragma: no cover - a bug in the fake itself
            traceback.print_exc(file=sys.stderr)
            reply = _json_reply({"ok": False, "error": "fake_slack_internal_error"}, 500)
        self.send_reply(reply)


def _parse_args(query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
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


def _bearer_token(headers: dict[str, str], args: dict[str, Any]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    token = args.get("token")
    return token if isinstance(token, str) and token else None


def _first_user(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    if isinstance(value, str) and value:
        return value.split(",", 1)[0].strip() or None
    return None


class FakeSlack(StartStop):
    """A fake Slack Web API server recording every call.

    Use as a context manager (``with FakeSlack() as fake:``) or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        *,
        usergroups: dict[str, list[str]] | None = None,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, list[str]] = {
            group: list(users) for group, users in (usergroups or {}).items()
        }
        self._on_call = on_call
        self._scopes: tuple[str, ...] = DEFAULT_SCOPES
        self._channels: dict[str, dict[str, Any]] = {}
        self._uploads = FileUploads()
        self._views = FakeViews(team_id=TEAM_ID, bot_id=BOT_ID, app_id="A0DEPLOYBOT",
                                check=view_problems)
        self._ts_counter = 0
        self._key_counter = 0
        self._server: _Server | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread. Idempotent."""
        if self._server is not None:
            return self
        server = _Server(self)
        self._server = server
        server.serve_in_thread(f"FakeSlack:{server.server_address[1]}")
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and any kept-alive connections."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Web API base URL for ``WebClient(base_url=...)``; ends with ``/api/``."""
        return f"{self.root_url}/api/"

    def response_url(self, key: str) -> str:
        """A URL usable as a Slack ``response_url``; posts to it are recorded with ``key``."""
        return f"{self.root_url}/response/{key}"

    def new_response_key(self, prefix: str = "r") -> str:
        """A response-url key unique within this fake (``"r1"``, ``"r2"``, ...)."""
        with self._cond:
            self._key_counter += 1
            return f"{prefix}{self._key_counter}"

    # ------------------------------------------------------------------ configuration

    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        """Set the members returned by ``usergroups.users.list`` for ``group_id``."""
        with self._cond:
            self._usergroups[group_id] = list(users)

    def set_scopes(self, scopes: list[str] | tuple[str, ...] | frozenset[str]) -> None:
        """The scopes every Web API answer lists in ``X-OAuth-Scopes`` (as Slack does)."""
        with self._cond:
            self._scopes = tuple(sorted(scopes))

    def set_channel(self, channel_id: str, name: str, *, member: bool = True,
                    private: bool = False) -> None:
        """A channel for ``conversations.info`` / ``conversations.list``; ``member``: the bot
        is in it (a private channel the bot is not in is listed by neither, as in Slack)."""
        with self._cond:
            self._channels[channel_id] = {"id": channel_id, "name": name, "is_channel": True,
                                          "is_private": private, "is_member": member,
                                          "is_archived": False}

    def fail_next(
        self, method: str, error: str = "internal_error", status: int = 200, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``{"ok": false, "error": ...}``.

        ``status`` is the HTTP status; 429 also sends ``Retry-After: 1``.  ``method`` may be
        ``"response_url"`` to fail response-url posts (the body is then the plain error text).
        """
        with self._cond:
            queue = self._failures.setdefault(method, deque())
            for _ in range(times):
                queue.append(_Failure(error=error, status=status))

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls in arrival order, optionally only those of ``method``."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget recorded calls (message state, usergroups and pending failures are kept)."""
        with self._cond:
            self._calls.clear()

    def reset(self) -> None:
        """Forget recorded calls, message state, uploaded files and pending failures."""
        with self._cond:
            self._calls.clear()
            self._messages.clear()
            self._home_views.clear()
            self._views.reset()
            self._failures.clear()
            self._uploads.files.clear()

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until at least ``count`` calls of ``method`` (matching ``predicate``) exist.

        Returns all matching calls; raises ``AssertionError`` listing the recorded calls if they
        do not arrive within ``timeout`` seconds.
        """

        def matching() -> list[Call]:
            return [
                c for c in self._calls if c.method == method and (predicate is None or predicate(c))
            ]

        with self._cond:
            found: list[Call] = []

            def enough() -> bool:
                nonlocal found
                found = matching()
                return len(found) >= count

            if self._cond.wait_for(enough, timeout=timeout):
                return found
            recorded = list(self._calls)
        listing = "\n".join(f"  {i}. {_describe(c)}" for i, c in enumerate(recorded, 1))
        raise AssertionError(
            f"timed out after {timeout:.2f}s waiting for {count} {method!r} call(s)"
            f"{' matching predicate' if predicate else ''}; got {len(found)}.\n"
            f"Recorded calls ({len(recorded)}):\n{listing or '  (none)'}"
        )

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Current state of posted messages (``chat.update`` applied), in post order.

        Each dict has keys ``channel``, ``ts``, ``thread_ts``, ``text`` and ``blocks``.
        """
        with self._cond:
            return [
                dict(m)
                for m in self._messages.values()
                if channel is None or m["channel"] == channel
            ]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user_id`` (``views.publish``), if any."""
        with self._cond:
            view = self._home_views.get(user_id)
            return dict(view) if view is not None else None

    def issue_trigger(self, trigger_id: str, user_id: str | None = None) -> None:
        """``trigger_id`` was sent to the app with an interaction of ``user_id``: views.open
        may exchange it (once, within 3 seconds)."""
        with self._cond:
            self._views.issue(trigger_id, user_id)

    def expire_triggers(self) -> None:
        """Every trigger issued so far has expired: views.open answers expired_trigger_id."""
        with self._cond:
            self._views.expire_all()

    def open_views(self) -> list[OpenView]:
        """The modals opened with views.open (their latest views.update), oldest first."""
        with self._cond:
            return self._views.opened()

    def uploaded_files(self, channel: str | None = None) -> list[UploadedFile]:
        """Files shared with ``files.completeUploadExternal`` (in ``channel``), in order."""
        with self._cond:
            return [f for f in self._uploads.files.values() if f.completed
                    and (channel is None or f.channel == channel)]

    def set_max_file_bytes(self, max_bytes: int) -> None:
        """The largest file the workspace takes (``files.getUploadURLExternal``)."""
        with self._cond:
            self._uploads.max_bytes = max_bytes

    def response_posts(self, key: str) -> list[Call]:
        """Recorded posts to ``response_url(key)``."""
        return [c for c in self.calls(RESPONSE_URL_METHOD) if c.key == key]

    # ------------------------------------------------------------------ request handling

    def _next_ts(self) -> str:
        # Caller holds the lock.
        self._ts_counter += 1
        n = 99 + self._ts_counter
        return f"{_TS_BASE_SECONDS + n // 1_000_000}.{n % 1_000_000:06d}"

    def _dispatch(self, *, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        route = parts.path
        if route.startswith(UPLOAD_PATH):
            args: dict[str, Any] = {}
        else:
            args = _parse_args(parts.query, headers, body)
        token = _bearer_token(headers, args)
        if route.startswith("/api/") and len(route) > len("/api/"):
            method, key = unquote(route[len("/api/") :]), None
        elif route.startswith("/response/") and len(route) > len("/response/"):
            method, key = RESPONSE_URL_METHOD, unquote(route[len("/response/") :])
        elif route.startswith(UPLOAD_PATH) and len(route) > len(UPLOAD_PATH):
            return self._upload(unquote(route[len(UPLOAD_PATH):]), headers, body)
        else:
            return _json_reply({"ok": False, "error": "unknown_route"}, 404)

        call = Call(method=method, args=args, key=key, token=token)
        with self._cond:
            self._calls.append(call)
            reply = self._respond(call)
            self._cond.notify_all()
        if self._on_call is not None:
            try:
                self._on_call(call)
            except Exception:
                traceback.print_exc(file=sys.stderr)
        return reply

    def _upload(self, file_id: str, headers: dict[str, str], body: bytes) -> Reply:
        """Step 2 of a file upload: the bytes, raw or multipart (devtools/fake_slack_files)."""
        call = Call(method=UPLOAD_METHOD, args={"bytes": len(body)}, key=file_id)
        with self._cond:
            self._calls.append(call)
            queue = self._failures.get(UPLOAD_METHOD)
            if queue:
                failure = queue.popleft()
                status, text = failure.status, failure.error.encode()
            else:
                status, text = self._uploads.receive(file_id, body,
                                                     headers.get("content-type", ""))
            self._cond.notify_all()
        return Reply(status, text, "text/plain; charset=utf-8")

    def _respond(self, call: Call) -> Reply:
        # Caller holds the lock.
        queue = self._failures.get(call.method)
        if queue:
            failure = queue.popleft()
            headers = {"Retry-After": "1"} if failure.status == 429 else {}
            if call.method == RESPONSE_URL_METHOD:
                return Reply(
                    failure.status, failure.error.encode(), "text/plain; charset=utf-8", headers
                )
            reply = _json_reply({"ok": False, "error": failure.error}, failure.status)
            reply.headers.update(headers)
            return reply
        if call.method == RESPONSE_URL_METHOD:
            return Reply(200, b"ok", "text/plain; charset=utf-8")
        handler = _METHODS.get(call.method)
        payload = handler(self, call.args) if handler else {"ok": True}
        reply = _json_reply(payload)
        reply.headers["X-OAuth-Scopes"] = ",".join(self._scopes)
        return reply

    # Web API method implementations; all run with the lock held.

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel[0] in ("U", "W"):
            channel = "D" + channel
        ts = self._next_ts()
        thread_ts = args.get("thread_ts") or None
        text = args.get("text")
        blocks = args.get("blocks")
        self._messages[(channel, ts)] = {
            "channel": channel,
            "ts": ts,
            "thread_ts": thread_ts,
            "text": text,
            "blocks": blocks,
        }
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": text if text is not None else "",
            "blocks": blocks if blocks is not None else [],
            "ts": ts,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("ts") or "")
        existing = self._messages.get((channel, ts))
        text = args.get("text")
        if existing is not None:
            if "text" in args:
                existing["text"] = text
            if "blocks" in args:
                existing["blocks"] = args.get("blocks")
            text = existing["text"]
        return {"ok": True, "channel": channel, "ts": ts, "text": text if text is not None else ""}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("ts") or "")
        if self._messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("message_ts") or args.get("ts") or "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._uploads.get_upload_url(args, self.root_url)

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        def member(channel: str) -> bool:  # unknown channels: as if the bot were in them
            info = self._channels.get(channel)
            return info is None or bool(info["is_member"])

        def post(channel: str, thread_ts: str | None, text: Any, file_ids: list[str]) -> str:
            ts = self._next_ts()
            self._messages[(channel, ts)] = {"channel": channel, "ts": ts,
                                             "thread_ts": thread_ts, "text": text,
                                             "blocks": None, "files": file_ids}
            return ts

        return self._uploads.complete(args, member=member, post=post)

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": str(args["channel"])}}
        user = _first_user(args.get("users"))
        if user is None:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + user}}

    def _visible(self, info: dict[str, Any]) -> bool:
        return bool(info["is_member"] or not info["is_private"])

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        info = self._channels.get(str(args.get("channel") or ""))
        if info is None or not self._visible(info):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": dict(info)}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = str(args.get("types") or "public_channel").split(",")
        wanted = [c for c in self._channels.values() if self._visible(c)
                  and ("private_channel" if c["is_private"] else "public_channel") in types]
        return {"ok": True, "channels": [dict(c) for c in wanted],
                "response_metadata": {"next_cursor": ""}}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        users = self._usergroups.get(group)
        if users is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(users)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        user_id = str(args.get("user_id") or "")
        problems = ["user_id is required"] if not user_id else []
        problems += view_problems(view)
        if problems:  # as Slack answers a view it will not take
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]}}
        assert isinstance(view, dict)
        previous = self._home_views.get(user_id)
        view_id = previous["id"] if previous else f"V{len(self._home_views) + 1}"
        published: dict[str, Any] = dict(view)
        published.update({"id": view_id, "team_id": TEAM_ID, "bot_id": BOT_ID,
                          "app_id": "A0DEPLOYBOT", "hash": f"{time.time():.6f}",
                          "state": {"values": {}}})
        self._home_views[user_id] = published
        return {"ok": True, "view": published}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        name = user_id.lower()
        real_name = f"User {user_id}"
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name,
                "tz": "America/New_York",
                "is_bot": False,
                "deleted": False,
                "profile": {"real_name": real_name, "display_name": name},
            },
        }


def view_problems(view: Any) -> list[str]:
    """What Slack would refuse in a published view: its type, more than 100 blocks, texts
    over their limits (3000 for sections and context, 150 for headers, 75 for buttons),
    more than 25 elements in an actions block, and block ids used twice."""
    if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
        return ["view must be an object with a type of home or modal"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["view.blocks must be a list"]
    problems: list[str] = []
    if len(blocks) > 100:
        problems.append(f"no more than 100 items allowed [json-pointer:/view/blocks] "
                        f"(got {len(blocks)})")
    seen: set[str] = set()

    def text_of(node: Any) -> str:
        return str(node.get("text", "")) if isinstance(node, dict) else ""

    for i, block in enumerate(blocks):
        where = f"[json-pointer:/view/blocks/{i}]"
        if not isinstance(block, dict):
            problems.append(f"block must be an object {where}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                problems.append(f"duplicate block_id {block_id!r} {where}")
            seen.add(str(block_id))
        kind = block.get("type")
        limit = {"section": 3000, "header": 150}.get(str(kind))
        if limit is not None and len(text_of(block.get("text"))) > limit:
            problems.append(f"must be less than {limit + 1} characters {where}/text")
        for j, element in enumerate(block.get("elements") or []):
            if kind == "context" and len(text_of(element)) > 3000:
                problems.append(f"must be less than 3001 characters {where}/elements/{j}")
            if isinstance(element, dict) and element.get("type") == "button" \
                    and len(text_of(element.get("text"))) > 75:
                problems.append(f"must be less than 76 characters {where}/elements/{j}/text")
        if kind == "actions" and len(block.get("elements") or []) > 25:
            problems.append(f"no more than 25 items allowed {where}/elements")
        if kind == "context" and len(block.get("elements") or []) > 10:
            problems.append(f"no more than 10 items allowed {where}/elements")
    return problems


def _describe(call: Call) -> str:
    args = json.dumps(call.args, default=str, sort_keys=True)
    if len(args) > 300:
        args = args[:297] + "..."
    where = f" key={call.key}" if call.key is not None else ""
    return f"{call.method}{where} {args}"


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack._auth_test,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.update": FakeSlack._chat_update,
    "chat.delete": FakeSlack._chat_delete,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.getPermalink": FakeSlack._chat_get_permalink,
    "files.getUploadURLExternal": FakeSlack._files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack._files_complete_upload_external,
    "conversations.open": FakeSlack._conversations_open,
    "conversations.info": FakeSlack._conversations_info,
    "conversations.list": FakeSlack._conversations_list,
    "usergroups.users.list": FakeSlack._usergroups_users_list,
    "views.publish": FakeSlack._views_publish,
    "views.open": lambda fake, args: fake._views.open(args),
    "views.update": lambda fake, args: fake._views.update(args),
    "users.info": FakeSlack._users_info,
}
