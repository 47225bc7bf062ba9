"""The presentation's public face for Block Kit messages (pure; no Slack client here).

Used by the Slack notifier for channel messages and by the handlers for ephemeral replies.
The messages live by what they are: the shared parts in parts.py, a deployment's card in
card.py, its record, announcement and requester note in record_views.py, and the replies
and notices in replies.py; this module re-exports them so callers import one place.
"""

from __future__ import annotations

from bot.presentation.card import approval_actions, deployment_card
from bot.presentation.parts import (
    MARKS,
    STATE_LINE,
    Block,
    Message,
    confirm_dialog,
    noun,
    title,
    took,
    when,
)
from bot.presentation.record_views import (
    announcement,
    approval_dropped_note,
    deployment_record,
    requester_note,
)
from bot.presentation.replies import (
    approved_ahead_reply,
    decision_reply,
    emergency_alert,
    notice,
    request_accepted,
    verdict_reply,
    window_closed,
    window_open_prompt,
)

__all__ = [
    "MARKS",
    "STATE_LINE",
    "Block",
    "Message",
    "announcement",
    "approval_actions",
    "approval_dropped_note",
    "approved_ahead_reply",
    "confirm_dialog",
    "decision_reply",
    "deployment_card",
    "deployment_record",
    "emergency_alert",
    "notice",
    "noun",
    "request_accepted",
    "requester_note",
    "title",
    "took",
    "verdict_reply",
    "when",
    "window_closed",
    "window_open_prompt",
]
