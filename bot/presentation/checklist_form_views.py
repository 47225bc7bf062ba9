"""The modal "Not applicable" on a checklist item opens: why the item does not apply to this
deploy (required, a word or a short sentence); the reason is shown on the card's line and
kept in the audit (bot.services.checklist). Pure."""

from __future__ import annotations

from typing import Any

from bot.domain.checklist import LABELS, MAX_REASON
from bot.presentation import ids
from bot.presentation.modal_parts import field_errors, reason_modal


def not_applicable_form(deployment_id: int, item: str, *,
                        private_metadata: str) -> dict[str, Any]:
    return reason_modal(
        callback_id=ids.NA_FORM, field=ids.NA_REASON, title="Not applicable",
        submit="Mark not applicable",
        intro=(f"Mark *{LABELS.get(item, item)}* not applicable to deployment "
               f"#{deployment_id}? The reason is shown on the card and kept in the audit log."),
        label="Why does it not apply?", placeholder="a word, e.g. no new flags",
        max_length=MAX_REASON, private_metadata=private_metadata)


def na_errors(message: str) -> dict[str, Any]:
    """The ack of a refused submission: the message under the reason."""
    return field_errors(ids.NA_REASON, message)
