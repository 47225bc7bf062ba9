"""Reject asks for a reason: the Reject button opens a modal (with the click's trigger_id,
which Slack takes for 3 seconds) once the clicker may reject — a refusal is told at once,
before anyone types a reason; the submission rejects with it (ApprovalUseCases.decide)."""

from __future__ import annotations

from bot.domain.commands import MAX_REASON
from bot.domain.forms import REASON, FormProblems
from bot.ports import Modals
from bot.presentation.reject_views import reject_form
from bot.services.deploy_base import DecisionResult
from bot.services.deployments import DeploymentService


class RejectForm:
    def __init__(self, *, deployments: DeploymentService, modals: Modals) -> None:
        self._deployments = deployments
        self._modals = modals

    def open(self, trigger_id: str | None, deployment_id: int, *, user_id: str,
             private_metadata: str) -> str:
        """Open the reason's modal for `user_id`, who clicked Reject; its view id."""
        d = self._deployments.may_reject(deployment_id, user_id=user_id)
        return self._modals.open_modal(trigger_id or "",
                                       reject_form(d, private_metadata=private_metadata))

    @staticmethod
    def reason(typed: str | None) -> str:
        """The reason as submitted, or FormProblems naming what is wrong with it."""
        reason = " ".join((typed or "").split())
        if not reason:
            raise FormProblems({REASON: "Say why it is rejected: the requester is told."})
        if len(reason) > MAX_REASON:
            raise FormProblems({REASON: f"The reason is {len(reason)} characters long; the "
                                        f"limit is {MAX_REASON}."})
        return reason

    def reject(self, deployment_id: int, *, user_id: str, reason: str,
               slack_channel: str | None, slack_ts: str | None) -> DecisionResult:
        return self._deployments.decide(deployment_id, user_id=user_id, approve=False,
                                        reason=reason, slack_channel=slack_channel,
                                        slack_ts=slack_ts)
