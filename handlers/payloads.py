"""Slack requests read through one typed accessor, and refused when their shape is wrong.

slack-bolt hands listeners the parsed body as a dict and, to match listeners, indexes it
assuming Slack's shapes (`body["actions"][0]["action_id"]`, `body["event"]["type"]`,
slack_bolt/listener_matcher/builtins.py and request/payload_utils.py); a signed request with
`actions: []`, `user: {}` or a numeric `response_url` crashed there or in a listener. Here:

- `read` turns a body into what deploybot uses of it — a `Click` (block_actions, and the
  view and shortcut interactions), a `Command`, an `Event` — or raises `Malformed` saying
  why. Every field deploybot reads is checked for its type and for the limit of where it
  ends up (a user id goes into 32-character columns, a channel into 64, a message ts into
  32). Fields it does not read are not looked at.
- `WellFormed`, the global middleware `register` adds, does so first (handlers/__init__.py
  registers it before every other middleware of ours; Bolt's listener matching only runs
  after all global middleware, slack_bolt/app/app.py `dispatch`). A malformed request gets HTTP 400
  with the answer and the one WARNING line the HTTP edge gives a signed-but-malformed body
  (bot.web), no traceback: nothing is claimed, audited or run.
- Listeners and the other middleware read the request with `click_of`, `command_of`,
  `event_of` and `request_of`, never by indexing the body. Given Bolt's `context`, these
  return what the middleware read (kept there), so a request is read once.

Bolt's own conversion and middleware (signature, authorization, ignoring the bot's own
events) run before any of ours and read a few fields themselves (`user`, `channel`, `event`
as objects): the edge in front of them (bot.slack_edge) refuses what they cannot read.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

log = logging.getLogger(__name__)

#: The longest user id kept: the user columns (requested_by, holder, ticked_by…) hold 32.
MAX_USER_ID = 32
#: The longest channel id kept: the channel columns hold 64.
MAX_CHANNEL_ID = 64
#: The longest message timestamp kept: the ts columns hold 32.
MAX_TS = 32
#: The longest response_url taken (Slack's are about 100 characters).
MAX_URL = 2048
#: The longest id of anything else read (a trigger, an action, a block, a view, a command).
MAX_ID = 255

#: What a Slack id (a user's, a channel's) is made of.
_SLACK_ID = re.compile(r"[A-Za-z0-9._-]+")
#: A channel as a message names it: its id, or (where the app posted by name, as the
#: configured `#deployments` and the local shell's fake Slack do) `#` and its name.
_CHANNEL = re.compile(r"#?[A-Za-z0-9._-]+")
#: Interactive payload types read as a `Click`.
INTERACTIVE = frozenset({"block_actions", "view_submission", "view_closed", "shortcut",
                         "message_action"})
#: Where `WellFormed` keeps what it read, in Bolt's request context (one read a request).
CONTEXT_KEY = "deploybot_request"
#: What a malformed request is answered (the HTTP edge's answer to one, bot.web).
REFUSAL = {"ok": False, "error": "malformed request"}


class Malformed(ValueError):
    """A Slack request whose shape is not what Slack sends; the message says why."""


@dataclass(frozen=True)
class Action:
    """One element of a block_actions payload's `actions`."""

    action_id: str
    value: str | None = None  # a button's value, a text input's text
    block_id: str | None = None
    action_ts: str | None = None
    selected_option: str | None = None  # the value of the option a select has chosen
    selected_options: tuple[str, ...] = ()  # the values of the boxes ticked

    @property
    def chosen(self) -> str:
        """What the element says: its value, or the chosen option's ("" for neither)."""
        return self.value or self.selected_option or ""


@dataclass(frozen=True)
class Container:
    """Where the element clicked sits: a message (`message_ts`, `channel_id`) or a view."""

    type: str | None = None
    message_ts: str | None = None
    channel_id: str | None = None
    is_ephemeral: bool = False
    view_id: str | None = None


@dataclass(frozen=True)
class View:
    """A view (App Home tab, modal) an interaction comes from."""

    id: str
    callback_id: str | None = None
    hash: str | None = None
    private_metadata: str | None = None
    state: Mapping[str, Any] | None = None  # `state.values`, as Slack sends it


