"""The refusals of a deployment request that offer a way on: a deploy window that is closed
(the reply offers to queue it for the next window, or, when that version is queued for it
already, names the queued deploy instead) and a downgrade not confirmed (the reply offers
the confirmation naming both versions). Raised by the request use cases, rendered by
handlers/replies.py."""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from bot.domain.admission import Downgrade
from bot.domain.commands import DeployArgs
from bot.domain.deployment import Deployment
from bot.domain.policy import PolicyDecision, local
from bot.errors import UserError
from bot.presentation.replies import already_queued

__all__ = ["AlreadyQueued", "DowngradeUnconfirmed", "WindowClosed"]


class WindowClosed(UserError):
    """A deploy refused by the schedule or a freeze; carries what to offer instead."""

    def __init__(self, args: DeployArgs, decision: PolicyDecision, zone: tzinfo) -> None:
        self.request = args
        self.decision = decision
        nxt = (f" The next window opens {local(decision.next_allowed_at, zone)}."
               if decision.next_allowed_at else " No window opens in the next 60 days.")
        super().__init__(
            f"Not now: {args.service} {args.version} cannot go to {args.environment} — "
            + "; ".join(decision.reasons) + "." + nxt
        )


class AlreadyQueued(UserError):
    """A deploy refused by the window while the same version waits for that window already
    (`queued`): the answer names it — when it starts, how far its approval is — instead of
    offering to queue a second one."""

    icon = "🗓️"

    def __init__(self, queued: Deployment, zone: ZoneInfo, *, asked_by: str) -> None:
        self.queued = queued
        super().__init__(already_queued(queued, zone, asked_by=asked_by))


class DowngradeUnconfirmed(UserError):
    """A deploy of a version older than the live one, not confirmed as a downgrade by
    name; carries what the confirmation button repeats (the request, or the approval)."""

    icon = "⬇️"

    def __init__(self, dg: Downgrade, *, environment: str, service: str,
                 request: DeployArgs | None = None, deployment_id: int | None = None) -> None:
        self.downgrade = dg
        self.request = request
        self.deployment_id = deployment_id
        self.environment, self.service = environment, service
        what = (f"Deployment #{deployment_id} would" if deployment_id is not None
                else "This would")
        super().__init__(
            f"{what} downgrade {service} in {environment}: `{dg.version}` is older than "
            f"`{dg.live}`, which runs there now. Confirm the downgrade by name with the "
            "button, or deploy a newer version.")
