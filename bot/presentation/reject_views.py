"""The modal the Reject button opens: why the deploy is rejected (required). The reason goes
on the card, in the requester's DM and in the audit (bot.services.approvals). Pure."""

from __future__ import annotations

from typing import Any

from bot.domain.approval import request_label
from bot.domain.commands import MAX_REASON
from bot.domain.deployment import Deployment
from bot.presentation import ids

#: The reason's field, as a refused submission names it.
REASON = "reason"


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def reject_form(d: Deployment, *, private_metadata: str) -> dict[str, Any]:
    """The modal; `private_metadata` says where the answer goes (handlers.reject_reason)."""
    label = request_label(d)
    return {
        "type": "modal", "callback_id": ids.REJECT_FORM, "title": _text("Reject"),
        "submit": _text("Reject"), "close": _text("Cancel"),
        "private_metadata": private_metadata,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                f"Reject {label}? The requester is told why, on the card and in a DM; the "
                "reason is kept in the audit log.")}},
            {"type": "input", "block_id": ids.REJECT_REASON, "label": _text("Reason"),
             "element": {"type": "plain_text_input", "action_id": ids.REJECT_REASON,
                         "multiline": True, "max_length": MAX_REASON,
                         "placeholder": _text("e.g. the migration is not reviewed yet")}},
        ],
    }


def reason_errors(problems: dict[str, str]) -> dict[str, Any]:
    """The ack of a refused submission: the message under the reason."""
    return {"response_action": "errors",
            "errors": {ids.REJECT_REASON: " ".join(problems.values())[:150]}}
