"""Events API callbacks, read as an `Event`: its type, and the user and tab it names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.payloads.fields import MAX_ID, MAX_USER_ID, Malformed, kept_in, kind_of, text_of


@dataclass(frozen=True)
class Event:
    """An Events API callback: the event's type and, when it names one, its user (a
    string `user`: some events carry an object there, read as no user) and tab
    (app_home_opened)."""

    type: str | None
    event_id: str | None = None
    user_id: str | None = None
    tab: str | None = None


def event_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Event:
    """The Events API callback `body` (as `WellFormed` read it into `context`); `Malformed`
    when `event` is not an object."""
    kept = kept_in(context)
    if isinstance(kept, Event):
        return kept
    ev = body.get("event")
    if not isinstance(ev, dict):
        raise Malformed(f"`event` is {kind_of(ev)}")
    kind = ev.get("type")
    if not isinstance(kind, str | None):
        raise Malformed(f"`event.type` is {kind_of(kind)}")
    user = ev.get("user")
    return Event(type=kind, event_id=text_of(body, "event_id", MAX_ID),
                 user_id=user if isinstance(user, str) and 0 < len(user) <= MAX_USER_ID
                 else None,
                 tab=text_of(ev, "tab", MAX_ID, where="event"))
