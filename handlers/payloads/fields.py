"""The fields of a Slack request, read one at a time: each checked for its type and for the
limit of where it ends up (a user id goes into 32-character columns, a channel into 64, a
message ts into 32), or `Malformed` saying why; and where `WellFormed` keeps what it read in
Bolt's request context."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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
SLACK_ID = re.compile(r"[A-Za-z0-9._-]+")
#: A channel as a message names it: its id, or (where the app posted by name, as the
#: configured `#deployments` and the local shell's fake Slack do) `#` and its name.
CHANNEL = re.compile(r"#?[A-Za-z0-9._-]+")
#: Where `WellFormed` keeps what it read, in Bolt's request context (one read a request).
CONTEXT_KEY = "deploybot_request"


class Malformed(ValueError):
    """A Slack request whose shape is not what Slack sends; the message says why."""


def kept_in(context: Mapping[str, Any] | None) -> object:
    """What `WellFormed` read and kept in `context` (Bolt's), if any."""
    return context.get(CONTEXT_KEY) if context is not None else None


def url_of(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"`{name}` is {kind_of(value)}, not a string")
    if not value.startswith(("https://", "http://")) or len(value) > MAX_URL:
        raise Malformed(f"`{name}` is not an http(s) URL")
    return value


def slack_id(value: object, name: str, limit: int, pattern: re.Pattern[str] = SLACK_ID) -> str:
    """A Slack id (a user's, a channel's): a non-empty string of at most `limit` letters,
    digits and `._-` (a channel's may be `#name`)."""
    if not isinstance(value, str):
        raise Malformed(f"`{name}` is {kind_of(value)}, not a string")
    if not value:
        raise Malformed(f"`{name}` is empty")
    if len(value) > limit:
        raise Malformed(f"`{name}` is {len(value)} characters long; the limit is {limit}")
    if pattern.fullmatch(value) is None:
        raise Malformed(f"`{name}` is not a Slack id")
    return value


def channel_id_of(value: object, name: str) -> str | None:
    return None if value is None else slack_id(value, name, MAX_CHANNEL_ID, CHANNEL)


def text_of(obj: Mapping[str, Any], name: str, limit: int | None, *, required: bool = False,
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
        raise Malformed(f"`{shown}` is {kind_of(value)}, not a string")
    if required and not value:
        raise Malformed(f"`{shown}` is empty")
    if limit is not None and len(value) > limit:
        raise Malformed(f"`{shown}` is {len(value)} characters long; the limit is {limit}")
    return value


def kind_of(value: object) -> str:
    """What a parsed JSON value is, for a message: "an array", "a number", "null"…"""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), "?")


def shown(value: object) -> str:
    return repr(value[:40]) if isinstance(value, str) else kind_of(value)
