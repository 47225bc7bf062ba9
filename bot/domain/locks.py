"""Deploy locks as the rest of the code sees them (plain values, no ORM rows).

A lock on a service in an environment blocks deploys by anyone but its holder, until it is
released or expires. `/lock` sets one by hand; a rollback sets one so that nothing pushes
the bad version again before someone has looked — its origin says which: a rollback
deployment (`ROLLBACK`, `deployment_id` the rollback), an abort (`ABORT`, the aborted
deploy) or an automatic rollback of a failed deploy (`AUTO_ROLLBACK`, the failed deploy).
A later rollback replaces such a lock (`Lock.left_by_rollback`); one taken by hand stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.deployment import Kind

MANUAL = "manual"  # set with /lock
ROLLBACK = "rollback"  # set by rollback #N (deployment_id: the rollback)
ABORT = "abort"  # set after deploy #N was aborted and rolled back (deployment_id: #N)
AUTO_ROLLBACK = "auto_rollback"  # set after deploy #N failed and was rolled back by itself
#: The origins of the locks a rollback leaves (the column holds 16 characters).
LEFT_BY_ROLLBACK = frozenset({ROLLBACK, ABORT, AUTO_ROLLBACK})
#: Who released a lock that expired (`released_by`).
EXPIRY = "deploybot"
#: In the error of a deploy the runner cancelled because of a lock taken after it was
#: queued (bot.presentation.lock_views.refusal_at_start; bot.domain.severity reads it).
LOCKED_BEFORE_START = "before it could start"


@dataclass(frozen=True)
class Lock:
    id: int
    environment: str
    service: str
    holder: str  # Slack user id
    reason: str
    origin: str  # MANUAL (/lock), or one of LEFT_BY_ROLLBACK
    created_at: datetime
    expires_at: datetime | None = None  # None: until someone unlocks it
    deployment_id: int | None = None  # the rollback, aborted or failed deploy that set it

    @property
    def left_by_rollback(self) -> bool:
        """Set by deploybot as a rollback ended, not by someone's `/lock`: its reason is
        deploybot's own words, and the next rollback there replaces it."""
        return self.origin in LEFT_BY_ROLLBACK

    def held_at(self, at: datetime) -> bool:
        """Still in force at `at` (not yet expired; a released lock is not loaded at all)."""
        return self.expires_at is None or at < self.expires_at

    def blocks(self, user_id: str, *, kind: Kind = Kind.DEPLOY) -> bool:
        """Whether this lock refuses a deployment of `kind` requested by `user_id`: the
        holder's own deploys pass, and so does every rollback (a rollback is the fix)."""
        return kind is not Kind.ROLLBACK and user_id != self.holder

    def age(self, at: datetime) -> timedelta:
        """How long it has been held at `at`."""
        return max(at - self.created_at, timedelta(0))
