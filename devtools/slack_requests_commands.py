"""Slash command bodies for devtools/slack_requests.py: the form-urlencoded body Slack posts
when a user runs a slash command, with every field Slack sends (token, team, channel, user,
command, text, api_app_id, is_enterprise_install, response_url, trigger_id:
https://api.slack.com/interactivity/slash-commands).
"""

from __future__ import annotations

from urllib.parse import urlencode

from devtools.slack_requests_ids import (
    API_APP_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    channel_name_of,
    new_trigger_id,
    user_name_of,
)


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    user_name: str | None = None,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    response_url: str,
    trigger_id: str | None = None,
) -> str:
    """Form-urlencoded body of a slash command invocation, with every field Slack sends.

    ``user_name`` defaults to the lower-cased user id, ``trigger_id`` to a fresh unique one.
    """
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": (channel_name if channel_name is not None
                         else channel_name_of(channel_id)),
        "user_id": user_id,
        "user_name": user_name if user_name is not None else user_name_of(user_id),
        "command": command if command.startswith("/") else "/" + command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id if trigger_id is not None else new_trigger_id(),
    }
    return urlencode(fields)