@dataclass(frozen=True)
class Click:
    """An interactive payload: a block_actions click (`actions` has one or more), a view
    submitted or closed, a shortcut."""

    type: str
    user_id: str
    actions: tuple[Action, ...] = ()
    channel_id: str | None = None  # `channel.id`
    container: Container = Container()  # empty when the payload has none (a view's)
    response_url: str | None = None
    trigger_id: str | None = None
    view: View | None = None
    callback_id: str | None = None  # a shortcut's (a view's is `view.callback_id`)

    @property
    def action(self) -> Action:
        """The element clicked (a block_actions payload has at least one)."""
        if not self.actions:
            raise Malformed(f"a {self.type} payload has no action")
        return self.actions[0]

    @property
    def where(self) -> str | None:
        """The channel it happened in: `channel.id`, else the container's."""
        return self.channel_id or self.container.channel_id


@dataclass(frozen=True)
class Command:
    """A slash command invocation."""

    command: str
    text: str
    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None


@dataclass(frozen=True)
class Event:
    """An Events API callback: the event's type and, when it names one, its user (a
    string `user`: some events carry an object there, read as no user) and tab
    (app_home_opened)."""

    type: str | None
    event_id: str | None = None
    user_id: str | None = None
    tab: str | None = None


Request = Click | Command | Event


# -- reading -------------------------------------------------------------------------------


def read(body: Mapping[str, Any]) -> Request | None:
    """What `body` asks, read through its typed fields; None for a kind deploybot reads
    nothing of (url_verification, block_suggestion…: Bolt handles or ignores those).
    Raises `Malformed`. Every kind the body claims to be is checked (Bolt takes any body
    with a `command` as a slash command, whatever its `type`; payload_utils.py)."""
    kind = body.get("type")
    if not isinstance(kind, str | None):
        raise Malformed(f"`type` is {_kind(kind)}")
    found: Request | None = None
    if kind == "event_callback":
        found = event_of(body)
    if kind in INTERACTIVE:
        found = click_of(body)
    if "command" in body:
        found = command_of(body)
    return found


def click_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Click:
    """The interactive payload `body` (as `WellFormed` read it into `context`, Bolt's);
    `Malformed` when its shape is wrong."""
    kept = _kept(context)
    if isinstance(kept, Click):
        return kept
    kind = body.get("type")
    if kind not in INTERACTIVE:
        raise Malformed(f"`type` {_shown(kind)} is not an interaction")
    assert isinstance(kind, str)
    actions: tuple[Action, ...] = ()
    container = Container()
    if kind == "block_actions":  # a click always says what and where
        actions = _actions(body.get("actions"))
        container = _container(body.get("container"))
    elif body.get("container") is not None:
        container = _container(body.get("container"))
    view = _view(body.get("view"), required=kind in ("view_submission", "view_closed"))
    callback_id = None
    if kind in ("shortcut", "message_action"):
        callback_id = _text(body, "callback_id", MAX_ID, required=True)
    return Click(
        type=kind,
        user_id=_user(body.get("user")),
        actions=actions,
        channel_id=_channel(body.get("channel")),
        container=container,
        response_url=_response_url(body),
        trigger_id=_text(body, "trigger_id", MAX_ID),
        view=view,
        callback_id=callback_id,
    )


def command_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None
               ) -> Command:
    """The slash command `body` (as `WellFormed` read it into `context`); `Malformed` when
    its shape is wrong. (Slack sends a form, whose values are all strings; Bolt reads a JSON
    body too, whose values may be anything.)"""
    kept = _kept(context)
    if isinstance(kept, Command):
        return kept
    name = _text(body, "command", MAX_ID, required=True)
    assert name is not None
    user = _id(body.get("user_id"), "user_id", MAX_USER_ID)
    return Command(
        command=name,
        text=_text(body, "text", None) or "",
        user_id=user,
        channel_id=_optional_channel(body.get("channel_id"), "channel_id"),
        response_url=_url(body.get("response_url"), "response_url"),
        trigger_id=_text(body, "trigger_id", MAX_ID),
    )


