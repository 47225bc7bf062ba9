"""What `/rollback` would do, for the requester to confirm (pure): the value the rollback
service plans and the presentation renders, and what its confirmation button carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.deployment import JobOutcome


@dataclass(frozen=True)
class RollbackPlan:
    """What `/rollback` would do, for the requester to confirm."""

    environment: str
    service: str
    current: str  # the version running now (to be marked faulty)
    target: str  # the version to go back to
    candidates: tuple[str, ...]  # every version it could go back to, newest first
    migrations: JobOutcome | None  # the migrations the current version ran, if it did
    migrate_hint: str | None  # the guide's migration rollback command for the service
    approvals_required: int

    @property
    def value(self) -> str:
        """What the confirmation button carries (checked again when clicked)."""
        return f"{self.environment} {self.service} {self.target} {self.current}"
