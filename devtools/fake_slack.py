"""A local fake of the Slack Web API for tests, the benchmark and the local shell.

This module owns :class:`FakeSlack`, a tiny stdlib HTTP server (``ThreadingHTTPServer`` on
127.0.0.1, in a daemon thread) that answers Slack Web API calls such as ``chat.postMessage``
with plausible responses, and posts to Slack ``response_url`` endpoints: its lifecycle, what
tests configure and inspect, and the dispatch of each request to the part that answers it.
Every request is recorded as a :class:`Call` so tests can assert on what the bot sent;
``wait_for`` blocks on a condition variable until expected calls arrive, ``fail_next``
injects Slack errors and ``messages`` reconstructs the current state of posted (and updated)
messages.  Every Web API answer carries the token's scopes in ``X-OAuth-Scopes``
(``set_scopes``).

The parts, each holding its own state under FakeSlack's lock and registered in ``_METHODS``:

- devtools/fake_slack_http.py: the server and request handler, reading a request's
  arguments and token, :class:`Call`;
- devtools/fake_slack_blocks.py: what Slack refuses in Block Kit (every message and view);
- devtools/fake_slack_messages.py: ``chat.postMessage``, ``chat.update``, ``chat.delete``,
  ``chat.postEphemeral``, ``chat.getPermalink``, and posts to a response_url;
- devtools/fake_slack_workspace.py: ``auth.test``, ``users.info``, ``usergroups.users.list``
  (``set_usergroup``), ``conversations.open`` / ``.info`` / ``.list`` (the channels given
  to ``set_channel``, whether the bot is a member);
- devtools/fake_slack_home.py: ``views.publish``, which refuses a view Slack would refuse
  (``view_problems``) and keeps each user's App Home view (``home_view``);
- devtools/fake_slack_views.py: ``views.open`` / ``views.update`` open and change modals,
  exchanging the trigger ids the fake issued (``issue_trigger``, ``expire_triggers``,
  ``open_views``);
- devtools/fake_slack_files.py: file uploads in Slack's three steps
  (``files.getUploadURLExternal``, the bytes to the upload URL,
  ``files.completeUploadExternal``); ``uploaded_files`` hands tests what was shared.

Point ``slack_sdk.WebClient(base_url=fake.base_url)`` at it and use ``fake.response_url(key)``
as the ``response_url`` of a slash command or block action (posts to it are recorded as
``response_url`` calls and answered ``ok``).  Every message or view Slack would refuse, or
post cut, is kept in ``refusals()``: tests/conftest.py's fake and the shell fail on any.
Stdlib only on purpose.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from devtools.fake_slack_files import UPLOAD_PATH, FileUploads, UploadedFile
from devtools.fake_slack_home import FakeHome, view_problems
from devtools.fake_slack_http import (
    RESPONSE_URL_METHOD,
    UPLOAD_METHOD,
    Call,
    Failure,
    Refusal,
    SlackServer,
    bearer_token,
    describe,
    json_reply,
    parse_args,
    refusal_in,
)
from devtools.fake_slack_messages import FakeMessages, response_post
from devtools.fake_slack_views import FakeViews, OpenView
from devtools.fake_slack_workspace import (
    BOT_ID,
    BOT_USER_ID,
    BOT_USER_NAME,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
    FakeWorkspace,
)
from devtools.httpbits import Reply, StartStop

__all__ = ["BOT_ID", "BOT_USER_ID", "BOT_USER_NAME", "DEFAULT_SCOPES", "RESPONSE_URL_METHOD",
           "TEAM_ID", "TEAM_NAME", "TEAM_URL", "UPLOAD_METHOD", "Call", "FakeSlack", "OpenView",
           "Refusal", "UploadedFile", "view_problems"]

#: The bot token scopes the fake says it has (``X-OAuth-Scopes``) unless told otherwise.
DEFAULT_SCOPES = ("channels:read", "chat:write", "commands", "groups:read", "usergroups:read")

#: devtools/fake_socket_mode.py answers apps.connections.open with it, by this name.
_json_reply = json_reply


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
        self._refusals: list[Refusal] = []
        self._failures: dict[str, deque[Failure]] = {}
        self._messages = FakeMessages()
        self._home = FakeHome()
        self._workspace = FakeWorkspace(usergroups)
        self._on_call = on_call
        self._scopes: tuple[str, ...] = DEFAULT_SCOPES
        self._uploads = FileUploads()
        self._views = FakeViews(team_id=TEAM_ID, bot_id=BOT_ID, app_id="A0DEPLOYBOT",
                                check=view_problems)
        self._key_counter = 0
        self._server: SlackServer | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread. Idempotent."""
        if self._server is not None:
            return self
        server = SlackServer(self._dispatch)
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
            self._workspace.set_usergroup(group_id, users)

    def set_scopes(self, scopes: list[str] | tuple[str, ...] | frozenset[str]) -> None:
        """The scopes every Web API answer lists in ``X-OAuth-Scopes`` (as Slack does)."""
        with self._cond:
            self._scopes = tuple(sorted(scopes))

    def set_channel(self, channel_id: str, name: str, *, member: bool = True,
                    private: bool = False) -> None:
        """A channel for ``conversations.info`` / ``conversations.list``; ``member``: the bot
        is in it (a private channel the bot is not in is listed by neither, as in Slack)."""
        with self._cond:
            self._workspace.set_channel(channel_id, name, member=member, private=private)

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
                queue.append(Failure(error=error, status=status))

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
            self._home.clear()
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
        listing = "\n".join(f"  {i}. {describe(c)}" for i, c in enumerate(recorded, 1))
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
            return self._messages.current(channel)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user_id`` (``views.publish``), if any."""
        with self._cond:
            return self._home.view(user_id)

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

    def refusals(self) -> list[Refusal]:
        """Every message and view Slack would have refused (or posted cut), in order; kept
        by ``reset`` and ``clear`` alike, so a test cannot lose one by accident."""
        with self._cond:
            return list(self._refusals)

    def response_posts(self, key: str) -> list[Call]:
        """Recorded posts to ``response_url(key)``."""
        return [c for c in self.calls(RESPONSE_URL_METHOD) if c.key == key]

    # ------------------------------------------------------------------ request handling

    def _dispatch(self, *, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        route = parts.path
        if route.startswith(UPLOAD_PATH):
            args: dict[str, Any] = {}
        else:
            args = parse_args(parts.query, headers, body)
        token = bearer_token(headers, args)
        if route.startswith("/api/") and len(route) > len("/api/"):
            method, key = unquote(route[len("/api/") :]), None
        elif route.startswith("/response/") and len(route) > len("/response/"):
            method, key = RESPONSE_URL_METHOD, unquote(route[len("/response/") :])
        elif route.startswith(UPLOAD_PATH) and len(route) > len(UPLOAD_PATH):
            return self._upload(unquote(route[len(UPLOAD_PATH):]), headers, body)
        else:
            return json_reply({"ok": False, "error": "unknown_route"}, 404)

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
            reply = json_reply({"ok": False, "error": failure.error}, failure.status)
            reply.headers.update(headers)
            return reply
        if call.method == RESPONSE_URL_METHOD:
            reply, refused = response_post(call)
        else:
            handler = _METHODS.get(call.method)
            payload = handler(self, call.args) if handler else {"ok": True}
            refused = refusal_in(call, payload)
            reply = json_reply(payload)
            reply.headers["X-OAuth-Scopes"] = ",".join(self._scopes)
        if refused is not None:
            self._refusals.append(refused)
        return reply

    # Web API methods that take more than one part; all run with the lock held.

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._uploads.get_upload_url(args, self.root_url)

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._uploads.complete(args, member=self._workspace.is_member,
                                      post=self._messages.post_file)


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": lambda fake, args: fake._workspace.auth_test(args),
    "chat.postMessage": lambda fake, args: fake._messages.post_message(args),
    "chat.update": lambda fake, args: fake._messages.update(args),
    "chat.delete": lambda fake, args: fake._messages.delete(args),
    "chat.postEphemeral": lambda fake, args: fake._messages.post_ephemeral(args),
    "chat.getPermalink": lambda fake, args: fake._messages.get_permalink(args),
    "files.getUploadURLExternal": FakeSlack._files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack._files_complete_upload_external,
    "conversations.open": lambda fake, args: fake._workspace.conversations_open(args),
    "conversations.info": lambda fake, args: fake._workspace.conversations_info(args),
    "conversations.list": lambda fake, args: fake._workspace.conversations_list(args),
    "usergroups.users.list": lambda fake, args: fake._workspace.usergroups_users_list(args),
    "views.publish": lambda fake, args: fake._home.publish(args),
    "views.open": lambda fake, args: fake._views.open(args),
    "views.update": lambda fake, args: fake._views.update(args),
    "users.info": lambda fake, args: fake._workspace.users_info(args),
}
