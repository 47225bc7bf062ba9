"""What `/rollback` would do, for the requester to confirm (pure): the value the rollback
service plans and the presentation renders, and what its confirmation button carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.deployment import JobOutcome
from bot.domain.versions import named


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
    #: The tags GitHub lists for the versions above that are commits (an automatic deploy's
    #: version): (commit, tag), for display — "`v1.2.4` (commit `3f2a9c1d0e4b`)".
    tags: tuple[tuple[str, str], ...] = ()
    #: The tag the requester named when `target` is the commit it points at (that commit
    #: ran there; the tag itself did not): the rollback deploys the commit, the image that
    #: ran, not one built for the tag.
    named_as: str | None = None

    def named(self, version: str) -> str:
        """`version` as people know it: with its tag when it is a commit that has one."""
        return named(version, dict(self.tags).get(version))

    @property
    def value(self) -> str:
        """What the confirmation button carries (checked again when clicked)."""
        return f"{self.environment} {self.service} {self.target} {self.current}"
