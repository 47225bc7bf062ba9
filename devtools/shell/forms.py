"""Modals in the shell: the forms deploybot opens (views.open on the fake Slack) shown as a
line, and the one the shell can fill in — Reject's reason, given after the button
(`click reject #3 the migration is not reviewed`) — submitted as Slack would (a
view_submission). The shell's requests carry trigger ids the fake issued, so views.open
takes them as Slack takes a fresh one.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

from bot.presentation import ids
from devtools.fake_slack import FakeSlack
from devtools.shell.render import object_text
from devtools.slack_requests import text_value, view_submission_body

_counter = itertools.count(1)

#: What to do instead, for a form the shell cannot fill in (by callback_id).
_HINTS = {
    ids.DEPLOY_FORM: "type the command whole instead, e.g. `/deploy production v1.2.3`",
    ids.REJECT_FORM: "give the reason after the button: `click reject #N <reason>`",
    ids.NA_FORM: "tick the item instead, or mark it in Slack",
}


class Forms:
    def __init__(self, fake: FakeSlack, *, say: Callable[[list[str]], None],
                 submit: Callable[[str], None]) -> None:
        self._fake = fake
        self._say = say
        self._submit = submit  # dispatches a view_submission body as the current user

    def trigger(self, user_id: str) -> str:
        """A trigger id for a request of `user_id`, issued by the fake Slack."""
        n = next(_counter)
        trigger_id = f"{2_000_000_000_000 + n}.{2_000_000_000_000 + n}.{uuid.uuid4().hex}"
        self._fake.issue_trigger(trigger_id, user_id)
        return trigger_id

    def opened(self) -> int:
        return len(self._fake.open_views())

    def after(self, before: int, *, user_id: str, typed: str | None) -> None:
        """Show the forms opened since `before`; submit Reject's with `typed` as the reason."""
        for opened in self._fake.open_views()[before:]:
            view = opened.view
            if view.get("callback_id") == ids.REJECT_FORM and typed:
                values = {ids.REJECT_REASON: {ids.REJECT_REASON: text_value(typed)}}
                self._say([f"(you type the reason “{typed}” and submit the form)"])
                self._submit(view_submission_body(view, values, user_id=user_id,
                                                  trigger_id=self.trigger(user_id)))
                continue
            self._say([_shown(view)])


def _shown(view: dict[str, Any]) -> str:
    labels = [object_text(b.get("label")) for b in view.get("blocks") or []
              if b.get("type") == "input"]
    hint = _HINTS.get(str(view.get("callback_id")), "the shell cannot fill forms in")
    return (f"(Slack opens the form “{object_text(view.get('title'))}”: "
            f"{', '.join(labels)} — the shell cannot fill it in; {hint})")
