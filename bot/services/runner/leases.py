"""The runner's hold on its work: exactly one process follows a deployment.

Work is claimed with a lease in the database (owner + expiry), so exactly one process runs a
deployment, and a deployment whose process died is picked up again by `resume()` once its
lease has run out. The lease is renewed as the rollout progresses (`_progress_for`) and by
a heartbeat (`_beat`, every third of the lease), so a rollout that reports nothing for a
while keeps it; a renewal that finds the lease taken stops following (`LostLease`), and so
does a transition that finds the deployment changed (`_move`). `hand_back()` (SIGTERM) stops
following at the next progress report (`HandedBack`) and releases the leases at once
(`_release`), so another process takes over without waiting for them to run out; a
deployment parked at a wait is interrupted there at once. Each deployment submitted runs as
a fiber (bot.fibers: `runner.workers` threads carry them all, and one waiting holds none);
what it does with a claimed deployment is the pipeline's `_run`.
"""

from __future__ import annotations

import enum
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.domain.deployment import Deployment
from bot.domain.states import State
from bot.errors import DeploybotError, RetryableError
from bot.logs import working_on
from bot.ports import DeploymentChanges
from bot.services.runner.base import RunnerBase, check_abort, log


class _Keep(enum.Enum):
    """`_move`'s "leave this column as it is" (None is a value: it clears the column)."""
    KEEP = "keep"


KEEP = _Keep.KEEP


class Leases(RunnerBase, ABC):
    @abstractmethod
    def _run(self, deployment_id: int) -> None:
        """Carry one deployment to its result, claiming it first (the pipeline)."""

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
        if not self._fibers.spawn(deployment_id, lambda: self.run_one(deployment_id),
                                  done=lambda: self._done(deployment_id)):
            self._done(deployment_id)  # shut down meanwhile

    @property
    def parked(self) -> int:
        """Deployments waiting at this moment (a rollout, Job or watch), holding no thread."""
        return self._fibers.parked

    def refuse_work(self) -> None:
        """A web process (`deploybot run --role web`): `submit` takes nothing from now on;
        what is queued here waits for a worker's resume poll (`runner.poll_every`)."""
        with self._lock:
            self._closed = True

    def _done(self, deployment_id: int) -> None:
        with self._lock:
            self._inflight.discard(deployment_id)
            self._claimed.discard(deployment_id)
            self._idle.notify_all()

    def resume(self) -> int:
        """Submit every deployment that is queued or whose lease has lapsed."""
        with self._store.transaction() as r:
            ids = list(r.deployments.claimable(self._clock.now()))
        for i in ids:
            self.submit(i)
        return len(ids)

    def next_due(self, *, at: datetime) -> datetime | None:
        """When `resume` next finds something to submit, as things stand: `at` when it does
        now, else when the first lease runs out; None when no deployment is in flight (the
        scheduler's tick before then finds nothing: devtools.shell.timeline skips it)."""
        with self._store.transaction() as r:
            return r.deployments.next_claimable(at)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._inflight, timeout=timeout)

    def shutdown(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        self._quit.set()  # ends the heartbeat
        self._fibers.shutdown(wait=wait)

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
        self._fibers.interrupt(HandedBack)  # a deployment parked at a wait stops there
        if ids:
            log.info("handing back deployment(s) %s", ", ".join(map(str, ids)))
        self.wait_idle(timeout)
        with self._lock:
            stuck = sorted(self._inflight)
        for i in stuck:
            self._release(i)
        return ids

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

    # -- the lease ---------------------------------------------------------------------
    def _claim(self, deployment_id: int, *, at: datetime) -> Deployment | None:
        """Take the deployment's lease (None: another process holds it, or it is done)."""
        with self._store.transaction() as r:
            if not r.deployments.claim(deployment_id, owner=self._owner, at=at,
                                       until=at + self._lease):
                return None
            d = self._get(r, deployment_id)
        with self._lock:
            self._claimed.add(deployment_id)  # from now on the heartbeat renews it
        return d

    def _beat(self) -> None:
        """Renew the lease of every deployment this process follows (claimed: not those
        still waiting in the pool for a worker, whose lease it does not hold yet), every
        third of the lease; a lease found taken (this process stalled past it) stops that
        deployment at its next progress report."""
        every = max(0.2, self._lease.total_seconds() / 3)
        while not self._quit.wait(every):
            with self._lock:
                ids = sorted((self._claimed & self._inflight) - self._lost)
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

    def _progress_for(self, deployment_id: int) -> Callable[[str], None]:
        """The progress report a rollout, Job or watch calls: it renews the lease and
        records the text; it raises HandedBack once the runner hands its work back,
        LostLease once another process holds the lease, Aborted once someone asked to
        abort; the card is shown again when the text changed, at most every
        `progress_every` (a report that only renews the lease redraws nothing)."""
        last_shown = [self._clock.now()]
        last_text: list[str | None] = [None]

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
                    r.deployments.record_progress(deployment_id, text[:255])
                    cur = self._get(r, deployment_id)
            except RetryableError as e:
                # The database is away for a moment: the rollout goes on in the cluster and
                # the next report (or the heartbeat) renews the lease once it is back.
                log.warning("could not record progress %r: %s", text, e)
                return
            check_abort(cur)  # someone asked to abort it: stop following, roll back
            if text != last_text[0] and now - last_shown[0] >= self._progress_every:
                last_shown[0], last_text[0] = now, text
                self._show(cur)

        return progress

    def _move(self, deployment_id: int, target: State, *, finished: bool = False,
              unless_aborted: bool = False, error: str | _Keep | None = KEEP,
              progress: str | _Keep | None = KEEP) -> None:
        """Move the deployment on by a conditional update, recording `error` and `progress`
        when given (None clears one: a success's progress is what it ended with, or nothing,
        never the "checking" of its watch); one that finds it changed means another process
        follows it now
        (LostLease). `unless_aborted`: raise Aborted instead when someone asked to abort it;
        the row is locked while that is read, so a concurrent abort either is seen here or
        finds the deployment moved on (and says so)."""
        at = self._clock.now()
        extra: DeploymentChanges = {}
        if not isinstance(error, _Keep):
            extra["error"] = error
        if not isinstance(progress, _Keep):
            extra["progress"] = progress
        details = {k: v for k, v in extra.items() if v is not None}  # what the audit records
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
                           deployment_id=deployment_id, details=details)
            d = self._get(r, deployment_id)
        if not finished:
            self._show(d)


class LostLease(RuntimeError):
    """Another process changed the deployment or holds its lease now: stop following it."""

    def __init__(self, deployment_id: int, target: State | None) -> None:
        super().__init__(f"deployment {deployment_id} could not move to {target}: "
                         "another process changed it" if target is not None else
                         f"deployment {deployment_id}: another process holds its lease now; "
                         "stopped following it")


class HandedBack(Exception):
    """Raised from a progress report once the runner hands its work back (SIGTERM)."""

    def __init__(self, deployment_id: int) -> None:
        super().__init__(f"deployment {deployment_id} handed back")
