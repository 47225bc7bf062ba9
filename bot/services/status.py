"""`/deploy status`: what runs where, read live, the locks in force, and the last
deployments."""

from __future__ import annotations

import logging

from bot.services.deploy_base import DeploymentsBase, Status

log = logging.getLogger(__name__)


class StatusUseCases(DeploymentsBase):
    """`/deploy status`: what runs where (live), and the last deployments."""

    def status(self, *, limit: int = 10) -> Status:
        """What runs where, read from each executor now (or last known, saying why), the
        locks in force (a rollback's, until someone unlocks it), and the last `limit`
        deployments."""
        at = self._clock.now()
        running = self._live.all()
        with self._store.transaction() as r:
            recent = r.deployments.recent(limit)
            locks = tuple(r.locks.active(at))
        running.sort(key=lambda v: (v.environment, v.service))
        return Status(running=running, recent=recent, at=at, locks=locks)
