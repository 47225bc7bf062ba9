"""The deployment request use cases, one module each, behind one service object:
request (bot.services.deploy_requests), approval (bot.services.approvals), waiting for a
window (bot.services.scheduled) and status (bot.services.status), sharing
bot.services.deploy_base; and what the cards of requests awaiting approval say of their
deploy window (`card_window`), shown again when a freeze starts or ends (`show_awaiting`).
"""

from __future__ import annotations

import logging

from bot.domain.deployment import Deployment
from bot.domain.policy import PolicyDecision
from bot.domain.states import State
from bot.errors import DeploybotError
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

log = logging.getLogger(__name__)

#: How many waiting requests a freeze starting or ending shows again, at most.
SHOWN_AT_MOST = 200

__all__ = ["ChecklistGate", "DecisionResult", "DeploymentService", "DeploymentsBase",
           "DowngradeUnconfirmed", "Status", "Submitter", "WindowClosed"]


class DeploymentService(ScheduledUseCases, ApprovalUseCases, StatusUseCases):
    """Every deployment request use case (the handlers' and the scheduler's one object)."""

    def card_window(self, d: Deployment) -> PolicyDecision | None:
        """The deploy window now for a normal request awaiting approval (its card says when
        it is closed: approving is refused until it opens); None for any other, or when
        the freezes cannot be read (the card is shown without it)."""
        if d.state is not State.AWAITING_APPROVAL or d.emergency:
            return None
        try:
            return self._window(d, at=self._clock.now())
        except DeploybotError:
            log.warning("deployment %s: could not tell whether its window is open", d.id,
                        exc_info=True)
            return None

    def show_awaiting(self, environments: frozenset[str] | None) -> list[int]:
        """A freeze of `environments` (None: all) started or ended: the cards of the
        requests awaiting approval there are shown again (saying the freeze, or no longer).
        Returns those shown."""
        with self._store.transaction() as r:
            waiting, _ = r.deployments.awaiting_approval(SHOWN_AT_MOST)
        shown = [d for d in waiting if not d.emergency
                 and (environments is None or d.environment in environments)]
        for d in shown:
            self._safe_show(d)
        return [d.id for d in shown]
