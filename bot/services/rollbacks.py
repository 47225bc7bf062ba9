"""What people decide after a deploy failed its watch and automatic rollback is off: roll
back to the previous version (a new ROLLBACK deployment, run by the runner) or keep it.

The decision is taken once: under a row lock on the failed deployment, the first click wins
and every later one is told who decided what.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from bot.domain.deployment import Deployment, Kind, NewDeployment
from bot.domain.states import State
from bot.errors import Conflict, DeploybotError, Forbidden, NotFound
from bot.ports import Clock, Cluster, Notifier, Repositories, Store
from bot.services.access import Access
from bot.services.deployments import Submitter
from bot.services.policy import PolicyService

log = logging.getLogger(__name__)

Choice = Literal["rollback", "keep"]


@dataclass(frozen=True)
class Decided:
    failed: Deployment  # the deployment that failed its watch, with the decision recorded
    rollback: Deployment | None  # the rollback started, for "rollback"


class RollbackService:
    def __init__(self, *, store: Store, notifier: Notifier, cluster: Cluster, access: Access,
                 clock: Clock, runner: Submitter, policy: PolicyService) -> None:
        self._store = store
        self._notifier = notifier
        self._cluster = cluster
        self._access = access
        self._clock = clock
        self._runner = runner
        self._policy = policy

    def decide(self, deployment_id: int, choice: Choice, *, user_id: str) -> Decided:
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"Deployment #{deployment_id} does not exist.")
        if not self._access.may_deploy(user_id, d.environment):
            raise Forbidden(f"You may not roll back or keep versions in {d.environment}: that "
                            "needs the deployer role there.")
        self._check_open(d)
        if choice == "rollback":
            self._check_rollback_possible(d)
        with self._store.transaction() as r:
            if not r.deployments.lock(d.id, State.FAILED):
                raise Conflict(f"Deployment #{d.id} changed meanwhile; nothing was done.")
            d = _get(r, d.id)
            self._check_open(d)
            assert d.verification is not None and d.previous_version is not None
            rollback: Deployment | None = None
            if choice == "rollback":
                rollback = r.deployments.add(NewDeployment(
                    service=d.service, environment=d.environment, version=d.previous_version,
                    previous_version=d.version, state=State.QUEUED, requested_by=user_id,
                    requested_at=at, approvals_required=0, expires_at=None,
                    kind=Kind.ROLLBACK, rollback_of=d.id,
                ))
                r.audit.record("deploy.rollback_requested", actor=user_id, at=at,
                               deployment_id=rollback.id,
                               details={"rollback_of": d.id, "from": d.version,
                                        "to": d.previous_version})
            else:
                r.audit.record("deploy.kept", actor=user_id, at=at, deployment_id=d.id,
                               details={"version": d.version,
                                        "reasons": list(d.verification.reasons)})
            r.deployments.set_fields(d.id, verification=d.verification.decided(
                choice, by=user_id, at=at, rollback_id=rollback.id if rollback else None))
            d = _get(r, d.id)
        self._safe_show(d)
        if rollback is not None:
            rollback = self._show_new(rollback)
            self._runner.submit(rollback.id)
        return Decided(failed=d, rollback=rollback)

    @staticmethod
    def _check_open(d: Deployment) -> None:
        v = d.verification
        if d.state is not State.FAILED or v is None or not v.offer_rollback \
                or d.previous_version is None:
            raise Conflict(f"Deployment #{d.id} has no rollback decision waiting "
                           f"({d.state.value.replace('_', ' ')}).")
        if v.decision is not None:
            what = "rolled it back" if v.decision == "rollback" else "kept it"
            raise Conflict(f"<@{v.decided_by}> already {what}; nothing more was done.")

    def _check_rollback_possible(self, d: Deployment) -> None:
        at = self._clock.now()
        window = self._policy.check_rollback(d.environment, d.service, at=at)
        if not window.allowed:
            raise Conflict(f"Rollbacks in {d.environment} follow the deploy window, and it is "
                           "closed now: " + "; ".join(window.reasons) + ".")
        running = self._cluster.current_version(d.environment, d.service)
        if running is not None and running != d.version:
            raise Conflict(f"{d.service} runs {running} in {d.environment} now, not "
                           f"{d.version}; rolling back to {d.previous_version} would undo "
                           "that change. Nothing was done.")

    def _show_new(self, d: Deployment) -> Deployment:
        """Post the rollback's card before the runner starts (it posts one itself if this
        fails: a rollback never waits for Slack)."""
        try:
            refs = self._notifier.show(d)
        except DeploybotError:
            log.warning("rollback %s: could not post its card; the runner will", d.id,
                        exc_info=True)
            return d
        with self._store.transaction() as r:
            r.deployments.set_fields(d.id, channel=refs.channel, message_ts=refs.message_ts,
                                     record_ts=refs.record_ts)
            return _get(r, d.id)

    def _safe_show(self, d: Deployment) -> None:
        try:
            self._notifier.show(d)
        except DeploybotError:
            log.warning("could not update the Slack card of deployment %s", d.id, exc_info=True)


def _get(r: Repositories, deployment_id: int) -> Deployment:
    d = r.deployments.get(deployment_id)
    if d is None:
        raise NotFound(f"Deployment #{deployment_id} does not exist.")
    return d
