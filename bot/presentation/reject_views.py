"""The modal the Reject button opens: why the deploy is rejected (required). The reason goes
on the card, in the requester's DM and in the audit (bot.services.approvals). Pure."""

from __future__ import annotations

from typing import Any

from bot.domain.approval import request_label
from bot.domain.commands import MAX_REASON
from bot.domain.deployment import Deployment
from bot.presentation import ids
from bot.presentation.modal_parts import field_errors, reason_modal


def reject_form(d: Deployment, *, private_metadata: str) -> dict[str, Any]:
    """The modal; `private_metadata` says where the answer goes (handlers.reject_reason)."""
    return reason_modal(
        callback_id=ids.REJECT_FORM, field=ids.REJECT_REASON, title="Reject", submit="Reject",
        intro=(f"Reject {request_label(d)}? The requester is told why, on the card and in a "
               "DM; the reason is kept in the audit log."),
        label="Reason", placeholder="e.g. the migration is not reviewed yet",
        max_length=MAX_REASON, multiline=True, private_metadata=private_metadata)


def reason_errors(problems: dict[str, str]) -> dict[str, Any]:
    """The ack of a refused submission: the message under the reason."""
    return field_errors(ids.REJECT_REASON, " ".join(problems.values()))
