"""`/deploy status`: what runs where, read live, the locks in force, the last deployments,
and each environment's deploy window (as `/freeze` shows it). A commit running is shown with
its tag when this process's last list of the repository's tags names it (VersionCheck.
known_tag); it asks GitHub nothing: the answer comes on the listener pool."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.services.deploy_base import DeploymentsBase, Status
from bot.services.freezes import LOOKAHEAD

log = logging.getLogger(__name__)


class StatusUseCases(DeploymentsBase):
    """`/deploy status`: what runs where (live), the locks, the last deployments, and the
    deploy windows."""

    def status(self, *, limit: int = 10) -> Status:
        """What runs where, read from each executor now (or last known, saying why), the
        locks in force (a rollback's, until someone unlocks it), the last `limit`
        deployments, and each environment's deploy window at the same instant (open or
        not and why, the next change, the freezes within `/freeze`'s LOOKAHEAD)."""
        at = self._clock.now()
        running = self._live.all()
        if self._versions is not None:  # a commit by its tag: the last list only, no request
            tags = self._versions
            running = [replace(v, tag=tags.known_tag(v.service, v.version))
                       if v.version is not None else v for v in running]
        with self._store.transaction() as r:
            recent = r.deployments.recent(limit)
            locks = tuple(r.locks.active(at))
        # The environments in app.yaml's order (the team's promotion order, as the deploy
        # windows and App Home list them), each one's services by name.
        order = {env: i for i, env in enumerate(self._config.environments)}
        running.sort(key=lambda v: (order.get(v.environment, len(order)), v.service))
        windows = tuple(self._policy.status(env, at=at, within=LOOKAHEAD)
                        for env in self._config.environments)
        return Status(running=running, recent=recent, at=at, locks=locks, windows=windows)
