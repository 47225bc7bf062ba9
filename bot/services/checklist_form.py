""""Not applicable" on a checklist item asks why in a modal (opened with the click's
trigger_id); the submission's reason is read here (required, one short line) before
ChecklistService.not_applicable records it."""

from __future__ import annotations

from bot.domain.checklist import clean_reason
from bot.domain.forms import REASON, FormProblems
from bot.errors import UserError
from bot.ports import Modals
from bot.presentation.checklist_form_views import not_applicable_form


class NotApplicableForm:
    def __init__(self, *, modals: Modals) -> None:
        self._modals = modals

    def open(self, trigger_id: str | None, deployment_id: int, item: str, *,
             private_metadata: str) -> str:
        """Open the modal asking why `item` does not apply; its view id."""
        return self._modals.open_modal(trigger_id or "", not_applicable_form(
            deployment_id, item, private_metadata=private_metadata))

    @staticmethod
    def reason(typed: str | None) -> str:
        """The reason as submitted, or FormProblems saying what is wrong with it."""
        try:
            return clean_reason(typed or "")
        except UserError as e:
            raise FormProblems({REASON: e.message}) from e
