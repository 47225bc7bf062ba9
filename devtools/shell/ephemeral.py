"""Replies only one person sees (`Ephemerals`): what the bot posts to a response_url (unless
in_channel) and with chat.postEphemeral, kept per user so their buttons can be clicked
(Queue for the window, the rollback confirmation), replaced or deleted as Slack does when a
click on one is answered with `replace_original` / `delete_original`.

Slack keeps no copy of an ephemeral message the app can read (no ts to chat.update, absent
from conversations.history); the shell keeps these only to find their buttons. A click on
one sends the block_actions payload Slack sends for an ephemeral message: container type
"message" with `is_ephemeral: true` (devtools.slack_requests.block_actions_body).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

#: Marks a message dict as an ephemeral reply (the user who sees it).
EPHEMERAL_USER = "_ephemeral_user"
_ts = itertools.count(1)


def _new_ts() -> str:
    return f"1700000000.{next(_ts):06d}"


class Ephemerals:
    """The ephemeral replies of a session, newest last, and which click each answer is for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._clicked: dict[str, dict[str, Any]] = {}  # response key → message clicked on

    def clicked(self, key: str, message: dict[str, Any]) -> None:
        """A click on `message` was sent with the response_url under `key`."""
        with self._lock:
            self._clicked[key] = message

    def posted(self, *, user: str, channel: str, args: dict[str, Any],
               key: str | None = None) -> None:
        """The bot answered (a response_url post under `key`, or chat.postEphemeral) with
        `args`, seen only by `user` in `channel`."""
        with self._lock:
            clicked = self._clicked.get(key or "")
            if clicked is not None and clicked in self._messages and (
                    args.get("replace_original") or args.get("delete_original")):
                # Slack replaces (or deletes) the ephemeral message the button was on.
                self._messages.remove(clicked)
            if args.get("delete_original"):
                return
            blocks, text = args.get("blocks"), args.get("text")
            if not blocks and not text:
                return
            self._messages.append({"channel": channel, "ts": _new_ts(), "blocks": blocks,
                                   "text": text, EPHEMERAL_USER: user})

    def of(self, user: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self._messages if m.get(EPHEMERAL_USER) == user]

    def slack_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """`message` without the shell's own mark."""
        return {k: v for k, v in message.items() if k != EPHEMERAL_USER}
