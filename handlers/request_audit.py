"""The Slack request being served, as the audit log records a refusal of it.

The audit middleware (handlers.audit) sets `CURRENT` for every slash command and button click
before the listener runs; `handlers.replies` reads it when it tells the user no (`refusal` on
the ack path, `reporting` after the service call). The listener's work carries it onto the
background pool (bot.background runs each piece of work in a copy of its submitter's context).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from bot.errors import UserError
from bot.services.audit import AuditService


@dataclass(frozen=True)
class RequestAudit:
    audit: AuditService
    user_id: str
    request: str  # "/deploy production v1.2.3" or "click deploy.approve"
    environment: str | None
    channel_id: str | None
    deployment_id: int | None = None  # the deployment a button names

    def refused(self, err: UserError) -> None:
        self.audit.note_refusal(user_id=self.user_id, request=self.request, message=err.message,
                                error=type(err).__name__, environment=self.environment,
                                channel_id=self.channel_id, deployment_id=self.deployment_id)


CURRENT: ContextVar[RequestAudit | None] = ContextVar("deploybot_slack_request", default=None)


def record_refusal(err: UserError) -> None:
    """Record that the request being served was refused (a no-op outside a request)."""
    current = CURRENT.get()
    if current is not None:
        current.refused(err)