def event_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Event:
    """The Events API callback `body` (as `WellFormed` read it into `context`); `Malformed`
    when `event` is not an object."""
    kept = _kept(context)
    if isinstance(kept, Event):
        return kept
    ev = body.get("event")
    if not isinstance(ev, dict):
        raise Malformed(f"`event` is {_kind(ev)}")
    kind = ev.get("type")
    if not isinstance(kind, str | None):
        raise Malformed(f"`event.type` is {_kind(kind)}")
    user = ev.get("user")
    return Event(type=kind, event_id=_text(body, "event_id", MAX_ID),
                 user_id=user if isinstance(user, str) and 0 < len(user) <= MAX_USER_ID
                 else None,
                 tab=_text(ev, "tab", MAX_ID, where="event"))


def request_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None
               ) -> Request | None:
    """`read`, for code behind `WellFormed` (which refused what `read` cannot read, and kept
    what it read in `context`, Bolt's): None for a body it would refuse, rather than
    raising."""
    if context is not None and CONTEXT_KEY in context:
        return _kept(context)
    try:
        return read(body)
    except Malformed:
        return None


def _kept(context: Mapping[str, Any] | None) -> Request | None:
    kept = context.get(CONTEXT_KEY) if context is not None else None
    return kept if isinstance(kept, Click | Command | Event) else None


# -- the middleware ----------------------------------------------------------------------


class WellFormed(Middleware):
    """The global middleware refusing a malformed request before anything else reads it.

    A `Middleware` (its `process` is handed the request), not a function: for a function
    middleware Bolt builds every argument it could ask for (`action`, `view`, `event`…,
    slack_bolt/kwargs_injection/utils.py) by indexing the body, which is what crashes."""

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        try:
            req.context[CONTEXT_KEY] = read(req.body)
        except Malformed as e:
            return refused(str(e))
        next()
        return resp


def register(app: App) -> None:
    """Add `WellFormed`. Register it before any other middleware of ours: Bolt runs global
    middleware in order, and matches listeners only after all of them."""
    app.middleware(WellFormed())


def refused(why: str) -> BoltResponse:
    """400 with one line, no traceback: as the HTTP edge answers a signed-but-malformed body."""
    log.warning("Slack request refused with 400: %s", why)
    return BoltResponse(status=400, body=json.dumps(REFUSAL),
                        headers={"content-type": "application/json"})


# -- fields --------------------------------------------------------------------------------


def _actions(value: object) -> tuple[Action, ...]:
    if not isinstance(value, list):
        raise Malformed(f"`actions` is {_kind(value)}, not an array")
    if not value:
        raise Malformed("`actions` is empty")
    return tuple(_action(a, i) for i, a in enumerate(value))


def _action(value: object, i: int) -> Action:
    where = f"actions[{i}]"
    if not isinstance(value, dict):
        raise Malformed(f"`{where}` is {_kind(value)}, not an object")
    action_id = _text(value, "action_id", MAX_ID, required=True, where=where)
    assert action_id is not None
    option = value.get("selected_option")
    if option is not None and not isinstance(option, dict):
        raise Malformed(f"`{where}.selected_option` is {_kind(option)}")
    options = value.get("selected_options")
    if options is None:
        options = []
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise Malformed(f"`{where}.selected_options` is not an array of objects")
    return Action(
        action_id=action_id,
        value=_text(value, "value", None, where=where),
        block_id=_text(value, "block_id", MAX_ID, where=where),
        action_ts=_text(value, "action_ts", MAX_TS, where=where),
        selected_option=(_text(option, "value", None, where=f"{where}.selected_option")
                         if option is not None else None),
        selected_options=tuple(
            _text(o, "value", None, where=f"{where}.selected_options[{j}]") or ""
            for j, o in enumerate(options)),
    )


def _user(value: object) -> str:
    if not isinstance(value, dict):
        raise Malformed(f"`user` is {_kind(value)}, not an object")
    return _id(value.get("id"), "user.id", MAX_USER_ID)


