"""Interactive payloads — block_actions clicks, views submitted or closed, shortcuts — read as
a `Click`: what was clicked (`Action`), where it sits (`Container`), who and in which channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.payloads.fields import (
    MAX_ID,
    MAX_TS,
    MAX_USER_ID,
    Malformed,
    channel_id_of,
    kept_in,
    kind_of,
    shown,
    slack_id,
    text_of,
    url_of,
)
from handlers.payloads.views import View, view_of

#: Interactive payload types read as a `Click`.
INTERACTIVE = frozenset({"block_actions", "view_submission", "view_closed", "shortcut",
                         "message_action"})


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


def click_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Click:
    """The interactive payload `body` (as `WellFormed` read it into `context`, Bolt's);
    `Malformed` when its shape is wrong."""
    kept = kept_in(context)
    if isinstance(kept, Click):
        return kept
    kind = body.get("type")
    if kind not in INTERACTIVE:
        raise Malformed(f"`type` {shown(kind)} is not an interaction")
    assert isinstance(kind, str)
    actions: tuple[Action, ...] = ()
    container = Container()
    if kind == "block_actions":  # a click always says what and where
        actions = _actions(body.get("actions"))
        container = _container(body.get("container"))
    elif body.get("container") is not None:
        container = _container(body.get("container"))
    view = view_of(body.get("view"), required=kind in ("view_submission", "view_closed"))
    callback_id = None
    if kind in ("shortcut", "message_action"):
        callback_id = text_of(body, "callback_id", MAX_ID, required=True)
    return Click(
        type=kind,
        user_id=user_of(body.get("user")),
        actions=actions,
        channel_id=channel_of(body.get("channel")),
        container=container,
        response_url=_response_url(body),
        trigger_id=text_of(body, "trigger_id", MAX_ID),
        view=view,
        callback_id=callback_id,
    )


def _actions(value: object) -> tuple[Action, ...]:
    if not isinstance(value, list):
        raise Malformed(f"`actions` is {kind_of(value)}, not an array")
    if not value:
        raise Malformed("`actions` is empty")
    return tuple(_action(a, i) for i, a in enumerate(value))


def _action(value: object, i: int) -> Action:
    where = f"actions[{i}]"
    if not isinstance(value, dict):
        raise Malformed(f"`{where}` is {kind_of(value)}, not an object")
    action_id = text_of(value, "action_id", MAX_ID, required=True, where=where)
    assert action_id is not None
    option = value.get("selected_option")
    if option is not None and not isinstance(option, dict):
        raise Malformed(f"`{where}.selected_option` is {kind_of(option)}")
    options = value.get("selected_options")
    if options is None:
        options = []
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise Malformed(f"`{where}.selected_options` is not an array of objects")
    return Action(
        action_id=action_id,
        value=text_of(value, "value", None, where=where),
        block_id=text_of(value, "block_id", MAX_ID, where=where),
        action_ts=text_of(value, "action_ts", MAX_TS, where=where),
        selected_option=(text_of(option, "value", None, where=f"{where}.selected_option")
                         if option is not None else None),
        selected_options=tuple(
            text_of(o, "value", None, where=f"{where}.selected_options[{j}]") or ""
            for j, o in enumerate(options)),
    )


def user_of(value: object) -> str:
    if not isinstance(value, dict):
        raise Malformed(f"`user` is {kind_of(value)}, not an object")
    return slack_id(value.get("id"), "user.id", MAX_USER_ID)


def channel_of(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"`channel` is {kind_of(value)}, not an object")
    return channel_id_of(value.get("id"), "channel.id")


def _container(value: object) -> Container:
    if not isinstance(value, dict):
        raise Malformed(f"`container` is {kind_of(value)}, not an object")
    ephemeral = value.get("is_ephemeral")
    if not isinstance(ephemeral, bool | None):
        raise Malformed(f"`container.is_ephemeral` is {kind_of(ephemeral)}")
    return Container(
        type=text_of(value, "type", MAX_ID, where="container"),
        message_ts=text_of(value, "message_ts", MAX_TS, where="container"),
        channel_id=channel_id_of(value.get("channel_id"), "container.channel_id"),
        is_ephemeral=bool(ephemeral),
        view_id=text_of(value, "view_id", MAX_ID, where="container"),
    )


def _response_url(body: Mapping[str, Any]) -> str | None:
    """`response_url`, or the first of `response_urls` (a modal's), as Bolt takes it."""
    if "response_url" in body:
        return url_of(body["response_url"], "response_url")
    urls = body.get("response_urls")
    if urls is None:
        return None
    if not isinstance(urls, list) or not all(isinstance(u, dict) for u in urls):
        raise Malformed("`response_urls` is not an array of objects")
    return url_of(urls[0].get("response_url"), "response_urls[0].response_url") if urls else None
