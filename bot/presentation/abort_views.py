"""What the person who aborted a deploy is told (the card and announcement are in blocks)."""

from __future__ import annotations

from bot.domain.abort import what_abort_does
from bot.domain.deployment import Deployment


def abort_accepted(d: Deployment) -> str:
    """The answer to Abort / `/deploy abort <id>` once the abort is recorded."""
    return (f"🛑 You aborted deployment #{d.id}: deploybot will {what_abort_does(d)} at the "
            "rollout's next progress report (within seconds). Its card and the deployments "
            "channel say how it ends.")
