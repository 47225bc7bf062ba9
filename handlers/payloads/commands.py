"""Slash commands, read as a `Command` (Slack sends a form; Bolt reads a JSON body too)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.payloads.fields import (
    MAX_ID,
    MAX_USER_ID,
    channel_id_of,
    kept_in,
    slack_id,
    text_of,
    url_of,
)


@dataclass(frozen=True)
class Command:
    """A slash command invocation."""

    command: str
    text: str
    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None


def command_of(body: Mapping[str, Any], context: Mapping[str, Any] | None = None
               ) -> Command:
    """The slash command `body` (as `WellFormed` read it into `context`); `Malformed` when
    its shape is wrong. (Slack sends a form, whose values are all strings; Bolt reads a JSON
    body too, whose values may be anything.)"""
    kept = kept_in(context)
    if isinstance(kept, Command):
        return kept
    name = text_of(body, "command", MAX_ID, required=True)
    assert name is not None
    user = slack_id(body.get("user_id"), "user_id", MAX_USER_ID)
    return Command(
        command=name,
        text=text_of(body, "text", None) or "",
        user_id=user,
        channel_id=channel_id_of(body.get("channel_id"), "channel_id"),
        response_url=url_of(body.get("response_url"), "response_url"),
        trigger_id=text_of(body, "trigger_id", MAX_ID),
    )
