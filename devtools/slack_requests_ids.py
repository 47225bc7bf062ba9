"""Who the requests of devtools/slack_requests.py come from: the workspace (team), its
deploy channel, the app and its bot, Slack's deprecated verification token, and the names
and fresh trigger ids Slack puts in a payload. Shared by the slash command, block_actions,
view and event bodies.
"""

from __future__ import annotations

import itertools
import uuid

DEFAULT_TEAM_ID = "T0001"
DEFAULT_CHANNEL_ID = "C0DEPLOYS"
TEAM_DOMAIN = "example"
API_APP_ID = "A0DEPLOYBOT"
BOT_USER_ID = "UBOT"
BOT_ID = "B0001"
# Slack's deprecated verification token; Bolt ignores it but Slack still sends it.
VERIFICATION_TOKEN = "xxxxDEPRECATEDverificationTOKEN"

_trigger_counter = itertools.count(1)


def new_trigger_id() -> str:
    """A trigger id unique within this process, shaped as Slack's."""
    n = next(_trigger_counter)
    return f"{1_000_000_000_000 + n}.{1_000_000_000_000 + n}.{uuid.uuid4().hex}"


def channel_name_of(channel_id: str) -> str:
    """The ``channel_name`` Slack sends with ``channel_id``."""
    if channel_id == DEFAULT_CHANNEL_ID:
        return "deploys"
    if channel_id.startswith("D"):
        return "directmessage"
    return channel_id.lower()


def user_name_of(user_id: str) -> str:
    """The ``user_name`` Slack sends with ``user_id`` (here: the id, lower-cased)."""
    return user_id.lower()
