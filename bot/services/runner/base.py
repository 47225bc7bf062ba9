"""What every part of the runner shares: its configuration and state (one constructor),
reading and showing a deployment, the deploy window that applies to one (`Gate`,
`window_for`), what happens after a rollout in an environment (`VerifyPlan`), and the abort
signal a progress report raises (`Aborted`, `check_abort`).

The runner logs under one name, `bot.services.runner`, whichever of its modules speaks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.config import MigrationsConfig
from bot.domain.abort import ABORTABLE
from bot.domain.deployment import Deployment, Kind
from bot.domain.flag_changes import acts_as
from bot.domain.policy import PolicyDecision
from bot.errors import DeploybotError
from bot.fibers import Fibers
from bot.ports import (
    Clock,
    Cluster,
    Metrics,
    NoMetrics,
    Notifier,
    Poster,
    Repositories,
    Store,
    Verifier,
)
from bot.ports.flags import FlagStore
from bot.services.failure_evidence import FailureEvidenceReader
from bot.services.live import LiveState
from bot.services.versions import VersionCheck

log = logging.getLogger("bot.services.runner")
_UTC = ZoneInfo("UTC")


class Gate(Protocol):
    def check(self, environment: str, service: str, *, at: datetime,
              emergency: bool = False) -> PolicyDecision: ...

    def check_rollback(self, environment: str, service: str, *,
                       at: datetime) -> PolicyDecision: ...


def window_for(gate: Gate, d: Deployment, *, at: datetime) -> PolicyDecision:
    """The deploy window that applies to `d`: rollbacks, migration runs (the guide's
    migration rollback) and flags turned off follow the rollback rule; deploys and flags
    turned on (or to a variant) the schedule and freezes (bot.domain.flag_changes)."""
    if acts_as(d.kind, d.version) is Kind.DEPLOY:
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


class RunnerBase:
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
        fibers: Fibers | None = None,
        evidence: FailureEvidenceReader | None = None,
        flags: Mapping[str, FlagStore] | None = None,
        flags_at_start: Callable[[Deployment], None] | None = None,
        poster: Poster | None = None,
        zone: ZoneInfo = _UTC,
        versions: VersionCheck | None = None,
    ) -> None:
        """`live`: what runs where (read when a deployment starts: what it replaces; and
        when one ends: the "Running now" of the cards still waiting).
        `rollback_locks`: environment → whether a rollback there locks the service
        (environments.<env>.rollbacks.lock). `metrics`: results and rollout durations.
        `fibers`: where deployments run (bot.fibers: each a fiber on one of `workers`
        threads, holding none while it waits, if the cluster and verifier wait through its
        `sleeper`); one of its own when not given. `evidence`: what the cluster shows about
        a failed rollout or watch (the failing pod, its last log lines, the warning
        events), posted in the deployment's thread before anything is rolled back.
        `flags`: environment → where its flag definitions are kept (flag changes).
        `flags_at_start`: keeps the flags a deploy's service declares as its rollout starts
        (the record's "Feature flags set"; never raises). `poster`: the deployments
        channel, told when a rollback replaced the lock an earlier one left (times in
        `zone`, the team's). `versions`: what a commit running is known as (its tag, from
        GitHub's tag list kept a minute), for the downgrade check at start."""
        self._store = store
        self._live = live
        self._metrics = metrics or NoMetrics()
        self._rollback_locks = dict(rollback_locks or {})
        self._verifier = verifier
        self._verify = dict(verify or {})
        self._migrations = dict(migrations or {})
        self._cluster = cluster
        self._evidence = evidence
        self._flags = dict(flags or {})
        self._flags_at_start = flags_at_start
        self._notifier = notifier
        self._poster = poster
        self._versions = versions
        self._zone = zone
        self._clock = clock
        self._owner = owner
        self._gate = gate
        self._lease = lease
        self._progress_every = progress_every
        self._fibers = fibers or Fibers(workers=workers)
        self._inflight: set[int] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self._stopping = threading.Event()  # hand_back(): stop following, release leases
        self._lost: set[int] = set()  # leases the heartbeat found taken by another process
        #: the deployments whose lease this process holds (claimed, not yet finished): the
        #: heartbeat renews these only, never one still waiting in the pool for a worker
        self._claimed: set[int] = set()
        self._heartbeat: threading.Thread | None = None
        self._quit = threading.Event()  # shutdown() or hand_back(): the heartbeat ends
        self._released: set[int] = set()  # leases given up by hand_back()

    @staticmethod
    def _get(r: Repositories, deployment_id: int) -> Deployment:
        d = r.deployments.get(deployment_id)
        if d is None:
            raise LookupError(f"deployment {deployment_id} vanished")
        return d

    def _explain(self, d: Deployment) -> None:
        """Post what the cluster shows about `d`'s failure in its thread, while the failed
        pods still run (before any rollback). Best effort: never raises."""
        if self._evidence is None or d.kind in (Kind.MIGRATE, Kind.FLAG) \
                or d.instance is not None:
            return
        evidence = self._evidence.gather(d.environment, d.service, d.version)
        if evidence is None or evidence.empty:
            return
        try:
            self._notifier.explain_failure(d, evidence)
        except DeploybotError:
            log.warning("deployment %s: could not post why it failed", d.id, exc_info=True)

    def _show(self, d: Deployment) -> None:
        try:
            self._notifier.show(d)
        except DeploybotError:
            log.warning("deployment %s: could not update Slack", d.id, exc_info=True)


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
