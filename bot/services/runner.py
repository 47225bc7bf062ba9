"""The deployment runner: takes approved deployments and carries them to a result.

Work is claimed with a lease in the database (owner + expiry), so exactly one process runs a
deployment, and a deployment whose process died is picked up again by `resume()` once its
lease has run out. The lease is renewed as the rollout progresses and by a heartbeat (every
third of the lease), so a rollout that reports nothing for a while keeps it; a renewal that
finds the lease taken stops following (`LostLease`). `hand_back()` (SIGTERM) stops following
at the next progress report and releases the leases at once, so another process takes over
without waiting for them to run out.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.config import MigrationsConfig
from bot.domain.abort import ABORTABLE, rolls_back_to
from bot.domain.admission import downgrade
from bot.domain.deployment import Deployment, JobOutcome, Kind, Verification
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision
from bot.domain.record import VERIFY_FAILED
from bot.domain.states import State
from bot.domain.text import who
from bot.errors import DeploybotError, RetryableError
from bot.logs import working_on
from bot.ports import (
    AlreadyRunning,
    Clock,
    Cluster,
    JobKind,
    JobResult,
    Metrics,
    Migrations,
    NoMetrics,
    Notifier,
    Repositories,
    RolloutFailed,
    RollsBack,
    Store,
    Verifier,
    VerifyResult,
)
from bot.presentation.lock_views import refusal_at_start
from bot.services.live import LiveState

log = logging.getLogger(__name__)


class Gate(Protocol):
    def check(self, environment: str, service: str, *, at: datetime,
              emergency: bool = False) -> PolicyDecision: ...

    def check_rollback(self, environment: str, service: str, *,
                       at: datetime) -> PolicyDecision: ...


def window_for(gate: Gate, d: Deployment, *, at: datetime) -> PolicyDecision:
    """The deploy window that applies to `d`: rollbacks and migration runs (the guide's
    migration rollback) follow the rollback rule, deploys the schedule and freezes."""
    if d.kind is Kind.DEPLOY:
        return gate.check(d.environment, d.service, at=at, emergency=d.emergency)
    return gate.check_rollback(d.environment, d.service, at=at)


@dataclass(frozen=True)
class VerifyPlan:
    """What happens after the rollout in one environment (environments.<name>.verify)."""

    bake: timedelta = timedelta(0)
    auto_rollback: bool = False
    checks: bool = False  # smoke checks or a Prometheus query are configured

    @property
    def active(self) -> bool:
        return self.bake > timedelta(0) or self.checks


class DeploymentRunner:
    def __init__(
        self,
        *,
        store: Store,
        cluster: Cluster,
        notifier: Notifier,
        clock: Clock,
        owner: str,
        lease: timedelta,
        gate: Gate,
        workers: int = 4,
        progress_every: timedelta = timedelta(seconds=2),
        migrations: Mapping[str, MigrationsConfig] | None = None,
        verifier: Verifier | None = None,
        verify: Mapping[str, VerifyPlan] | None = None,
        rollback_locks: Mapping[str, bool] | None = None,
        metrics: Metrics | None = None,
        live: LiveState | None = None,
    ) -> None:
        """`live`: what runs where (read when a deployment starts: what it replaces).
        `rollback_locks`: environment → whether a rollback there locks the service
        (environments.<env>.rollbacks.lock). `metrics`: results and rollout durations."""
        self._store = store
        self._live = live
        self._metrics = metrics or NoMetrics()
        self._rollback_locks = dict(rollback_locks or {})
        self._verifier = verifier
        self._verify = dict(verify or {})
        self._migrations = dict(migrations or {})
        self._cluster = cluster
        self._notifier = notifier
        self._clock = clock
        self._owner = owner
        self._gate = gate
        self._lease = lease
        self._progress_every = progress_every
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deploy")
        self._inflight: set[int] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self._stopping = threading.Event()  # hand_back(): stop following, release leases
        self._lost: set[int] = set()  # leases the heartbeat found taken by another process
        self._heartbeat: threading.Thread | None = None
        self._quit = threading.Event()  # shutdown() or hand_back(): the heartbeat ends
        self._released: set[int] = set()  # leases given up by hand_back()

    # -- scheduling work ---------------------------------------------------------------
    def submit(self, deployment_id: int) -> None:
        with self._lock:
            if self._closed or deployment_id in self._inflight:
                return
            self._inflight.add(deployment_id)
            self._lost.discard(deployment_id)
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._beat, name="lease-heartbeat",
                                                   daemon=True)
                self._heartbeat.start()
        fut: Future[None] = self._pool.submit(self.run_one, deployment_id)
        fut.add_done_callback(lambda _f: self._done(deployment_id))

    def _done(self, deployment_id: int) -> None:
        with self._lock:
            self._inflight.discard(deployment_id)
            self._idle.notify_all()

    def resume(self) -> int:
        """Submit every deployment that is queued or whose lease has lapsed."""
        with self._store.transaction() as r:
            ids = list(r.deployments.claimable(self._clock.now()))
        for i in ids:
            self.submit(i)
        return len(ids)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._inflight, timeout=timeout)

    def shutdown(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._quit.set()  # ends the heartbeat once the pool is done
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def hand_back(self, timeout: float = 10.0) -> list[int]:
        """Stop taking work and give the deployments this process follows back (SIGTERM):
        each stops at its next progress report (the rollout itself goes on in the cluster)
        and releases its lease, so the next `resume()` anywhere picks it up where it was.
        One still busy after `timeout` seconds has its lease released all the same (its
        thread ends with the process). Returns the ids handed back."""
        with self._lock:
            self._closed = True
            ids = sorted(self._inflight)
        self._stopping.set()
        self._quit.set()
        if ids:
            log.info("handing back deployment(s) %s", ", ".join(map(str, ids)))
        self.wait_idle(timeout)
        with self._lock:
            stuck = sorted(self._inflight)
        for i in stuck:
            self._release(i)
        return ids

    def _beat(self) -> None:
        """Renew the lease of every deployment this process follows, every third of the
        lease; a lease found taken (this process stalled past it) stops that deployment at
        its next progress report."""
        every = max(0.2, self._lease.total_seconds() / 3)
        while not self._quit.wait(every):
            with self._lock:
                ids = sorted(self._inflight - self._lost)
            if not ids:
                continue
            until = self._clock.now() + self._lease
            try:
                with self._store.transaction() as r:
                    lost = [i for i in ids
                            if not r.deployments.renew(i, owner=self._owner, until=until)]
            except DeploybotError as e:
                log.warning("could not renew the deployment leases: %s", e)
                continue
            if lost:
                with self._lock:
                    self._lost.update(lost)

    def _release(self, deployment_id: int) -> None:
        """Give the lease up now: expired, it is claimable by any process at once (and a
        renewal by this process would fail only if another took it meanwhile). Once per
        deployment: hand_back() may have released it before its thread stopped."""
        with self._lock:
            if deployment_id in self._released:
                return
            self._released.add(deployment_id)
        at = self._clock.now()
        try:
            with self._store.transaction() as r:
                if r.deployments.renew(deployment_id, owner=self._owner,
                                       until=at - timedelta(seconds=1)):
                    r.audit.record("deploy.handed_back", actor="deploybot", at=at,
                                   deployment_id=deployment_id,
                                   details={"owner": self._owner})
        except DeploybotError as e:
            log.warning("deployment %s: could not release its lease (%s); it is picked up "
                        "when the lease runs out", deployment_id, e)

    # -- running one -------------------------------------------------------------------
    def run_one(self, deployment_id: int) -> None:
        try:
            with working_on(deployment_id):  # every line logged meanwhile names it
                self._run(deployment_id)
        except HandedBack:
            self._release(deployment_id)
            log.info("deployment %s: handed back; another process resumes it", deployment_id)
        except LostLease as e:
            log.warning("%s", e)
        except RetryableError as e:  # the database went away: nothing half-written
            log.warning("deployment %s: %s; it is resumed from where the database has it "
                        "once its lease runs out", deployment_id, e)
        except Exception:
            # The runner is the top of a worker thread: nothing above it would see this.
            log.exception("deployment %s: runner failed; the lease will expire and "
                          "another attempt will resume it", deployment_id)

    def _run(self, deployment_id: int) -> None:
        at = self._clock.now()
        with self._store.transaction() as r:
            if not r.deployments.claim(deployment_id, owner=self._owner, at=at,
                                       until=at + self._lease):
                return
            d = self._get(r, deployment_id)
        if d.state is State.QUEUED:
            # The window is checked once more right before anything happens: a deploy
            # approved at 13:58 that would start at 14:01 on a Friday does not start.
            window = window_for(self._gate, d, at=at)
            if not window.allowed:
                self._refuse(d, window)
                return
            # So is a lock someone else took meanwhile (a rollback never waits for one).
            lock = self._lock_in_the_way(d, at=at)
            if lock is not None:
                self._cancel_unstarted(d, refusal_at_start(lock, at), "deploy.refused_locked",
                                       {"lock_id": lock.id, "holder": lock.holder,
                                        "reason": lock.reason})
                return
        replacing = self._replacing(d)
        dg = (downgrade(d.kind, d.version, replacing, confirmed_from=d.downgrade_from)
              if d.state is State.QUEUED and d.instance is None else None)
        if dg is not None:  # a newer version went live since it was approved
            self._cancel_unstarted(
                d, f"not started: {dg.live} runs there now, and {d.version} would downgrade "
                   "it; nobody confirmed that downgrade. Request it again to confirm it.",
                "deploy.refused_downgrade", {"live": dg.live, "version": d.version})
            return
        with self._store.transaction() as r:
            d = self._get(r, deployment_id)
            if d.state is State.QUEUED:
                r.deployments.transition(d.id, State.RUNNING, at=at, started_at=at,
                                         progress="starting", previous_version=replacing)
                r.audit.record("deploy.started", actor="deploybot", at=at, deployment_id=d.id,
                               details={"owner": self._owner})
                if d.kind is Kind.ROLLBACK and d.previous_version is not None:
                    self._leave(r, d, d.previous_version, by=d.requested_by, at=at,
                                why=f"rolled back to {d.version} (deployment #{d.id})")
            else:
                r.audit.record("deploy.resumed", actor="deploybot", at=at, deployment_id=d.id,
                               details={"owner": self._owner, "state": d.state.value})
            d = self._get(r, deployment_id)
        self._show(d)

        last_shown = [self._clock.now()]

        def progress(text: str) -> None:
            if self._stopping.is_set():
                raise HandedBack(deployment_id)
            if deployment_id in self._lost:
                raise LostLease(deployment_id, None)
            now = self._clock.now()
            try:
                with self._store.transaction() as r:
                    if not r.deployments.renew(deployment_id, owner=self._owner,
                                               until=now + self._lease):
                        raise LostLease(deployment_id, None)
                    r.deployments.set_fields(deployment_id, progress=text[:255])
                    cur = self._get(r, deployment_id)
            except RetryableError as e:
                # The database is away for a moment: the rollout goes on in the cluster and
                # the next report (or the heartbeat) renews the lease once it is back.
                log.warning("could not record progress %r: %s", text, e)
                return
            check_abort(cur)  # someone asked to abort it: stop following, roll back
            if now - last_shown[0] >= self._progress_every:
                last_shown[0] = now
                self._show(cur)

        note: str | None = None  # "v1.2.3 is already running in production; nothing to do"
        said: str | None = None  # what the cluster returned of the rollout (a run's link)
        try:
            if d.kind is Kind.MIGRATE:
                self._migrate(d, progress)
                self._move(d.id, State.SUCCEEDED, finished=True,
                           progress=f"migrated to {d.target}")
            elif d.state is State.RUNNING:
                # A rollback does not run the old image's migrations; a per-PR preview
                # shares the environment's database and leaves its schema alone.
                if d.kind is Kind.DEPLOY and d.instance is None:
                    self._migrate(d, progress)
                    self._abort_point(d.id)  # asked during the migrations: no rollout
                try:
                    if d.instance is not None:  # a per-PR preview: its own instance
                        said = self._cluster.deploy(d.environment, d.service, d.version,
                                                    progress=progress, deployment_id=d.id,
                                                    requested_by=d.requested_by,
                                                    instance=d.instance)
                    else:
                        roll = (self._cluster.roll_back if d.kind is Kind.ROLLBACK
                                and isinstance(self._cluster, RollsBack)
                                else self._cluster.deploy)
                        said = roll(d.environment, d.service, d.version, progress=progress,
                                    deployment_id=d.id, requested_by=d.requested_by)
                except AlreadyRunning as e:
                    note = str(e)
                self._move(d.id, State.VERIFYING, progress="checking")
            if d.kind is not Kind.MIGRATE:
                # The watch (and automatic rollback) is about the main instance's pods.
                verdict = (None if note is not None or d.instance is not None
                           else self._watch(d, progress))
                if verdict is not None and not verdict.ok:
                    self._abort_point(d.id)  # an abort asked meanwhile wins over the verdict
                    self._verification_failed(d, verdict, progress)
                else:
                    summary = (f"verified: {verdict.summary}" if verdict is not None
                               else None)
                    # What the cluster said of it (e.g. the workflow run's link) stays too.
                    kept = "; ".join(p for p in (note or summary, said) if p)[:255] or None
                    self._move(d.id, State.SUCCEEDED, finished=True, progress=kept,
                               unless_aborted=True)
        except Aborted as e:
            self._aborted(d, e, progress)
        except RolloutFailed as e:
            self._rollout_failed(d, str(e) or "rollout failed", progress)
        replaced = self._replace_rolled_back(deployment_id)

        with self._store.transaction() as r:
            r.deployments.set_fields(deployment_id, lease_owner=None, lease_until=None)
            final = self._get(r, deployment_id)
        self._measure(final)
        # Announce first: the final record ticks "announced", so it must be true by then.
        for call in (self._notifier.announce, self._show, self._notifier.notify_requester):
            try:
                call(final)
            except DeploybotError:
                log.warning("deployment %s: could not send the result", final.id, exc_info=True)
        if replaced is not None:
            self._show(replaced)

    def _replacing(self, d: Deployment) -> str | None:
        """What the deployment replaces, read from the executor as it starts (the card's
        "Running now" was read at request time, and much may have changed since); the
        version recorded at request time when the executor cannot tell."""
        if self._live is None or d.instance is not None or d.kind is Kind.MIGRATE \
                or d.state is not State.QUEUED:
            return d.previous_version
        return self._live.version(d.environment, d.service) or d.previous_version

    def _measure(self, final: Deployment) -> None:
        """The result this run reached, and how long it took from its start (a resumed
        deployment: from its first start)."""
        if final.finished_at is None:
            return
        log.info("deployment %s of %s to %s ended: %s", final.id, final.service,
                 final.environment, final.state.value)
        self._metrics.deployment_finished(final.environment, final.state.value)
        if final.started_at is not None:
            self._metrics.rollout_took(final.environment, final.state.value,
                                       (final.finished_at - final.started_at).total_seconds())

    def _replace_rolled_back(self, deployment_id: int) -> Deployment | None:
        """A rollback that succeeded marks the deployment it replaced ROLLED_BACK."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = self._get(r, deployment_id)
            if d.kind is not Kind.ROLLBACK or d.rollback_of is None \
                    or d.state is not State.SUCCEEDED:
                return None
            bad = r.deployments.get(d.rollback_of)
            if bad is None or not r.deployments.transition(
                    bad.id, State.ROLLED_BACK, at=at,
                    error=f"{bad.error + '; ' if bad.error else ''}rolled back to {d.version} "
                          f"by {who(d.requested_by)} (deployment #{d.id})"[:2000]):
                return None
            r.audit.record("deploy.rolled_back", actor=d.requested_by, at=at,
                           deployment_id=bad.id, details={"to": d.version, "by": d.id})
            return self._get(r, bad.id)

    # -- the watch after the rollout --------------------------------------------------------
    def _watch(self, d: Deployment, progress: Callable[[str], None]) -> VerifyResult | None:
        """Run the environment's bake window and checks (None when it has none)."""
        plan = self._verify.get(d.environment)
        if self._verifier is None or plan is None or not plan.active:
            return None
        progress("watching the new pods")
        verdict = self._verifier.watch(d.environment, d.service, d.version,
                                       until=self._clock.now() + plan.bake, progress=progress)
        with self._store.transaction() as r:
            r.deployments.set_fields(d.id, verification=Verification(
                ok=verdict.ok, summary=verdict.summary[:500],
                reasons=tuple(x[:300] for x in verdict.reasons[:10]),
                bake_seconds=plan.bake.total_seconds(),
                offer_rollback=self._offers_rollback(d, verdict, plan),
                superseded=verdict.superseded))
            r.audit.record("deploy.verification", actor="deploybot", at=self._clock.now(),
                           deployment_id=d.id,
                           details={"ok": verdict.ok, "reasons": list(verdict.reasons),
                                    "summary": verdict.summary,
                                    "bake_seconds": plan.bake.total_seconds()})
        return verdict

    def _leave(self, r: Repositories, d: Deployment, version: str, *, by: str, at: datetime,
               why: str) -> None:
        """A rollback leaves `version`: mark it faulty there (a later `/deploy` of it needs
        `--force`), and lock the service there (where the environment says so) until someone
        unlocks it, so that nothing pushes the bad version again before someone looked. A
        lock someone holds already stays theirs."""
        mark = r.faulty.mark(environment=d.environment, service=d.service, version=version,
                             reason=why, by=by, at=at,
                             deployment_id=d.rollback_of if d.kind is Kind.ROLLBACK else d.id)
        r.audit.record("version.marked_faulty", actor=by, at=at, deployment_id=d.id,
                       details={"version": version, "reason": mark.reason},
                       environment=d.environment)
        if not self._rollback_locks.get(d.environment, False):
            return
        lock = r.locks.acquire(environment=d.environment, service=d.service, holder=by,
                               reason=f"{version} {why}; unlock when it is safe to deploy "
                                      "again", at=at, expires_at=None, origin="rollback",
                               deployment_id=d.id)
        if lock is not None:
            r.audit.record("lock.locked", actor=by, at=at, deployment_id=d.id,
                           details={"service": d.service, "reason": lock.reason,
                                    "origin": "rollback"}, environment=d.environment)

    @staticmethod
    def _offers_rollback(d: Deployment, verdict: VerifyResult, plan: VerifyPlan) -> bool:
        """Rollback / Keep buttons: it failed, nobody else changed the workload since, a
        previous version is known, and the rollback is not automatic. A rollback that fails
        its own watch offers nothing: going back to the version it replaced is no fix."""
        return (not verdict.ok and not verdict.superseded and not plan.auto_rollback
                and d.kind is Kind.DEPLOY and d.previous_version is not None
                and d.previous_version != d.version)

    def _verification_failed(self, d: Deployment, verdict: VerifyResult,
                             progress: Callable[[str], None]) -> None:
        """FAILED with the cause; with auto_rollback, the previous version is rolled out
        again through the same cluster port and the deployment ends ROLLED_BACK."""
        plan = self._verify.get(d.environment, VerifyPlan())
        cause = f"{VERIFY_FAILED}: " + "; ".join(verdict.reasons)
        previous = d.previous_version
        if verdict.superseded:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; not rolled back: that would undo someone else's change")
            return
        if d.kind is Kind.ROLLBACK:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; {d.version} is live again but unhealthy too")
            return
        if not plan.auto_rollback:
            self._move(d.id, State.FAILED, finished=True,
                       error=f"{cause}; {d.version} is still live (automatic rollback is off "
                       f"in {d.environment})")
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
        fails."""
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
            r.deployments.set_fields(d.id, verification=Verification(
                ok=False, summary="the rollout failed", reasons=(cause[:300],),
                offer_rollback=True))
        self._move(d.id, State.FAILED, finished=True,
                   error=f"{cause}; {d.version} is left applied in {d.environment} "
                         f"(automatic rollback is off there): roll back to {previous}, or "
                         "keep it")

    def _auto_roll_back(self, d: Deployment, cause: str, *, why: str,
                        progress: Callable[[str], None], by: str = "deploybot",
                        requested_by: str = "deploybot (rollback)") -> None:
        """FAILED with `cause`, the version marked faulty (and the service locked where the
        environment says so), the previous version rolled out again through the same
        cluster port; ROLLED_BACK once it is live."""
        previous = d.previous_version
        self._move(d.id, State.FAILED, finished=True, error=f"{cause}; rolling back to "
                   f"{previous}", progress=f"rolling back to {previous}")
        with self._store.transaction() as r:
            self._leave(r, d, d.version, by=by, at=self._clock.now(), why=why)
            self._show(self._get(r, d.id))
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
                r.deployments.set_fields(d.id, error=(f"{cause}; the rollback to {previous} "
                                                      f"failed too: {e}")[:2000])
                r.audit.record("deploy.rollback_failed", actor="deploybot", at=at,
                               deployment_id=d.id, details={"to": previous, "error": str(e)})
            return
        self._move(d.id, State.ROLLED_BACK, finished=True,
                   error=f"{cause}; rolled back to {previous}",
                   progress=f"rolled back to {previous}")

    # -- abort (Shipit's "abort and rollback") ---------------------------------------------
    def _abort_point(self, deployment_id: int) -> None:
        """Raise Aborted when someone asked to abort the deployment (read now)."""
        with self._store.transaction() as r:
            cur = self._get(r, deployment_id)
        check_abort(cur)

    def _aborted(self, d: Deployment, e: Aborted, progress: Callable[[str], None]) -> None:
        """Someone aborted the deploy during its rollout or watch (bot.services.abort): the
        progress report that saw it stopped following the rollout; the previous version is
        rolled out again through the same cluster port as an automatic rollback, the
        version left marked faulty, and it ends ROLLED_BACK ("aborted by <@U…>; rolled back
        to v1.2.3"), or FAILED when no previous version is known or the rollback fails."""
        previous = rolls_back_to(d)
        cause = f"aborted by {who(e.by)}"
        with self._store.transaction() as r:
            cur = self._get(r, d.id)
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
                             requested_by=f"{e.by} (abort)")

    # -- database migrations before the rollout -------------------------------------------
    def _migrate(self, d: Deployment, progress: Callable[[str], None]) -> None:
        """Run the service's backup (where configured) and migrations as Jobs; RolloutFailed
        when one fails, before anything else changed. A deploy runs them from the new image
        before its rollout; a migration run (`/migrate`) runs the command with its target
        from the image running now. A resumed deployment whose migrations ended already
        does not run them again."""
        m = self._migrations.get(d.service)
        if d.migrations is not None and d.migrations.ok:
            return
        if d.kind is Kind.MIGRATE and d.migrations is not None:  # resumed: its result stands
            raise RolloutFailed(f"migration Job {d.migrations.job} failed")
        if m is None:
            if d.kind is Kind.MIGRATE:
                raise RolloutFailed(f"services.{d.service}.migrations is not configured")
            return
        cluster = self._cluster
        if not isinstance(cluster, Migrations):
            raise RolloutFailed(f"services.{d.service}.migrations is set, but its cluster "
                                "cannot run migration Jobs")

        def job(kind: JobKind, command: list[str], timeout: timedelta, text: str) -> None:
            progress(text)
            with self._keepalive(progress, text):
                result = cluster.run_job(d.environment, d.service, kind=kind, command=command,
                                         version=d.version, deployment_id=d.id,
                                         timeout=timeout.total_seconds())
            self._record_job(d, kind, command, result)
            if not result.succeeded:
                raise RolloutFailed(job_cause(kind, result))

        backup = m.backup_in(d.environment)
        if backup is not None:
            job("backup", backup.command, backup.timeout,
                "backing up the database before the migrations")
        if d.kind is Kind.MIGRATE:
            job("migrate", m.command_to(tuple((d.target or "").split())), m.timeout,
                f"migrating to {d.target}")
        else:
            job("migrate", m.command, m.timeout, "running the database migrations")

    def _record_job(self, d: Deployment, kind: JobKind, command: list[str],
                    result: JobResult) -> None:
        at = self._clock.now()
        with self._store.transaction() as r:
            if kind == "migrate":
                r.deployments.set_fields(d.id, migrations=JobOutcome(
                    result.succeeded, result.name, result.logs_tail))
            r.audit.record(f"deploy.{kind}_job", actor="deploybot", at=at, deployment_id=d.id,
                           details={"job": result.name, "succeeded": result.succeeded,
                                    "command": list(command), "reason": result.reason,
                                    "logs_tail": result.logs_tail})
            cur = self._get(r, d.id)
        self._show(cur)

    @contextlib.contextmanager
    def _keepalive(self, progress: Callable[[str], None], text: str) -> Iterator[None]:
        """Renew the lease while a Job runs (it reports no progress of its own)."""
        stop = threading.Event()
        every = max(1.0, self._lease.total_seconds() / 3)

        def beat() -> None:
            while not stop.wait(every):
                try:
                    progress(text)
                except Aborted:
                    pass  # the lease was renewed; the abort is seen once the Job ends
                except Exception:
                    log.warning("could not renew the lease while a Job runs", exc_info=True)

        # In a copy of this context: its log lines name the deployment too.
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(beat,), name="job-keepalive",
                                  daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _lock_in_the_way(self, d: Deployment, *, at: datetime) -> Lock | None:
        """A lock on the service there that refuses `d`: someone else's, and `d` is no
        rollback."""
        if d.kind is Kind.ROLLBACK:
            return None
        with self._store.transaction() as r:
            lock = r.locks.get(d.environment, d.service, at=at)
        return lock if lock is not None and lock.blocks(d.requested_by, kind=d.kind) else None

    def _refuse(self, d: Deployment, window: PolicyDecision) -> None:
        error = "the deploy window closed before it could start: " + "; ".join(window.reasons)
        self._cancel_unstarted(d, error, "deploy.refused_at_start",
                               {"reasons": list(window.reasons)})

    def _cancel_unstarted(self, d: Deployment, error: str, action: str,
                          details: dict[str, object]) -> None:
        """Cancel a queued deployment the runner will not start, saying why."""
        at = self._clock.now()
        with self._store.transaction() as r:
            if not r.deployments.transition(d.id, State.CANCELLED, at=at, finished_at=at,
                                            error=error, lease_owner=None, lease_until=None):
                return
            r.audit.record(action, actor="deploybot", at=at, deployment_id=d.id,
                           details=details)
            final = self._get(r, d.id)
        self._metrics.deployment_finished(final.environment, final.state.value)
        for call in (self._show, self._notifier.notify_requester):
            try:
                call(final)
            except DeploybotError:
                log.warning("deployment %s: could not report the refusal", d.id, exc_info=True)

    def _move(self, deployment_id: int, target: State, *, finished: bool = False,
              unless_aborted: bool = False, **fields: str | None) -> None:
        """`unless_aborted`: raise Aborted instead when someone asked to abort it; the row
        is locked while that is read, so a concurrent abort either is seen here or finds
        the deployment moved on (and says so)."""
        at = self._clock.now()
        extra: dict[str, object] = dict(fields)
        if finished:
            extra["finished_at"] = at
        with self._store.transaction() as r:
            if unless_aborted:
                cur = self._get(r, deployment_id)
                if r.deployments.lock(deployment_id, cur.state):
                    check_abort(self._get(r, deployment_id))
            if not r.deployments.transition(deployment_id, target, at=at, **extra):
                raise LostLease(deployment_id, target)
            r.audit.record(f"deploy.{target.value}", actor="deploybot", at=at,
                           deployment_id=deployment_id,
                           details={k: v for k, v in fields.items() if v is not None})
            d = self._get(r, deployment_id)
        if not finished:
            self._show(d)

    @staticmethod
    def _get(r: Repositories, deployment_id: int) -> Deployment:
        d = r.deployments.get(deployment_id)
        if d is None:
            raise LookupError(f"deployment {deployment_id} vanished")
        return d

    def _show(self, d: Deployment) -> None:
        try:
            self._notifier.show(d)
        except DeploybotError:
            log.warning("deployment %s: could not update Slack", d.id, exc_info=True)


