"""The workspace of the fake Slack (devtools/fake_slack.py): its team and bot, its users,
user groups and channels, and the Web API methods that read them.

- ``auth.test`` (https://docs.slack.dev/reference/methods/auth.test): the team and the bot.
- ``users.info`` (https://docs.slack.dev/reference/methods/users.info): any user id is a
  user, named after its id, in New York's time zone.
- ``usergroups.users.list`` (https://docs.slack.dev/reference/methods/usergroups.users.list):
  the members given to ``set_usergroup``; an unknown group is ``no_such_subteam``.
- ``conversations.open`` (https://docs.slack.dev/reference/methods/conversations.open): a
  DM with a user is ``D`` + the user id.
- ``conversations.info`` / ``conversations.list``
  (https://docs.slack.dev/reference/methods/conversations.info, .../conversations.list): the
  channels given to ``set_channel``; a private channel the bot is not in is neither listed
  nor found (``channel_not_found``), as in Slack.
"""

from __future__ import annotations

from typing import Any

TEAM_ID = "T0001"
TEAM_NAME = "Deploybot Test"
TEAM_URL = "https://example.slack.com/"
BOT_USER_ID = "UBOT"
BOT_USER_NAME = "deploybot"
BOT_ID = "B0001"


def _first_user(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else None
    if isinstance(value, str) and value:
        return value.split(",", 1)[0].strip() or None
    return None


class FakeWorkspace:
    """The fake's user groups and channels. Not thread-safe on its own: FakeSlack holds its
    lock around every call."""

    def __init__(self, usergroups: dict[str, list[str]] | None = None) -> None:
        self._usergroups: dict[str, list[str]] = {
            group: list(users) for group, users in (usergroups or {}).items()
        }
        self._channels: dict[str, dict[str, Any]] = {}

    # -- test helpers ----------------------------------------------------------------
    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        self._usergroups[group_id] = list(users)

    def set_channel(self, channel_id: str, name: str, *, member: bool, private: bool) -> None:
        self._channels[channel_id] = {"id": channel_id, "name": name, "is_channel": True,
                                      "is_private": private, "is_member": member,
                                      "is_archived": False}

    def is_member(self, channel: str) -> bool:
        """The bot is in ``channel``; unknown channels: as if the bot were in them."""
        info = self._channels.get(channel)
        return info is None or bool(info["is_member"])

    # -- Web API methods -------------------------------------------------------------
    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": str(args["channel"])}}
        user = _first_user(args.get("users"))
        if user is None:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + user}}

    def _visible(self, info: dict[str, Any]) -> bool:
        return bool(info["is_member"] or not info["is_private"])

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        info = self._channels.get(str(args.get("channel") or ""))
        if info is None or not self._visible(info):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": dict(info)}

    def conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = str(args.get("types") or "public_channel").split(",")
        wanted = [c for c in self._channels.values() if self._visible(c)
                  and ("private_channel" if c["is_private"] else "public_channel") in types]
        return {"ok": True, "channels": [dict(c) for c in wanted],
                "response_metadata": {"next_cursor": ""}}

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        users = self._usergroups.get(group)
        if users is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(users)}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user") or "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        name = user_id.lower()
        real_name = f"User {user_id}"
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name,
                "tz": "America/New_York",
                "is_bot": False,
                "deleted": False,
                "profile": {"real_name": real_name, "display_name": name},
            },
        }
