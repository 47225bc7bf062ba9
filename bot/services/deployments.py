"""The deployment request use cases, one module each, behind one service object:
request (bot.services.deploy_requests), approval (bot.services.approvals), waiting for a
window (bot.services.scheduled) and status (bot.services.status), sharing
bot.services.deploy_base.
"""

from __future__ import annotations

from bot.services.approvals import ApprovalUseCases
from bot.services.deploy_base import (
    ChecklistGate,
    DecisionResult,
    DeploymentsBase,
    Status,
    Submitter,
)
from bot.services.refusals import DowngradeUnconfirmed, WindowClosed
from bot.services.scheduled import ScheduledUseCases
from bot.services.status import StatusUseCases

__all__ = ["ChecklistGate", "DecisionResult", "DeploymentService", "DeploymentsBase",
           "DowngradeUnconfirmed", "Status", "Submitter", "WindowClosed"]


class DeploymentService(ScheduledUseCases, ApprovalUseCases, StatusUseCases):
    """Every deployment request use case (the handlers' and the scheduler's one object)."""
