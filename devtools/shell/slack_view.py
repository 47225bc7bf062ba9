"""What people would see in Slack, as lines (`SlackView`): of each Web API call the fake
Slack reports (a new message, an edit showing only the lines it changed, a response_url
answer, an ephemeral reply, a shared file's first lines) and of the bot's ack of a request
(`ack_lines`: its text, a refused form's messages under their fields, dispatch failures);
and a channel's messages whole, threads under them (`channel_lines`, the shell's `messages`).

It keeps the messages already shown (for threading and to show only what an edit changed)
and whose click each response_url answers. Not thread-safe on its own: the shell holds its
lock around `lines_for` (devtools.shell.session).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltResponse

from devtools.fake_slack import RESPONSE_URL_METHOD, Call, FakeSlack
from devtools.shell.ephemeral import Ephemerals
from devtools.shell.render import channel_label, mrkdwn_to_text, render_text, with_prefix

# Web API methods the bot calls that people never see.
_SILENT_METHODS = frozenset({
    "auth.test", "chat.getPermalink", "conversations.open", "usergroups.users.list",
    "users.info", "files.getUploadURLExternal",
    "views.publish",  # the App Home tab: `home` shows it
    "views.open",  # a form: devtools.shell.forms shows it
})
#: The calls Slack may refuse for what they carry (FakeSlack.refusals).
_REFUSABLE = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral",
                        RESPONSE_URL_METHOD, "views.publish", "views.open", "views.update"})
#: A shared file's first lines shown (`/logs`); the rest is counted.
_FILE_PREVIEW = 15


@dataclass
class _Seen:
    """A message the shell has shown: for threading and for showing only what an edit changed."""

    thread_ts: str | None
    lines: list[str]


def message_lines(channel: str, thread_ts: str | None, body: list[str],
                  note: str = "") -> list[str]:
    """A message's lines under its channel's label (`↳` in a thread), `note` before it."""
    prefix = channel_label(channel) + " " + ("  ↳ " if thread_ts else "")
    return with_prefix(prefix, body, first=note)


def channel_lines(channel: str, msgs: list[dict[str, Any]]) -> list[str]:
    """A channel's messages whole (the shell's `messages`), each followed by its thread's
    replies."""
    if not msgs:
        return [f"{channel_label(channel)} (no messages in this session yet)"]
    replies: dict[str, list[dict[str, Any]]] = {}
    for m in msgs:
        if m.get("thread_ts"):
            replies.setdefault(str(m["thread_ts"]), []).append(m)
    lines: list[str] = []
    for m in msgs:
        if m.get("thread_ts"):
            continue
        for one in [m, *replies.get(str(m["ts"]), [])]:
            body = render_text(one.get("blocks"), one.get("text"))
            lines.extend(message_lines(channel, one.get("thread_ts"), body))
    return lines


class SlackView:
    """The session's Slack as people see it: `current_user()` is who sits at the shell;
    `fake()` the fake Slack (once the session has one)."""

    def __init__(self, fake: Callable[[], FakeSlack], ephemerals: Ephemerals, *,
                 current_user: Callable[[], str], channel: str, channel_id: str) -> None:
        self._fake = fake
        self._ephemerals = ephemerals
        self._current_user = current_user
        self._channel = channel
        self._channel_id = channel_id
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._response_users: dict[str, str] = {}

    def answered_by(self, key: str, user: str) -> None:
        """A request of `user` was sent with the response_url under `key`."""
        self._response_users[key] = user

    def only(self, user: str | None) -> str:
        """`(only you) ` for the current user (or unknown), else `(only U0BOB) `."""
        return "(only you) " if user in (None, self._current_user()) else f"(only {user}) "

    # -- the bot's Web API calls -----------------------------------------------------------
    def lines_for(self, call: Call) -> list[str]:
        """What people see of `call`, and a warning when Slack would have refused it (or
        cut its text): devtools/fake_slack_blocks.py's rules, FakeSlack.refusals."""
        seen = self._seen_of(call)
        if call.method not in _REFUSABLE:
            return seen
        refused = [r for r in self._fake().refusals() if r.call is call]
        return seen + [
            f"⚠️ Slack would refuse this {r.call.method} ({r.error}): {'; '.join(r.messages)}"
            for r in refused]

    def _seen_of(self, call: Call) -> list[str]:
        args = call.args
        if call.method == "chat.postMessage":
            return self._new_messages()
        if call.method == "chat.update":
            return self._edited(str(args.get("channel") or ""), str(args.get("ts") or ""),
                                args.get("blocks"), args.get("text"))
        if call.method == RESPONSE_URL_METHOD:
            return self._response(call)
        if call.method == "chat.postEphemeral":
            who = str(args.get("user") or "?")
            self._ephemerals.posted(user=who, channel=str(args.get("channel") or ""),
                                    args=args)
            return with_prefix(self.only(who),
                               render_text(args.get("blocks"), args.get("text")))
        if call.method == "files.completeUploadExternal":
            return self._new_messages() + self._shared_files(args.get("files"))
        if call.method in _SILENT_METHODS:
            return []
        return [f"(the bot called Slack's {call.method})"]

    def _shared_files(self, files: Any) -> list[str]:
        """The files a files.completeUploadExternal shared: name, size, first lines."""
        try:
            ids = {str(f.get("id")) for f in json.loads(files)} if isinstance(files, str) \
                else set()
        except (ValueError, AttributeError):
            ids = set()
        lines: list[str] = []
        for f in self._fake().uploaded_files():
            if f.id not in ids:
                continue
            text = f.text.splitlines()
            lines.append(f"    📎 {f.filename} ({len(f.content or b'')} bytes)")
            lines += [f"    │ {line}" for line in text[:_FILE_PREVIEW]]
            if len(text) > _FILE_PREVIEW:
                lines.append(f"    │ … {len(text) - _FILE_PREVIEW} more lines")
        return lines

    def _new_messages(self) -> list[str]:
        lines: list[str] = []
        for m in self._fake().messages():
            key = (str(m["channel"]), str(m["ts"]))
            if key in self._seen:
                continue
            body = render_text(m.get("blocks"), m.get("text"))
            self._seen[key] = _Seen(m.get("thread_ts"), body)
            lines.extend(message_lines(key[0], m.get("thread_ts"), body))
        return lines

    def _edited(self, channel: str, ts: str, blocks: Any, text: Any) -> list[str]:
        body = render_text(blocks, str(text) if text is not None else None)
        seen = self._seen.get((channel, ts))
        if seen is None:
            self._seen[(channel, ts)] = _Seen(None, body)
            return message_lines(channel, None, body, "(edited) ")
        before = Counter(seen.lines)
        changed: list[str] = []
        for line in body:
            if before[line] > 0:
                before[line] -= 1
            else:
                changed.append(line)
        gone = [line for line in seen.lines if line not in body and "   → click " in line]
        seen.lines = body
        if not changed and not gone:
            return []  # an edit that changes nothing people can see
        title = body[0] if body else ""
        shown = [title] + [c for c in changed if c != title]
        shown += ["(buttons removed: " + g.split("   → ", 1)[0] + ")" for g in gone]
        return message_lines(channel, seen.thread_ts, shown, "(edited) ")

    def _response(self, call: Call) -> list[str]:
        args = call.args
        user = self._response_users.get(call.key or "")
        body = render_text(args.get("blocks"), args.get("text"))
        if args.get("response_type") == "in_channel":
            note = "(edited) " if args.get("replace_original") else ""
            return message_lines(self._channel, None, body, note)
        self._ephemerals.posted(user=user or self._current_user(), channel=self._channel_id,
                                args=args, key=call.key)
        if args.get("delete_original"):
            return [f"{self.only(user)}(the message with the button was deleted)"]
        return with_prefix(self.only(user), body)

    # -- the bot's ack of a request --------------------------------------------------------
    def ack_lines(self, response: BoltResponse, what: str,
                  fields: Mapping[str, str] | None = None) -> list[str]:
        """What the ack of a request shows; `fields` (a form's block ids → labels) names the
        field each of a refused form's messages is shown under."""
        if response.status == 404:
            return [f"{self.only(None)}⚠️ deploybot does not handle {what} (Slack would say: "
                    f'{what} failed with the error "dispatch_failed")']
        if response.status != 200:
            return [f"{self.only(None)}⚠️ deploybot answered {what} with HTTP "
                    f"{response.status}: {response.body[:200]}"]
        body = (response.body or "").strip()
        if not body:
            return []
        try:
            data = json.loads(body)
        except ValueError:
            return with_prefix(self.only(None), mrkdwn_to_text(body).splitlines())
        if not isinstance(data, dict):
            return with_prefix(self.only(None), [body])
        if data.get("response_action") == "errors":  # a form refused: shown under a field
            errors = data.get("errors") or {}
            if fields is None:
                return with_prefix(self.only(None), [f"⚠️ {m}" for m in errors.values()])
            return with_prefix(self.only(None), [
                f"⚠️ under “{fields.get(block, block)}”: {m}" for block, m in errors.items()])
        lines = render_text(data.get("blocks"), data.get("text"))
        if data.get("response_type") == "in_channel":
            return message_lines(self._channel, None, lines)
        return with_prefix(self.only(None), lines)
