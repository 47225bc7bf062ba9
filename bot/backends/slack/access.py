"""What the bot token may do in Slack, for `deploybot doctor`: the SlackAccess port.

`BOT_SCOPES` is the exact set of bot token scopes deploybot's Slack calls need (the same
list as `slack-manifest.yaml`; tests/test_slack_manifest.py keeps the code's calls, this set
and the manifest in step). `identity()` is auth.test, whose `X-OAuth-Scopes` response header
lists the scopes the installed token has; `is_member()` is conversations.info (a channel id)
or conversations.list (a #name): the bot can post only where it is a member.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.backends.slack.client import slack_call
from bot.errors import NotFound, PermanentError
from bot.ports import SlackIdentity

#: Bot token scopes: chat:write (chat.postMessage, chat.update, chat.delete), commands (the
#: slash commands), usergroups:read (usergroups.users.list: roles given as user groups),
#: channels:read + groups:read (conversations.info / .list: `deploybot doctor` asks whether
#: the bot is in the deployments channel, public or private), files:write + im:write (the
#: files /logs shares, in a thread or the asker's DM opened with conversations.open).
#: auth.test, chat.getPermalink and views.publish need no scope.
BOT_SCOPES = frozenset({"chat:write", "commands", "usergroups:read", "channels:read",
                        "groups:read", "files:write", "im:write"})

_SCOPES_HEADER = "x-oauth-scopes"


class SlackAccessCheck:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def identity(self) -> SlackIdentity:
        res = slack_call(self._client.auth_test)
        headers = {str(k).lower(): str(v) for k, v in (res.headers or {}).items()}
        raw = headers.get(_SCOPES_HEADER)
        scopes = (frozenset(s.strip() for s in raw.split(",") if s.strip())
                  if raw is not None else None)
        return SlackIdentity(user=str(res.get("user") or res.get("user_id") or "?"),
                             team=str(res.get("team") or res.get("team_id") or "?"),
                             scopes=scopes)

    def is_member(self, channel: str) -> bool:
        if channel.startswith("#"):
            return self._member_by_name(channel[1:])
        try:
            res = slack_call(self._client.conversations_info, channel=channel)
        except PermanentError as e:
            if "channel_not_found" in str(e):
                raise NotFound(f"Slack has no channel {channel} the bot can see") from e
            raise
        info: dict[str, Any] = res.get("channel") or {}
        return bool(info.get("is_member"))

    def _member_by_name(self, name: str) -> bool:
        cursor: str | None = None
        while True:
            res = slack_call(self._client.conversations_list,
                             types="public_channel,private_channel",
                             exclude_archived=True, limit=1000, cursor=cursor)
            for info in res.get("channels") or []:
                if info.get("name") == name:
                    return bool(info.get("is_member"))
            cursor = (res.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                raise NotFound(f"Slack has no channel #{name} the bot can see (a private "
                               "channel is visible only once the bot is in it)")
