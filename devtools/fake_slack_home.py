"""The App Home of the fake Slack (devtools/fake_slack.py): ``views.publish`` and each user's
Home view, and what Slack refuses in any view (``view_problems``, which the modals of
devtools/fake_slack_views.py check too).

- ``views.publish`` (https://docs.slack.dev/reference/methods/views.publish): ``user_id``
  and ``view`` required; a view Slack will not take is ``invalid_arguments`` with
  ``response_metadata.messages``. The answer carries the view as published (its ``id``,
  kept across publishes for the same user, ``team_id``, ``bot_id``, ``app_id``, ``hash``,
  ``state``).
- A view's limits (Slack's Block Kit reference of each block and element): at most 100
  blocks, texts of 3000 characters in sections and context, 150 in headers and 75 in
  buttons, at most 25 elements in an actions block and 10 in a context block, no block id
  used twice.
"""

from __future__ import annotations

import time
from typing import Any

from devtools.fake_slack_workspace import BOT_ID, TEAM_ID


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


def view_problems(view: Any) -> list[str]:
    """What Slack would refuse in a published view: its type, more than 100 blocks, texts
    over their limits (3000 for sections and context, 150 for headers, 75 for buttons),
    more than 25 elements in an actions block, and block ids used twice."""
    if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
        return ["view must be an object with a type of home or modal"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return ["view.blocks must be a list"]
    problems: list[str] = []
    if len(blocks) > 100:
        problems.append(f"no more than 100 items allowed [json-pointer:/view/blocks] "
                        f"(got {len(blocks)})")
    seen: set[str] = set()

    def text_of(node: Any) -> str:
        return str(node.get("text", "")) if isinstance(node, dict) else ""

    for i, block in enumerate(blocks):
        where = f"[json-pointer:/view/blocks/{i}]"
        if not isinstance(block, dict):
            problems.append(f"block must be an object {where}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                problems.append(f"duplicate block_id {block_id!r} {where}")
            seen.add(str(block_id))
        kind = block.get("type")
        limit = {"section": 3000, "header": 150}.get(str(kind))
        if limit is not None and len(text_of(block.get("text"))) > limit:
            problems.append(f"must be less than {limit + 1} characters {where}/text")
        for j, element in enumerate(block.get("elements") or []):
            if kind == "context" and len(text_of(element)) > 3000:
                problems.append(f"must be less than 3001 characters {where}/elements/{j}")
            if isinstance(element, dict) and element.get("type") == "button" \
                    and len(text_of(element.get("text"))) > 75:
                problems.append(f"must be less than 76 characters {where}/elements/{j}/text")
        if kind == "actions" and len(block.get("elements") or []) > 25:
            problems.append(f"no more than 25 items allowed {where}/elements")
        if kind == "context" and len(block.get("elements") or []) > 10:
            problems.append(f"no more than 10 items allowed {where}/elements")
    return problems
