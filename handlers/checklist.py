"""The pre-deployment checklist on the deployment card: a checkbox ticks (or unticks) an
item, a text input marks one not applicable with a reason. Each is acked at once and done
on the background pool (handlers.listeners.on_click): parse the block id → one
ChecklistService call → an ephemeral reply.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.checklist_views import parse_block_id, tick_reply
from bot.services.checklist import ChecklistService
from handlers.listeners import Answer, on_click
from handlers.payloads import Action, Click
from handlers.replies import ephemeral


def _target(action: Action, prefix: str) -> tuple[int, str]:
    found = parse_block_id(action.block_id or "", prefix)
    if found is None:
        raise UserError("That checklist item is from an old message; use `/deploy status` "
                        "to find the deployment.")
    return found


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

    def not_applicable(clicked: Click) -> Answer:
        deployment_id, item = _target(clicked.action, ids.CHECKLIST_NA_BLOCK)
        reason = clicked.action.value or ""
        checklist = service().not_applicable(deployment_id, item,
                                             user_id=clicked.user_id, reason=reason)
        state = checklist.get(item)
        shown = state.tick.reason if state is not None and state.tick else reason
        return ephemeral(tick_reply(deployment_id, item, checklist, checked=False,
                                    reason=shown))

    on_click(app, container, ids.CHECKLIST_TICK, tick)
    on_click(app, container, ids.CHECKLIST_NOT_APPLICABLE, not_applicable)