_JOB_WHAT = {"migrate": "migration", "backup": "backup", "status": "migration status"}


def job_cause(kind: JobKind, result: JobResult) -> str:
    """'migration Job api-migrate-7 failed: <last log line>' and the like."""
    what = f"{_JOB_WHAT[kind]} Job {result.name}"
    last = result.last_line
    if result.reason and result.reason.startswith("did not finish"):
        return f"{what} {result.reason}" + (f": {last}" if last else "")
    return f"{what} failed: {last or result.reason or 'no log output'}"


class LostLease(RuntimeError):
    """Another process changed the deployment or holds its lease now: stop following it."""

    def __init__(self, deployment_id: int, target: State | None) -> None:
        super().__init__(f"deployment {deployment_id} could not move to {target}: "
                         "another process changed it" if target is not None else
                         f"deployment {deployment_id}: another process holds its lease now; "
                         "stopped following it")


class Aborted(Exception):
    """Raised from a progress report once someone asked to abort the deployment: the runner
    stops following the rollout (or the watch) and rolls back (`_aborted`)."""

    def __init__(self, by: str, at: datetime | None) -> None:
        super().__init__(f"aborted by {by}")
        self.by = by
        self.at = at


def check_abort(d: Deployment) -> None:
    """Raise Aborted when someone asked to abort `d` and it still rolls out or is watched
    (the automatic rollback after it, in another state, is not stopped again)."""
    if d.abort_requested_by is not None and d.state in ABORTABLE:
        raise Aborted(d.abort_requested_by, d.abort_requested_at)


class HandedBack(Exception):
    """Raised from a progress report once the runner hands its work back (SIGTERM)."""

    def __init__(self, deployment_id: int) -> None:
        super().__init__(f"deployment {deployment_id} handed back")
