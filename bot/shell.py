"""`deploybot shell`: try the bot locally, in the tradition of Hubot's shell and Errbot's text mode.

This module owns the local adapter: the shell's input language (slash commands, `as`, `click`,
`messages`, `wait`, `help`, `quit`), the in-process dispatch of Slack requests to the real Bolt
app (`app.dispatch(BoltRequest(...))` with bodies from `bot.devtools.slack_requests`), and the
rendering of what the bot sends to Slack as readable text (`render_text`, `mrkdwn_to_text`).

Everything behind the Bolt app is production code: the handlers, the services, the store
(upgraded with Alembic first) and the runner built by `build_container`. Only Slack itself is
faked: a `FakeSlack` Web API server in this process records the bot's calls, keeps message
state (so buttons can be clicked) and reports each call to the shell, which prints it.
The services run on the simulated cluster, or with `cluster="fake"` (`--cluster fake`) on
the Kubernetes executor against a fake Kubernetes API server (`bot.devtools.fake_cluster`)
that lives as long as the shell.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TextIO

from slack_bolt import App, BoltRequest, BoltResponse

from bot.clock import Clock, ManualClock, OffsetClock, SystemClock
from bot.config import AppConfig
from bot.container import Container, build_container
from bot.devtools.fake_cluster import TICK, FakeCluster, fake_kubernetes
from bot.devtools.fake_slack import RESPONSE_URL_METHOD, Call, FakeSlack
from bot.devtools.slack_requests import (
    DEFAULT_CHANNEL_ID,
    block_actions_body,
    slash_command_body,
)
from bot.store.schema import upgrade_schema
from handlers import build_app

log = logging.getLogger(__name__)

__all__ = [
    "Shell", "Transcript", "button_name", "mrkdwn_to_text", "render_text",
    "run_shell",
]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
SHELL_TOKEN = "xoxb-shell"
FORM_HEADERS: dict[str, str | Sequence[str]] = {
    "content-type": ["application/x-www-form-urlencoded"],
}
DEFAULT_USER = "U0ME"
#: Where the services run: the simulated cluster, or a fake Kubernetes API server.
ClusterKind = Literal["simulated", "fake"]
# How often the card shows a rollout's progress. Simulated: build_container's default. Fake:
# every change ("2/3 pods updated, 3 available") — the Kubernetes backend reports only
# changes, the fake Slack has no rate limit to respect, and a throttle measured on a
# ManualClock (tests) would never let one through.
PROGRESS_EVERY: dict[ClusterKind, timedelta] = {
    "simulated": timedelta(seconds=2),
    "fake": timedelta(0),
}

# How long the fake Slack must be quiet before the shell shows the next prompt, and the
# longest it waits for that in interactive mode (a rollout keeps posting progress).
SETTLE_SECONDS = 0.3
LINE_WIDTH = 100
INTERACTIVE_MAX_WAIT = 5.0
# In script mode every line waits for quiet *and* an idle runner, at most this long.
SCRIPT_MAX_WAIT = 120.0

# Web API methods the bot calls that people never see.
_SILENT_METHODS = frozenset({
    "auth.test", "chat.getPermalink", "conversations.open", "usergroups.users.list",
    "users.info",
})
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_LINK = re.compile(r"<([^<>\n]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_PASSWORD = re.compile(r"(://[^:/@]+:)[^@/]*@")

HELP = """\
Type what you would type in Slack, plus a few shell commands:
  /deploy production v1.2.3   any slash command, sent as the current user
  /deploy status              (the bot's own help: /deploy help)
  as U0BOB                    become another Slack user (the prompt shows who you are)
  click approve               press the Approve button on the latest message that has one
  click reject #3             ... or the button of deployment #3; `click` lists the buttons
  messages                    show the deployments channel as it looks now
  messages U0ALICE            show the bot's direct messages to a user
  wait                        wait until running deployments have finished
  help                        this text
  quit                        leave (also: exit, Ctrl-D)
An edited message shows only the lines that changed; `messages` shows messages whole.
Lines starting with # are comments (a --script shows them, as narration)."""


# ------------------------------------------------------------------------------ rendering

def _link(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label.lstrip("@") or target[1:])
    if target.startswith("#"):
        return "#" + (label.lstrip("#") or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@leads>, <!date^…|fallback>
        if label:
            return label
        word, _, arg = target[1:].partition("^")
        return "@" + (arg if word == "subteam" and arg else word)
    return f"{label} ({target})" if label else target


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as plain text: `<@U1>` → `@U1`, `<#C1>` → `#C1`, `<url|label>` →
    `label (url)`, `*bold*` and `_italic_` markers dropped, and the three characters Slack
    escapes (`&lt;` `&gt;` `&amp;`) decoded. Inline `code` keeps its backticks."""
    text = _LINK.sub(_link, text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _object_text(obj: Any) -> str:
    """The text of a Block Kit text object (plain_text or mrkdwn), as plain text."""
    if isinstance(obj, dict):
        text = str(obj.get("text") or "")
        return mrkdwn_to_text(text) if obj.get("type") == "mrkdwn" else text
    return str(obj) if obj is not None else ""


def button_name(action_id: str) -> str:
    """What `click` calls a button: the last dotted part of its action id."""
    return action_id.rsplit(".", 1)[-1]


def _buttons_line(elements: Iterable[Any]) -> str | None:
    labels: list[str] = []
    hints: list[str] = []
    for el in elements:
        if not isinstance(el, dict) or el.get("type") != "button":
            continue
        labels.append(f"[ {_object_text(el.get('text'))} ]")
        value = str(el.get("value") or "")
        ref = f" #{value}" if value.isdigit() else ""
        hints.append(f"click {button_name(str(el.get('action_id') or ''))}{ref}")
    if not labels:
        return None
    return f"{' '.join(labels)}   → {' · '.join(hints)}"


def render_text(blocks: Any, fallback: str | None = None) -> list[str]:
    """Block Kit blocks as lines of readable text; `fallback` (a message's `text`) when there
    are no blocks. Headers, sections (text and fields), context and buttons are shown."""
    lines: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            lines.append(_object_text(block.get("text")))
        elif kind == "section":
            if block.get("text"):
                lines.extend(_object_text(block["text"]).splitlines())
            for f in block.get("fields") or []:
                lines.extend(_object_text(f).splitlines())
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                line = _buttons_line([accessory])
                if line:
                    lines.append(line)
        elif kind == "context":
            parts = [
                _object_text(el) if el.get("type") != "image" else f"[{el.get('alt_text', '')}]"
                for el in block.get("elements") or [] if isinstance(el, dict)
            ]
            lines.extend(" ".join(parts).splitlines())
        elif kind == "actions":
            line = _buttons_line(block.get("elements") or [])
            if line:
                lines.append(line)
        elif kind == "divider":
            lines.append("―" * 24)
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind is not None:
            lines.append(f"[{kind} block]")
    if not lines and fallback:
        lines = mrkdwn_to_text(fallback).splitlines()
    return lines or ["(empty message)"]


def _wrap(line: str, width: int) -> list[str]:
    """One rendered line, wrapped at `width` with a hanging indent (buttons never wrap)."""
    line = line.rstrip()
    if len(line) <= width or "   → click " in line:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    hang = "  " if line.lstrip().startswith(("• ", "- ", "◦ ")) else ""
    return textwrap.wrap(line, width=width, subsequent_indent=lead + hang,
                         break_long_words=False, break_on_hyphens=False) or [line]


def _with_prefix(prefix: str, lines: list[str], *, first: str = "") -> list[str]:
    """`prefix` + `first` before the first line, the later lines indented to line up under
    the prefix, and everything wrapped to fit a terminal of `LINE_WIDTH` columns."""
    pad = " " * len(prefix)
    width = max(LINE_WIDTH - len(prefix), 40)
    out: list[str] = []
    for i, line in enumerate(lines):
        head = prefix + first if i == 0 else pad
        for j, part in enumerate(_wrap(line, width - (len(first) if i == 0 else 0))):
            out.append(((head if j == 0 else pad) + part).rstrip())
    return out


def _channel_label(channel: str) -> str:
    """`[#deployments]`, `[#C0DEPLOYS]` or `[DM to U0ALICE]`."""
    if channel[:1] in ("U", "W"):
        return f"[DM to {channel}]"
    if channel[:1] == "D":
        user = channel[1:]
        return f"[DM to {user}]" if _USER_ID.match(user) else f"[DM {channel}]"
    return f"[{channel}]" if channel.startswith("#") else f"[#{channel}]"


def _dm_channel(user: str) -> str:
    """The channel FakeSlack files a user's direct messages under."""
    return "D" + user


def _mask_url(url: str) -> str:
    return _PASSWORD.sub(r"\1***@", url)


# ------------------------------------------------------------------------------ output

class Transcript:
    """The shell's output: one writer at a time, whatever thread the text comes from.

    While a request is dispatched the background output is held back, so the immediate (ack)
    reply is printed before what the background listener work sends. At an interactive prompt,
    background output is printed on its own lines and the prompt is shown again.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._held: list[str] | None = None
        self._prompt: str | None = None
        self._line_buffer: Callable[[], str] = lambda: ""
        isatty = getattr(out, "isatty", None)
        self._tty = bool(isatty()) if callable(isatty) else False

    def say(self, lines: Iterable[str]) -> None:
        with self._lock:
            self._write(lines)

    def background(self, lines: list[str]) -> None:
        with self._lock:
            if self._held is not None:
                self._held.extend(lines)
            elif self._prompt is not None:
                # Take the prompt (and what was typed after it) off the screen, print, then
                # show them again below.
                self._out.write("\r\x1b[K" if self._tty else "\n")
                self._write(lines)
                self._out.write(self._prompt + self._line_buffer())
                self._out.flush()
            else:
                self._write(lines)

    def say_partial(self, text: str) -> None:
        """Text without a newline (a prompt)."""
        with self._lock:
            self._out.write(text)
            self._out.flush()

    def hold(self) -> None:
        with self._lock:
            self._held = []

    def release(self, first: Iterable[str] = ()) -> None:
        """Print `first`, then everything held back since `hold()`."""
        with self._lock:
            held, self._held = self._held or [], None
            self._write([*first, *held])

    @contextmanager
    def at_prompt(self, prompt: str, line_buffer: Callable[[], str] | None) -> Iterator[None]:
        with self._lock:
            self._prompt = prompt
            self._line_buffer = line_buffer or (lambda: "")
        try:
            yield
        finally:
            with self._lock:
                self._prompt = None

    def _write(self, lines: Iterable[str]) -> None:
        # Caller holds the lock.
        for line in lines:
            self._out.write(line + "\n")
        self._out.flush()




# ------------------------------------------------------------------------------ the shell

@dataclass
class _Seen:
    """A message the shell has shown: for threading and for showing only what an edit changed."""

    thread_ts: str | None
    lines: list[str]


@dataclass(frozen=True)
class _Button:
    message: dict[str, Any]
    action_id: str
    label: str
    value: str
    confirm: dict[str, Any] | None


def _buttons(message: dict[str, Any]) -> Iterator[_Button]:
    for block in message.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for el in elements:
            if isinstance(el, dict) and el.get("type") == "button" and el.get("action_id"):
                confirm = el.get("confirm")
                yield _Button(message=message, action_id=str(el["action_id"]),
                              label=_object_text(el.get("text")),
                              value=str(el.get("value") or ""),
                              confirm=confirm if isinstance(confirm, dict) else None)


class Shell:
    """One shell session: the current user, the line interpreter and the output of the bot."""

    def __init__(
        self,
        *,
        config: AppConfig,
        transcript: Transcript,
        user: str,
        settle: float = SETTLE_SECONDS,
        scripted: bool = False,
    ) -> None:
        self.config = config
        self.transcript = transcript
        self.user = user
        self.settle_seconds = settle
        self.scripted = scripted
        channel = config.slack.deployments_channel
        self.channel = channel
        # Slash commands are sent from the deployments channel (a made-up id for a #name).
        self.channel_id = channel if channel[:1] in ("C", "G") else DEFAULT_CHANNEL_ID
        self.channel_name = channel.lstrip("#") if channel.startswith("#") else None
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._response_users: dict[str, str] = {}
        self._last_event = time.monotonic()
        self._fake: FakeSlack | None = None
        self._app: App | None = None
        self._container: Container | None = None

    def attach(self, fake: FakeSlack, app: App, container: Container) -> None:
        self._fake, self._app, self._container = fake, app, container

    @property
    def fake(self) -> FakeSlack:
        assert self._fake is not None, "attach() first"
        return self._fake

    @property
    def app(self) -> App:
        assert self._app is not None, "attach() first"
        return self._app

    @property
    def container(self) -> Container:
        assert self._container is not None, "attach() first"
        return self._container

    @property
    def prompt(self) -> str:
        return f"{self.user}> "

    # -- what the bot sends (runs on the fake's threads) ----------------------------------
    def on_call(self, call: Call) -> None:
        """FakeSlack's callback: print what people would see in Slack."""
        with self._lock:  # held while printing, so calls are shown in the order they came
            self._last_event = time.monotonic()
            lines = self._lines_for(call)
            if lines:
                self.transcript.background(lines)

    def _lines_for(self, call: Call) -> list[str]:
        # Caller holds self._lock.
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
            return _with_prefix(self._only(who),
                                render_text(args.get("blocks"), args.get("text")))
        if call.method in _SILENT_METHODS:
            return []
        return [f"(the bot called Slack's {call.method})"]

    def _only(self, user: str | None) -> str:
        return "(only you) " if user in (None, self.user) else f"(only {user}) "

    def _new_messages(self) -> list[str]:
        lines: list[str] = []
        for m in self.fake.messages():
            key = (str(m["channel"]), str(m["ts"]))
            if key in self._seen:
                continue
            body = render_text(m.get("blocks"), m.get("text"))
            self._seen[key] = _Seen(m.get("thread_ts"), body)
            lines.extend(self._message_lines(key[0], m.get("thread_ts"), body))
        return lines

    @staticmethod
    def _message_lines(channel: str, thread_ts: str | None, body: list[str],
                       note: str = "") -> list[str]:
        prefix = _channel_label(channel) + " " + ("  ↳ " if thread_ts else "")
        return _with_prefix(prefix, body, first=note)

    def _edited(self, channel: str, ts: str, blocks: Any, text: Any) -> list[str]:
        body = render_text(blocks, str(text) if text is not None else None)
        seen = self._seen.get((channel, ts))
        if seen is None:
            self._seen[(channel, ts)] = _Seen(None, body)
            return self._message_lines(channel, None, body, "(edited) ")
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
        return self._message_lines(channel, seen.thread_ts, shown, "(edited) ")

    def _response(self, call: Call) -> list[str]:
        args = call.args
        user = self._response_users.get(call.key or "")
        body = render_text(args.get("blocks"), args.get("text"))
        if args.get("response_type") == "in_channel":
            note = "(edited) " if args.get("replace_original") else ""
            return self._message_lines(self.channel, None, body, note)
        if args.get("delete_original"):
            return [f"{self._only(user)}(the message with the button was deleted)"]
        return _with_prefix(self._only(user), body)

    # -- waiting for the bot -------------------------------------------------------------
    def _touch(self) -> None:
        with self._lock:
            self._last_event = time.monotonic()

    def _quiet_for(self) -> float:
        with self._lock:
            return time.monotonic() - self._last_event

    def settle(self, *, until_idle: bool, max_wait: float) -> bool:
        """Wait until the background listener work has answered and the fake Slack has been
        quiet for a moment; with `until_idle`, also until no deployment is running. False when
        `max_wait` seconds were not enough."""
        deadline = time.monotonic() + max_wait
        runner = self.container.runner
        while True:
            for pool in (self.container.background, self.container.jobs):
                if not pool.wait_idle(timeout=max(deadline - time.monotonic(), 0)):
                    return False
            while (quiet := self._quiet_for()) < self.settle_seconds:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(min(self.settle_seconds - quiet, 0.05) + 0.005)
            if not until_idle or runner.wait_idle(timeout=0):
                return True
            if not runner.wait_idle(timeout=max(deadline - time.monotonic(), 0)):
                return False
            self._touch()  # the runner's last messages: give them a moment to arrive

    def after_request(self) -> None:
        if self.scripted:
            if not self.settle(until_idle=True, max_wait=SCRIPT_MAX_WAIT):
                self.transcript.say([f"(still busy after {SCRIPT_MAX_WAIT:.0f}s; going on)"])
        else:
            self.settle(until_idle=False, max_wait=INTERACTIVE_MAX_WAIT)

    # -- dispatching requests to the Bolt app ---------------------------------------------
    def _dispatch(self, body: str, key: str, what: str) -> None:
        with self._lock:
            self._response_users[key] = self.user
        self.transcript.hold()
        first: list[str] = []
        try:
            response = self.app.dispatch(BoltRequest(body=body, headers=FORM_HEADERS))
            first = self._ack_lines(response, what)
        finally:
            self._touch()
            self.transcript.release(first)
        self.after_request()

    def _ack_lines(self, response: BoltResponse, what: str) -> list[str]:
        if response.status == 404:
            return [f"{self._only(None)}⚠️ deploybot does not handle {what} (Slack would say: "
                    f'{what} failed with the error "dispatch_failed")']
        if response.status != 200:
            return [f"{self._only(None)}⚠️ deploybot answered {what} with HTTP "
                    f"{response.status}: {response.body[:200]}"]
        body = (response.body or "").strip()
        if not body:
            return []
        try:
            data = json.loads(body)
        except ValueError:
            return _with_prefix(self._only(None), mrkdwn_to_text(body).splitlines())
        if not isinstance(data, dict):
            return _with_prefix(self._only(None), [body])
        lines = render_text(data.get("blocks"), data.get("text"))
        if data.get("response_type") == "in_channel":
            return self._message_lines(self.channel, None, lines)
        return _with_prefix(self._only(None), lines)

    def slash(self, line: str) -> None:
        command, _, text = line.strip().partition(" ")
        key = self.fake.new_response_key("shell")
        body = slash_command_body(
            command, text.strip(), user_id=self.user, channel_id=self.channel_id,
            channel_name=self.channel_name, response_url=self.fake.response_url(key),
        )
        self._dispatch(body, key, command)

    def click(self, words: list[str]) -> None:
        if not words:
            self._list_buttons()
            return
        name = words[0].lower()
        value = words[1].lstrip("#") if len(words) > 1 else None
        if len(words) > 2 or (value is not None and not value):
            self.transcript.say(["Usage: click <button> [#N], e.g. `click approve` or "
                                 "`click reject #3`."])
            return
        button = self._find_button(name, value)
        if button is None:
            where = f" for #{value}" if value else ""
            self.transcript.say([f"No message has a `{name}` button{where}. "
                                 "Type `click` to list the buttons you can press."])
            return
        msg = button.message
        title = render_text(msg.get("blocks"), msg.get("text"))[0]
        lines = [f"(you click [ {button.label} ] on {_channel_label(str(msg['channel']))} "
                 f"“{title}”)"]
        if button.confirm is not None:
            c = button.confirm
            ok = _object_text(c.get("confirm")) or "Yes"
            lines.append(f"(Slack asks: {_object_text(c.get('title'))} — "
                         f"{_object_text(c.get('text'))}  [ {ok} ] → you confirm)")
        self.transcript.say(lines)
        key = self.fake.new_response_key("shell")
        body = block_actions_body(
            user_id=self.user, action_id=button.action_id, value=button.value,
            message=msg, response_url=self.fake.response_url(key),
        )
        self._dispatch(body, key, f"the {button.label} button")

    def _all_buttons(self) -> list[_Button]:
        return [b for m in self.fake.messages() for b in _buttons(m)]

    def _find_button(self, name: str, value: str | None) -> _Button | None:
        for b in reversed(self._all_buttons()):
            names = {b.action_id.lower(), button_name(b.action_id).lower(), b.label.lower()}
            if name in names and (value is None or b.value == value):
                return b
        return None

    def _list_buttons(self) -> None:
        buttons = self._all_buttons()
        if not buttons:
            self.transcript.say(["No message has buttons right now."])
            return
        lines = ["Buttons you can press:"]
        for b in buttons:
            title = render_text(b.message.get("blocks"), b.message.get("text"))[0]
            ref = f" #{b.value}" if b.value.isdigit() else ""
            lines.append(f"  click {button_name(b.action_id)}{ref}   [ {b.label} ] on "
                         f"“{title}”")
        self.transcript.say(lines)

    # -- shell commands -------------------------------------------------------------------
    def become(self, words: list[str]) -> None:
        if len(words) != 1 or not _USER_ID.match(words[0].upper()):
            self.transcript.say(["Usage: as <Slack user id>, e.g. `as U0BOB`."])
            return
        self.user = words[0].upper()
        roles = [r for r, members in self.config.roles.items() if self.user in members]
        what = f" ({', '.join(roles)})" if roles else " (in no role of app.yaml)"
        self.transcript.say([f"You are now {self.user}{what}."])

    def messages(self, words: list[str]) -> None:
        channel = self.channel
        if words:
            target = words[0].upper() if _USER_ID.match(words[0].upper()) else words[0]
            channel = _dm_channel(target) if _USER_ID.match(target) else target
        msgs = self.fake.messages(channel)
        if not msgs:
            self.transcript.say([f"{_channel_label(channel)} (no messages in this session yet)"])
            return
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
                lines.extend(self._message_lines(channel, one.get("thread_ts"), body))
        self.transcript.say(lines)

    def wait(self) -> None:
        runner = self.container.runner
        if not runner.wait_idle(timeout=0):
            self.transcript.say(["(waiting for the running deployments to finish…)"])
            if not self.settle(until_idle=True, max_wait=SCRIPT_MAX_WAIT):
                self.transcript.say([f"(still running after {SCRIPT_MAX_WAIT:.0f}s; "
                                     "`wait` again to keep waiting)"])
                return
        else:
            self.settle(until_idle=False, max_wait=INTERACTIVE_MAX_WAIT)
        self.transcript.say(["(no deployment is running)"])

    def handle(self, line: str) -> bool:
        """Run one line; False when the shell should stop."""
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        words = text.split()
        head, rest = words[0].lower(), words[1:]
        if text.startswith("/"):
            self.slash(text)
        elif head == "as":
            self.become(rest)
        elif head == "click":
            self.click(rest)
        elif head == "messages":
            self.messages(rest)
        elif head == "wait":
            self.wait()
        elif head in ("help", "?"):
            self.transcript.say(HELP.splitlines())
        elif head in ("quit", "exit"):
            return False
        else:
            self.transcript.say([f"Unknown input {words[0]!r}: type a slash command such as "
                                 "`/deploy help`, or `help` for the shell's commands."])
        return True


# ------------------------------------------------------------------------------ running

def _first_user(config: AppConfig) -> str:
    for members in config.roles.values():
        for m in members:
            if _USER_ID.match(m):
                return m
    return DEFAULT_USER


def _banner(config: AppConfig, *, config_path: str | None, database_url: str,
            user: str, scripted: bool, cluster: FakeCluster | None = None) -> list[str]:
    source = f"{config_path} · " if config_path else ""
    lines = [
        "deploybot shell: your lines go to the real handlers and services; Slack is faked "
        "locally.",
        f"  {source}channel {config.slack.deployments_channel} · database "
        f"{_mask_url(database_url)}",
    ]
    if cluster is not None:
        lines += cluster.describe()
    for role, members in config.roles.items():
        lines.append(f"  {role}: {', '.join(members) or '(nobody)'}")
    if not scripted:
        lines.append(f"You are {user}. Type help for the commands.")
    else:
        lines.append(f"You are {user}. (Type help in an interactive shell for the commands.)")
    return lines


@contextmanager
def _quiet_logging() -> Iterator[Callable[[], None]]:
    """Keep library INFO chatter (Alembic, Bolt's unhandled-request advice) out of the
    transcript; the returned function quiets Bolt's loggers, which Bolt sets when the app
    is built. Levels are restored at the end."""
    saved: dict[str, int] = {}

    def set_level(name: str, level: int) -> None:
        logger = logging.getLogger(name)
        saved.setdefault(name, logger.level)
        logger.setLevel(level)

    def quiet_bolt() -> None:
        for name in ("slack_bolt", "slack_bolt.App", "slack_sdk"):
            set_level(name, logging.ERROR)

    set_level("alembic", logging.WARNING)
    # The transcript shows each result as Slack would; the runner's own INFO line about it
    # would repeat it, stamped with the real clock rather than the shell's.
    set_level("bot.services.runner", logging.WARNING)
    set_level("bot.backends.kubernetes", logging.WARNING)  # "patched …": the card says it
    try:
        yield quiet_bolt
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _script_lines(source: TextIO) -> Iterator[str]:
    for line in source:
        yield line.rstrip("\r\n")


def _typed_lines(shell: Shell, transcript: Transcript, source: TextIO) -> Iterator[str]:
    """Lines typed at a terminal: `input()` (with readline editing) when it is stdin."""
    line_buffer: Callable[[], str] | None = None
    if source is sys.stdin:
        try:
            import readline  # line editing and history for input()

            line_buffer = readline.get_line_buffer
        except ImportError:  # pragma: no cover - e.g. Windows
            pass
    while True:
        with transcript.at_prompt(shell.prompt, line_buffer):
            if source is sys.stdin:
                try:
                    line = input(shell.prompt)
                except EOFError:
                    line = None
            else:
                transcript.say_partial(shell.prompt)
                read = source.readline()
                line = read.rstrip("\r\n") if read else None
        if line is None:
            transcript.say([""])
            return
        yield line


def _user_groups(config: AppConfig) -> dict[str, list[str]]:
    """Every user group named in the roles, empty: the fake Slack answers for them."""
    return {m: [] for members in config.roles.values() for m in members if m.startswith("S")}


def run_shell(
    config: AppConfig,
    *,
    database_url: str,
    script: str | None,
    out: TextIO = sys.stdout,
    inp: TextIO | None = None,
    config_path: str | None = None,
    settle: float = SETTLE_SECONDS,
    clock: Clock | None = None,
    cluster: ClusterKind = "simulated",
    fake_tick: float = TICK,
) -> int:
    """Run the shell until `quit`, the end of the input or the end of `script` (a path, or
    "-" for `inp`, default stdin). Interactive (a prompt, output as it comes) when reading a
    terminal; otherwise each line is echoed after the prompt and everything it sets off,
    rollouts included, is printed before the next line runs. `clock` defaults to the
    system clock (tests pass a fixed one). `cluster="fake"` runs every service on the
    Kubernetes executor against a fake Kubernetes API server (its controller steps every
    `fake_tick` seconds) started for the session and stopped at its end, however it ends.
    Returns the exit code."""
    source = inp if inp is not None else sys.stdin
    script_file: TextIO | None = None
    if script is not None and script != "-":
        try:
            script_file = Path(script).open(encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as e:
            print(f"deploybot: cannot read the script {script}: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
        source = script_file
    interactive = script is None and source.isatty()
    transcript = Transcript(out)
    user = _first_user(config)
    shell = Shell(config=config, transcript=transcript, user=user, settle=settle,
                  scripted=not interactive)
    try:
        # Stopped in reverse order, however the session ends: the container first (the
        # deployments in flight finish against the fakes), then Slack, then the cluster.
        with _quiet_logging() as quiet_bolt, ExitStack() as stack:
            upgrade_schema(database_url)
            # Real time (from --at, if given) with a time-lapse: a post-deploy watch of
            # several minutes passes in a moment (build_container's manual_sleep).
            if not isinstance(clock, ManualClock | OffsetClock):
                base = clock or SystemClock()
                clock = OffsetClock(base.now(), base)
            k8s: FakeCluster | None = None
            if cluster == "fake":
                # The fake cluster keeps the shell's time: its ReplicaSets, conditions and
                # Date header agree with the session's clock ("since" times, the deadline
                # rule's comparison with our patch), time-lapse included.
                k8s = stack.enter_context(fake_kubernetes(
                    config, tick=fake_tick, source=config_path or "app.yaml",
                    clock=clock.now))
                config = k8s.config
            fake = stack.enter_context(
                FakeSlack(usergroups=_user_groups(config), on_call=shell.on_call))
            container = build_container(
                config, database_url=database_url, slack_token=SHELL_TOKEN,
                slack_api_url=fake.base_url, clock=clock,
                kubeconfig=k8s.kubeconfig if k8s is not None else None,
                progress_every=PROGRESS_EVERY[cluster])
            stack.callback(container.close)
            app = build_app(container, signing_secret=None, verify_requests=False)
            quiet_bolt()
            shell.attach(fake, app, container)
            transcript.say(_banner(config, config_path=config_path,
                                   database_url=database_url, user=user,
                                   scripted=not interactive, cluster=k8s))
            resumed = container.runner.resume()
            if resumed:
                transcript.say([f"(resuming {resumed} unfinished deployment(s))"])
                shell.after_request()
            _run_lines(shell, transcript,
                       _typed_lines(shell, transcript, source) if interactive
                       else _script_lines(source), echo=not interactive)
            container.background.wait_idle(timeout=INTERACTIVE_MAX_WAIT)  # answers in flight
            if not container.runner.wait_idle(timeout=0):
                transcript.say(["(letting the running deployments finish…)"])
    except KeyboardInterrupt:
        transcript.say(["", "(interrupted)"])
        return EXIT_INTERRUPTED
    finally:
        if script_file is not None:
            script_file.close()
    return EXIT_OK


def _run_lines(shell: Shell, transcript: Transcript, lines: Iterable[str], *,
               echo: bool) -> None:
    for line in lines:
        if echo:
            text = line.strip()
            # Comments and blank lines are echoed as they are: they narrate a script.
            transcript.say([line.rstrip() if not text or text.startswith("#")
                            else shell.prompt + text])
        try:
            if not shell.handle(line):
                return
        except Exception as e:  # a bug in the shell itself: say so, keep the session
            log.debug("shell line failed", exc_info=True)
            transcript.say([f"(the shell could not run that line: {e!r})"])
