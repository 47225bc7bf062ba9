"""The parts deploybot's modals share (pure Block Kit): a plain_text object, the one-field
"why?" modal (Reject's reason, a checklist item's "not applicable" reason) and the ack that
keeps a refused submission open with its message under the field (`response_action:
errors`, https://api.slack.com/surfaces/modals#displaying_errors)."""

from __future__ import annotations

from typing import Any

from bot.presentation.sections import fit


def plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def reason_modal(*, callback_id: str, field: str, title: str, submit: str, intro: str,
                 label: str, placeholder: str, max_length: int, private_metadata: str,
                 multiline: bool = False) -> dict[str, Any]:
    """A modal asking one required reason: `intro` (mrkdwn) above a text input whose block
    and action id are both `field`."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": field,
                               "max_length": max_length, "placeholder": plain_text(placeholder)}
    if multiline:
        element["multiline"] = True
    return {
        "type": "modal", "callback_id": callback_id, "title": plain_text(title),
        "submit": plain_text(submit), "close": plain_text("Cancel"),
        "private_metadata": private_metadata,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
            {"type": "input", "block_id": field, "label": plain_text(label),
             "element": element},
        ],
    }


def field_errors(field: str, message: str) -> dict[str, Any]:
    """The ack of a refused submission: `message` under the input `field` (Slack shows at
    most 150 characters there)."""
    return {"response_action": "errors", "errors": {field: fit(message, 150)}}
