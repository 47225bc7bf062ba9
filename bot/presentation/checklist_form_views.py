"""The modal "Not applicable" on a checklist item opens: why the item does not apply to this
deploy (required, a word or a short sentence); the reason is shown on the card's line and
kept in the audit (bot.services.checklist). Pure."""

from __future__ import annotations

from typing import Any

from bot.domain.checklist import LABELS, MAX_REASON
from bot.presentation import ids


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def not_applicable_form(deployment_id: int, item: str, *,
                        private_metadata: str) -> dict[str, Any]:
    label = LABELS.get(item, item)
    return {
        "type": "modal", "callback_id": ids.NA_FORM, "title": _text("Not applicable"),
        "submit": _text("Mark not applicable"), "close": _text("Cancel"),
        "private_metadata": private_metadata,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                f"Mark *{label}* not applicable to deployment #{deployment_id}? The reason "
                "is shown on the card and kept in the audit log.")}},
            {"type": "input", "block_id": ids.NA_REASON,
             "label": _text("Why does it not apply?"),
             "element": {"type": "plain_text_input", "action_id": ids.NA_REASON,
                         "max_length": MAX_REASON,
                         "placeholder": _text("a word, e.g. no new flags")}},
        ],
    }


def na_errors(message: str) -> dict[str, Any]:
    """The ack of a refused submission: the message under the reason."""
    return {"response_action": "errors", "errors": {ids.NA_REASON: message[:150]}}
