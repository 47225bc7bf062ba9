"""What a Slack request asks, whatever its kind: `read` (raising `Malformed`) and
`request_of` (for code behind `WellFormed`, which kept what it read)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.payloads.clicks import INTERACTIVE, Click, click_of
from handlers.payloads.commands import Command, command_of
from handlers.payloads.events import Event, event_of
from handlers.payloads.fields import CONTEXT_KEY, Malformed, kept_in, kind_of

Request = Click | Command | Event


def read(body: Mapping[str, Any]) -> Request | None:
    """What `body` asks, read through its typed fields; None for a kind deploybot reads
    nothing of (url_verification, block_suggestion…: Bolt handles or ignores those).
    Raises `Malformed`. Every kind the body claims to be is checked (Bolt takes any body
    with a `command` as a slash command, whatever its `type`; payload_utils.py)."""
    kind = body.get("type")
    if not isinstance(kind, str | None):
        raise Malformed(f"`type` is {kind_of(kind)}")
    found: Request | None = None
    if kind == "event_callback":
        found = event_of(body)
    if kind in INTERACTIVE:
        found = click_of(body)
    if "command" in body:
        found = command_of(body)
    return found


def request_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None
               ) -> Request | None:
    """`read`, for code behind `WellFormed` (which refused what `read` cannot read, and kept
    what it read in `context`, Bolt's): None for a body it would refuse, rather than
    raising."""
    if context is not None and CONTEXT_KEY in context:
        return kept(context)
    try:
        return read(body)
    except Malformed:
        return None


def kept(context: Mapping[str, Any] | None) -> Request | None:
    """What `WellFormed` read into `context`, if it is a request."""
    found = kept_in(context)
    return found if isinstance(found, Click | Command | Event) else None
