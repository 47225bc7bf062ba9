"""The pre-deployment checklist on the deployment card: a checkbox ticks (or unticks) an
item; "Not applicable" asks why in a modal, whose submission marks it so with the reason.
Each click is acked at once and done on the background pool (handlers.listeners.on_click):
parse the block id → one service call → an ephemeral reply (for the modal's submission, on
the click's response_url, carried in its private_metadata; a DM without one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_bolt import App

from bot.container import Container
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.checklist_form_views import na_errors
from bot.presentation.checklist_views import parse_block_id, tick_reply
from bot.services.checklist import ChecklistService
from handlers.listeners import Answer, on_click, on_submission
from handlers.payloads import Action, Click, Malformed
from handlers.replies import ephemeral


def _target(action: Action, prefix: str) -> tuple[int, str]:
    found = parse_block_id(action.block_id or "", prefix)
    if found is None:
        raise UserError("That checklist item is from an old message; use `/deploy status` "
                        "to find the deployment.")
    return found


@dataclass(frozen=True)
class Marking:
    """What the "not applicable" modal carries: the item, and where to answer."""

    deployment_id: int
    item: str
    response_url: str | None = None

    def encoded(self) -> str:
        return json.dumps({"d": self.deployment_id, "i": self.item, "u": self.response_url},
                          separators=(",", ":"))


def marking_of(submitted: Click) -> Marking:
    """The modal's private_metadata read back (we wrote it; Slack keeps it unchanged)."""
    try:
        value = json.loads((submitted.view.private_metadata if submitted.view else "") or "")
    except ValueError:
        raise Malformed("the checklist modal's private_metadata is not JSON") from None
    if not (isinstance(value, dict) and isinstance(value.get("d"), int)
            and isinstance(value.get("i"), str) and isinstance(value.get("u"), str | None)):
        raise Malformed("the checklist modal's private_metadata is not what it opened with")
    return Marking(value["d"], value["i"], value.get("u"))


def register(app: App, container: Container) -> None:

    def service() -> ChecklistService:
        if container.checklists is None:
            raise UserError("No pre-deployment checklist is configured (`checklist:` in "
                            "app.yaml).")
        return container.checklists

    def tick(clicked: Click) -> Answer:
        deployment_id, item = _target(clicked.action, ids.CHECKLIST_ITEM_BLOCK)
        checked = bool(clicked.action.selected_options)
        checklist = service().tick(deployment_id, item, user_id=clicked.user_id,
                                   checked=checked)
        return ephemeral(tick_reply(deployment_id, item, checklist, checked=checked))

    def ask_why(clicked: Click) -> Answer:
        deployment_id, item = _target(clicked.action, ids.CHECKLIST_NA_BLOCK)
        container.na_form.open(clicked.trigger_id, deployment_id, item,
                               private_metadata=Marking(deployment_id, item,
                                                        clicked.response_url).encoded())
        return {}  # the modal is the answer

    def read(submitted: Click) -> tuple[Marking, str]:
        view = submitted.view
        return marking_of(submitted), container.na_form.reason(
            view.field(ids.NA_REASON).value if view else None)

    def not_applicable(read: tuple[Marking, str], submitted: Click) -> Answer:
        marking, reason = read
        checklist = service().not_applicable(marking.deployment_id, marking.item,
                                             user_id=submitted.user_id, reason=reason)
        state = checklist.get(marking.item)
        shown = state.tick.reason if state is not None and state.tick else reason
        return ephemeral(tick_reply(marking.deployment_id, marking.item, checklist,
                                    checked=False, reason=shown))

    on_click(app, container, ids.CHECKLIST_TICK, tick)
    on_click(app, container, ids.CHECKLIST_NOT_APPLICABLE, ask_why)
    on_submission(app, container, ids.NA_FORM, read=read,
                  refused=lambda e: na_errors(" ".join(e.problems.values())),
                  answer=not_applicable, answer_at=lambda s: marking_of(s).response_url)
