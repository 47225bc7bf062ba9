"""Abort a deploy while it rolls out or is watched (Shipit's "abort and rollback").

The request is recorded once, by one conditional UPDATE (still running or verifying, nobody
asked yet): however many people click at once, one abort is recorded and audited, and the
others are told who asked first. The runner that follows the deployment notices at its next
progress report, stops following the rollout and rolls back to the version it replaced
(bot.services.runner), announcing and auditing the outcome. Who may: the environment's
deployers.
"""

from __future__ import annotations

import logging

from bot.domain.abort import abort_refusal
from bot.domain.deployment import Deployment
from bot.errors import Conflict, DeploybotError, Forbidden, NotFound
from bot.ports import Clock, Notifier, Repositories, Store
from bot.services.access import Access

log = logging.getLogger(__name__)


class AbortService:
    def __init__(self, *, store: Store, notifier: Notifier, access: Access,
                 clock: Clock) -> None:
        self._store = store
        self._notifier = notifier
        self._access = access
        self._clock = clock

    def abort(self, deployment_id: int, *, user_id: str) -> Deployment:
        """Record `user_id`'s request to abort the deployment; the runner carries it out.
        Raises NotFound / Forbidden / Conflict (with the reason) when it cannot."""
        with self._store.transaction() as r:
            d = _get(r, deployment_id)
        if not self._access.may_deploy(user_id, d.environment):
            raise Forbidden(f"You may not abort deployments in {d.environment}: that needs "
                            "the deployer role there.")
        refusal = abort_refusal(d)
        if refusal is not None:
            raise Conflict(refusal)
        at = self._clock.now()
        with self._store.transaction() as r:
            recorded = r.deployments.request_abort(d.id, by=user_id, at=at)
            d = _get(r, d.id)
            if recorded:
                r.audit.record("deploy.abort_requested", actor=user_id, at=at,
                               deployment_id=d.id,
                               details={"state": d.state.value, "version": d.version,
                                        "to": d.previous_version})
        if not recorded:  # someone else asked first, or it ended meanwhile
            raise Conflict(abort_refusal(d) or f"Deployment #{d.id} changed meanwhile; "
                           "nothing was done.")
        self._show(d.id)
        return d

    def _show(self, deployment_id: int) -> None:
        """The card says "aborting", its Abort button gone: as the deployment is now (read
        again, so a runner that ended it meanwhile keeps its final card)."""
        try:
            with self._store.transaction() as r:
                d = _get(r, deployment_id)
            if d.state.active:
                self._notifier.show(d)
        except DeploybotError:
            log.warning("deployment %s: could not update its card", deployment_id,
                        exc_info=True)


def _get(r: Repositories, deployment_id: int) -> Deployment:
    d = r.deployments.get(deployment_id)
    if d is None:
        raise NotFound(f"Deployment #{deployment_id} does not exist.")
    return d
