"""What happens after a deployment failed or was aborted, by the environment's rule.

A failed watch (`_verification_failed`) or a failed rollout left applied
(`_rollout_failed`) ends FAILED, rolled back automatically (`_auto_roll_back`) where
`auto_rollback` is on, else with Rollback / Keep buttons (`_offers_rollback`); an abort
(`_aborted`) rolls back to the previous version. The version a rollback leaves is marked
faulty, and the service locked where the environment says so (`_leave`); a rollback that
succeeded marks the deployment it replaced ROLLED_BACK (`_replace_rolled_back`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain.abort import rolls_back_to
from bot.domain.deployment import Deployment, Kind, Verification
from bot.domain.locks import ABORT, AUTO_ROLLBACK, ROLLBACK, Lock
from bot.domain.outcome_notes import VERIFY_FAILED, still_live
from bot.domain.states import State
from bot.domain.text import who
from bot.errors import DeploybotError
from bot.ports import AlreadyRunning, Repositories, RolloutFailed, RollsBack, VerifyResult
from bot.presentation.lock_views import replaced_announcement
from bot.services.locks import lock_details
from bot.services.runner.base import Aborted, VerifyPlan, log
from bot.services.runner.leases import Leases


class Verdicts(Leases):
    def _verification_failed(self, d: Deployment, verdict: VerifyResult,
                             progress: Callable[[str], None]) -> None:
        """FAILED with the cause; with auto_rollback, the previous version is rolled out
        again through the same cluster port and the deployment ends ROLLED_BACK."""
        plan = self._verify.get(d.environment, VerifyPlan())
        cause = f"{VERIFY_FAILED}: " + "; ".join(verdict.reasons)
        previous = d.previous_version
        if verdict.superseded:  # someone else's version runs: nothing of ours to explain
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; not rolled back: that would undo someone else's change")
            return
        self._explain(d)
        if d.kind is Kind.ROLLBACK:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; {d.version} is live again but unhealthy too")
            return
        if not plan.auto_rollback:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; {still_live(d.version, d.environment)}")
            return
        if previous is None or previous == d.version:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; no previous version is known to roll back to")
            return
        self._auto_roll_back(d, cause, why="failed its checks, rolled back automatically to "
                             f"{previous}: " + "; ".join(verdict.reasons), progress=progress)

    def _rollout_failed(self, d: Deployment, cause: str,
                        progress: Callable[[str], None]) -> None:
        """A rollout that failed follows the environment's rule, as a failed watch does,
        when the executor was left on the failed version (a Kubernetes Deployment whose
        template has the new image while its pods cannot start): roll back automatically
        where `auto_rollback` is on, else offer Rollback / Keep. Never left silently
        half-applied. When nothing was applied (the old version still runs), it just
        fails. Either way the thread first gets what the cluster shows about it."""
        self._explain(d)
        live = (self._live.of(d.environment, d.service, announce=False)
                if self._live is not None and d.kind is Kind.DEPLOY and d.instance is None
                else None)
        if live is None or not live.live or live.version != d.version:
            self._move(d.id, State.FAILED, finished=True, error=cause)
            return
        previous = d.previous_version
        plan = self._verify.get(d.environment, VerifyPlan())
        if previous is None or previous == d.version:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; {d.version} is left applied and no previous version "
                             "is known to roll back to")
            return
        if plan.auto_rollback:
            self._auto_roll_back(d, cause, why=f"its rollout failed, rolled back "
                                 f"automatically to {previous}: {cause}", progress=progress)
            return
        with self._store.transaction() as r:
            r.deployments.record_verification(d.id, Verification(
                ok=False, summary="the rollout failed", reasons=(cause[:300],),
                offer_rollback=True))
        self._move(d.id, State.FAILED, finished=True,
                   error=f"{cause}; {d.version} is left applied in {d.environment} "
                         "(automatic rollback is off there)")

    def _auto_roll_back(self, d: Deployment, cause: str, *, why: str,
                        progress: Callable[[str], None], by: str = "deploybot",
                        requested_by: str = "deploybot (rollback)",
                        origin: str = AUTO_ROLLBACK) -> None:
        """FAILED with `cause`, the version marked faulty (and the service locked where the
        environment says so: the lock's `origin`, an automatic rollback or an abort), the
        previous version rolled out again through the same cluster port; ROLLED_BACK once
        it is live."""
        previous = d.previous_version
        self._move(d.id, State.FAILED, finished=True, error=f"{cause}; rolling back to "
                   f"{previous}", progress=f"rolling back to {previous}")
        with self._store.transaction() as r:
            replaced = self._leave(r, d, d.version, by=by, at=self._clock.now(), why=why,
                                   origin=origin)
            self._show(self._get(r, d.id))
        self._announce_replaced(replaced)
        try:
            roll = (self._cluster.roll_back if isinstance(self._cluster, RollsBack)
                    else self._cluster.deploy)
            roll(d.environment, d.service, previous or "", progress=progress,
                 deployment_id=d.id, requested_by=requested_by)
        except AlreadyRunning:
            pass
        except RolloutFailed as e:
            at = self._clock.now()
            with self._store.transaction() as r:
                r.deployments.record_error(d.id, (f"{cause}; the rollback to {previous} "
                                                  f"failed too: {e}")[:2000])
                r.audit.record("deploy.rollback_failed", actor="deploybot", at=at,
                               deployment_id=d.id, details={"to": previous, "error": str(e)})
            return
        self._move(d.id, State.ROLLED_BACK, finished=True,
                   error=f"{cause}; rolled back to {previous}",
                   progress=f"rolled back to {previous}")

    # -- abort (Shipit's "abort and rollback") ---------------------------------------------
    def _aborted(self, d: Deployment, e: Aborted, progress: Callable[[str], None]) -> None:
        """Someone aborted the deploy during its rollout or watch (bot.services.abort): the
        progress report that saw it stopped following the rollout; the previous version is
        rolled out again through the same cluster port as an automatic rollback, the
        version left marked faulty, and it ends ROLLED_BACK ("aborted by <@U…>; rolled back
        to v1.2.3"), or FAILED when no previous version is known or the rollback fails."""
        previous = rolls_back_to(d)
        with self._store.transaction() as r:
            cur = self._get(r, d.id)
            # The record tells a rollout stopped half-way from a version that went live.
            cause = f"aborted by {who(e.by)}" + (
                " during the watch" if cur.state is State.VERIFYING else "")
            r.audit.record("deploy.aborted", actor=e.by, at=self._clock.now(),
                           deployment_id=d.id,
                           details={"requested_at": e.at.isoformat() if e.at else None,
                                    "state": cur.state.value, "progress": cur.progress,
                                    "version": d.version, "to": previous})
        if previous is None:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; no previous version is known to roll back to, so "
                             f"{d.version} was left as far as it got")
            return
        self._auto_roll_back(d, cause, why=f"was aborted by {who(e.by)}; rolled back to "
                             f"{previous}", progress=progress, by=e.by,
                             requested_by=f"{e.by} (abort)", origin=ABORT)

    # -- what a rollback leaves behind ----------------------------------------------------
    def _leave(self, r: Repositories, d: Deployment, version: str, *, by: str, at: datetime,
               why: str, origin: str = ROLLBACK) -> tuple[Lock, Lock] | None:
        """A rollback leaves `version`: mark it faulty there (a later `/deploy` of it needs
        `--force`), and lock the service there (where the environment says so) until someone
        unlocks it, so that nothing pushes the bad version again before someone looked.
        `origin` says what set the lock: rollback `d` (ROLLBACK), or deploy `d` aborted
        (ABORT) or rolled back by itself (AUTO_ROLLBACK). A lock someone took with `/lock`
        stays theirs; one an earlier rollback left is replaced, so that the lock says what
        is true now (which rollback, from and to what): (the old lock, the new one) is
        returned then, for `_announce_replaced` once the transaction committed."""
        mark = r.faulty.mark(environment=d.environment, service=d.service, version=version,
                             reason=why, by=by, at=at,
                             deployment_id=d.rollback_of if d.kind is Kind.ROLLBACK else d.id)
        r.audit.record("version.marked_faulty", actor=by, at=at, deployment_id=d.id,
                       details={"version": version, "reason": mark.reason},
                       environment=d.environment)
        if not self._rollback_locks.get(d.environment, False):
            return None
        held = r.locks.get(d.environment, d.service, at=at)
        if held is not None and held.left_by_rollback:
            r.locks.release(held.id, by=by, at=at)  # in this transaction: the new one or none
        lock = r.locks.acquire(environment=d.environment, service=d.service, holder=by,
                               reason=f"{version} {why}; unlock when it is safe to deploy "
                                      "again", at=at, expires_at=None, origin=origin,
                               deployment_id=d.id)
        if lock is None:
            return None
        replaced = held is not None and held.left_by_rollback
        if held is not None and replaced:
            r.audit.record("lock.released", actor=by, at=at, deployment_id=d.id,
                           details=lock_details(held) | {"replaced_by": lock.id},
                           environment=d.environment)
        r.audit.record("lock.locked", actor=by, at=at, deployment_id=d.id,
                       details=lock_details(lock), environment=d.environment)
        return (held, lock) if held is not None and replaced else None

    def _announce_replaced(self, replaced: tuple[Lock, Lock] | None) -> None:
        """Tell the deployments channel what the lock a rollback replaced says now (after
        the transaction that replaced it). Best effort: the lock stands either way."""
        if replaced is None or self._poster is None:
            return
        old, new = replaced
        try:
            self._poster.post(replaced_announcement(old, new, self._zone))
        except DeploybotError:
            log.warning("could not announce the lock on %s in %s", new.service,
                        new.environment, exc_info=True)

    @staticmethod
    def _offers_rollback(d: Deployment, verdict: VerifyResult, plan: VerifyPlan) -> bool:
        """Rollback / Keep buttons: it failed, nobody else changed the workload since, a
        previous version is known, and the rollback is not automatic. A rollback that fails
        its own watch offers nothing: going back to the version it replaced is no fix."""
        return (not verdict.ok and not verdict.superseded and not plan.auto_rollback
                and d.kind is Kind.DEPLOY and d.previous_version is not None
                and d.previous_version != d.version)

    def _replace_rolled_back(self, deployment_id: int) -> Deployment | None:
        """A rollback that succeeded marks the deployment it replaced ROLLED_BACK."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = self._get(r, deployment_id)
            if d.kind is not Kind.ROLLBACK or d.rollback_of is None \
                    or d.state is not State.SUCCEEDED:
                return None
            bad = r.deployments.get(d.rollback_of)
            if bad is None:
                return None
            before = bad.error  # what it reached, kept (an honest record never regresses)
            if not r.deployments.transition(
                    bad.id, State.ROLLED_BACK, at=at,
                    error=f"{before + '; ' if before else ''}rolled back to {d.version} "
                          f"by {who(d.requested_by)} (deployment #{d.id})"[:2000]):
                return None
            r.audit.record("deploy.rolled_back", actor=d.requested_by, at=at,
                           deployment_id=bad.id, details={"to": d.version, "by": d.id})
            return self._get(r, bad.id)
