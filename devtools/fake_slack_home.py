"""The App Home of the fake Slack (devtools/fake_slack.py): ``views.publish`` and each user's
Home view.

- ``views.publish`` (https://docs.slack.dev/reference/methods/views.publish): ``user_id``
  and ``view`` required; a view Slack will not take is ``invalid_arguments`` with
  ``response_metadata.messages``. The answer carries the view as published (its ``id``,
  kept across publishes for the same user, ``team_id``, ``bot_id``, ``app_id``, ``hash``,
  ``state``).
- What Slack refuses in a view is devtools/fake_slack_blocks.py's ``view_problems`` (the
  one validator the messages and modals use too), re-exported here.
"""

from __future__ import annotations

import time
from typing import Any

from devtools.fake_slack_blocks import view_problems
from devtools.fake_slack_workspace import BOT_ID, TEAM_ID

__all__ = ["FakeHome", "view_problems"]


class FakeHome:
    """Each user's published Home view. Not thread-safe on its own: FakeSlack holds its
    lock around every call."""

    def __init__(self) -> None:
        self._home_views: dict[str, dict[str, Any]] = {}

    # -- test helpers ----------------------------------------------------------------
    def view(self, user_id: str) -> dict[str, Any] | None:
        """A copy of the Home view last published for ``user_id``, if any."""
        view = self._home_views.get(user_id)
        return dict(view) if view is not None else None

    def clear(self) -> None:
        self._home_views.clear()

    # -- Web API methods -------------------------------------------------------------
    def publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        user_id = str(args.get("user_id") or "")
        problems = ["user_id is required"] if not user_id else []
        problems += view_problems(view)
        if problems:  # as Slack answers a view it will not take
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]}}
        assert isinstance(view, dict)
        previous = self._home_views.get(user_id)
        view_id = previous["id"] if previous else f"V{len(self._home_views) + 1}"
        published: dict[str, Any] = dict(view)
        published.update({"id": view_id, "team_id": TEAM_ID, "bot_id": BOT_ID,
                          "app_id": "A0DEPLOYBOT", "hash": f"{time.time():.6f}",
                          "state": {"values": {}}})
        self._home_views[user_id] = published
        return {"ok": True, "view": published}