def _channel(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"`channel` is {_kind(value)}, not an object")
    return _optional_channel(value.get("id"), "channel.id")


def _container(value: object) -> Container:
    if not isinstance(value, dict):
        raise Malformed(f"`container` is {_kind(value)}, not an object")
    ephemeral = value.get("is_ephemeral")
    if not isinstance(ephemeral, bool | None):
        raise Malformed(f"`container.is_ephemeral` is {_kind(ephemeral)}")
    return Container(
        type=_text(value, "type", MAX_ID, where="container"),
        message_ts=_text(value, "message_ts", MAX_TS, where="container"),
        channel_id=_optional_channel(value.get("channel_id"), "container.channel_id"),
        is_ephemeral=bool(ephemeral),
        view_id=_text(value, "view_id", MAX_ID, where="container"),
    )


def _view(value: object, *, required: bool) -> View | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"`view` is {_kind(value)}, not an object")
    view_id = _text(value, "id", MAX_ID, required=True, where="view")
    assert view_id is not None
    state = value.get("state")
    if state is not None and not (isinstance(state, dict)
                                  and isinstance(state.get("values", {}), dict)):
        raise Malformed("`view.state` is not an object of `values`")
    return View(
        id=view_id,
        callback_id=_text(value, "callback_id", MAX_ID, where="view"),
        hash=_text(value, "hash", MAX_ID, where="view"),
        private_metadata=_text(value, "private_metadata", None, where="view"),
        state=state.get("values") if isinstance(state, dict) else None,
    )


def _response_url(body: Mapping[str, Any]) -> str | None:
    """`response_url`, or the first of `response_urls` (a modal's), as Bolt takes it."""
    if "response_url" in body:
        return _url(body["response_url"], "response_url")
    urls = body.get("response_urls")
    if urls is None:
        return None
    if not isinstance(urls, list) or not all(isinstance(u, dict) for u in urls):
        raise Malformed("`response_urls` is not an array of objects")
    return _url(urls[0].get("response_url"), "response_urls[0].response_url") if urls else None


def _url(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"`{name}` is {_kind(value)}, not a string")
    if not value.startswith(("https://", "http://")) or len(value) > MAX_URL:
        raise Malformed(f"`{name}` is not an http(s) URL")
    return value


def _id(value: object, name: str, limit: int, pattern: re.Pattern[str] = _SLACK_ID) -> str:
    """A Slack id (a user's, a channel's): a non-empty string of at most `limit` letters,
    digits and `._-` (a channel's may be `#name`)."""
    if not isinstance(value, str):
        raise Malformed(f"`{name}` is {_kind(value)}, not a string")
    if not value:
        raise Malformed(f"`{name}` is empty")
    if len(value) > limit:
        raise Malformed(f"`{name}` is {len(value)} characters long; the limit is {limit}")
    if pattern.fullmatch(value) is None:
        raise Malformed(f"`{name}` is not a Slack id")
    return value


def _optional_channel(value: object, name: str) -> str | None:
    return None if value is None else _id(value, name, MAX_CHANNEL_ID, _CHANNEL)


def _text(obj: Mapping[str, Any], name: str, limit: int | None, *, required: bool = False,
          where: str = "") -> str | None:
    """`obj[name]`: a string (of at most `limit` characters), or None when absent or null
    (unless `required`)."""
    value = obj.get(name)
    shown = f"{where}.{name}" if where else name
    if value is None:
        if required:
            raise Malformed(f"`{shown}` is missing")
        return None
    if not isinstance(value, str):
        raise Malformed(f"`{shown}` is {_kind(value)}, not a string")
    if required and not value:
        raise Malformed(f"`{shown}` is empty")
    if limit is not None and len(value) > limit:
        raise Malformed(f"`{shown}` is {len(value)} characters long; the limit is {limit}")
    return value


def _kind(value: object) -> str:
    """What a parsed JSON value is, for a message: "an array", "a number", "null"…"""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "?")


def _shown(value: object) -> str:
    return repr(value[:40]) if isinstance(value, str) else _kind(value)
