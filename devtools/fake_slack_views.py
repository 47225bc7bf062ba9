"""Modals for the fake Slack (devtools/fake_slack.py): `views.open` and `views.update`, as
Slack documents them, and the trigger ids they take.

- `views.open` (https://docs.slack.dev/reference/methods/views.open): `view` (a JSON-encoded
  view) required, and a `trigger_id` "received from another interaction" (or an
  `interactivity_pointer`). Its errors include `expired_trigger_id` ("The trigger_id is
  expired"), `exchanged_trigger_id` ("The trigger_id was already exchanged in a previous
  call") and `invalid_trigger_id` ("The trigger_id is invalid"). Slack's modals guide: a
  trigger "expires in 3 seconds"; each one opens one view. The answer carries the view as
  opened: the fields sent plus `id`, `team_id`, `hash`, `state.values`, `root_view_id`,
  `app_id`, `bot_id`, `previous_view_id`.
- `views.update` (https://docs.slack.dev/reference/methods/views.update): `view`, and
  `view_id` or `external_id`; `hash` optional (a stale one is `hash_conflict`); an unknown
  view is `not_found`.

A view that is no modal, or a modal Slack would refuse, is `invalid_arguments`: `check`
(devtools/fake_slack_blocks.py's `view_problems`, after the modal view object's reference,
https://docs.slack.dev/reference/views/modal-views: its blocks, `title` required, at most 24
characters, as are `close` and `submit`; `submit` required when there is an input block;
`private_metadata` at most 3000 characters, `callback_id` 255).

A trigger is known to the fake when `issue` handed it out (devtools/slack_requests does for
every command and click it sends); one the fake never issued is `invalid_trigger_id`, one
older than `lifetime` seconds or expired by `expire_all` is `expired_trigger_id`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Slack's modals guide: a trigger_id "expires in 3 seconds".
TRIGGER_LIFETIME = 3.0


@dataclass
class OpenView:
    """A modal the bot opened, as the fake keeps it."""

    user_id: str | None
    view: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)  # each views.update's view


class FakeViews:
    """The fake's modals and triggers. Not thread-safe on its own: FakeSlack holds its lock
    around every call."""

    def __init__(self, *, team_id: str, bot_id: str, app_id: str,
                 check: Callable[[Any], list[str]],
                 clock: Callable[[], float] = time.monotonic,
                 lifetime: float = TRIGGER_LIFETIME) -> None:
        self._team_id = team_id
        self._bot_id = bot_id
        self._app_id = app_id
        self._check = check  # what Slack refuses in a view (view_problems)
        self._clock = clock
        self.lifetime = lifetime
        self._triggers: dict[str, tuple[float, str | None]] = {}  # id -> (issued, user)
        self._used: set[str] = set()
        self._expired: set[str] = set()
        self._views: dict[str, OpenView] = {}
        self._ids = itertools.count(1)

    # -- test helpers ----------------------------------------------------------------
    def issue(self, trigger_id: str, user_id: str | None = None) -> None:
        """`trigger_id` was sent to the app with an interaction of `user_id`."""
        self._triggers[trigger_id] = (self._clock(), user_id)

    def expire_all(self) -> None:
        """Every trigger issued so far has expired (as 3 seconds later)."""
        self._expired.update(self._triggers)

    def opened(self) -> list[OpenView]:
        """The modals opened, oldest first."""
        return list(self._views.values())

    def reset(self) -> None:
        self._triggers.clear()
        self._used.clear()
        self._expired.clear()
        self._views.clear()

    # -- Web API methods -------------------------------------------------------------
    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
        view = args.get("view")
        if not trigger:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] missing required field: "
                                                       "trigger_id"]}}
        problems = self._problems(view)
        if problems:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]}}
        issued = self._triggers.get(trigger)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if trigger in self._expired or self._clock() - issued[0] > self.lifetime:
            return {"ok": False, "error": "expired_trigger_id"}
        if trigger in self._used:
            return {"ok": False, "error": "exchanged_trigger_id"}
        self._used.add(trigger)
        assert isinstance(view, dict)
        view_id = f"VM{next(self._ids):07d}"
        kept = self._stored(view, view_id, previous=None)
        self._views[view_id] = OpenView(user_id=issued[1], view=kept)
        return {"ok": True, "view": kept}

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        view_id = str(args.get("view_id") or "")
        if not view_id and args.get("external_id"):
            view_id = next((k for k, v in self._views.items()
                            if v.view.get("external_id") == args["external_id"]), "")
        found = self._views.get(view_id)
        if found is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != found.view["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        problems = self._problems(view)
        if problems:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]}}
        assert isinstance(view, dict)
        kept = self._stored(view, view_id, previous=found.view)
        found.view = kept
        found.updates.append(kept)
        return {"ok": True, "view": kept}

    def _problems(self, view: Any) -> list[str]:
        if not isinstance(view, dict) or view.get("type") != "modal":
            return ["view.type must be modal [json-pointer:/view/type]"]
        return self._check(view)

    def _stored(self, view: dict[str, Any], view_id: str,
                previous: dict[str, Any] | None) -> dict[str, Any]:
        kept = {"private_metadata": "", "callback_id": "", "external_id": "",
                "clear_on_close": False, "notify_on_close": False}
        kept.update(view)
        kept.update({"id": view_id, "team_id": self._team_id, "bot_id": self._bot_id,
                     "app_id": self._app_id, "app_installed_team_id": self._team_id,
                     "hash": f"{time.time():.6f}.{next(self._ids):08x}",
                     "state": {"values": {}}, "root_view_id": view_id,
                     "previous_view_id": None if previous is None else previous["id"]})
        return kept
