"""The DORA measures from deploybot's own records (pure: the records and the window are
passed in).

Definitions (docs/commands.md, "History, DORA measures and the audit log", says the same
in prose):

- A deployment *went live* when its rollout completed: it succeeded; or it failed its watch
  after the rollout (`failed verification`, still live or rolled back automatically); or it
  ended `rolled_back` (a rollback replaced it later).
- A *change* is a deployment of kind `deploy`, requested in the window, that went live and
  changed the version (a deploy of the version already running changes nothing). Rollbacks
  and migration runs are not changes.
- *Deployment frequency*: changes ÷ the window's days (and times 7 per week).
- A change *failed* when it failed its watch, ended rolled back, or needed a rollback: a
  `rollback` deployment names it (`rollback_of`) and was not rejected, expired or cancelled.
- *Change failure rate*: failed changes ÷ changes.
- *Time to restore* of a failed change: from its failure to the end of the first deploy or
  rollback of that service in that environment that went live and passed its checks after
  it (for an automatic rollback, the end of the failed deployment itself). Its failure is
  when its watch failed (the `deploy.failed` audit event; else its end, when it ended
  failed), else when the first rollback of it was requested, else when its rollout started.
  The median and the worst are over the failed changes restored; those not restored yet are
  counted apart.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.deployment import Kind
from bot.domain.states import State

#: The window of `/deploys stats`.
STATS_WINDOW = timedelta(days=30)

#: A rollback in one of these states was withdrawn or refused: it was not needed after all.
_WITHDRAWN = frozenset({State.REJECTED, State.EXPIRED, State.CANCELLED})


@dataclass(frozen=True)
class DeploymentFact:
    """What the measures need of one deployment (a projection, not the whole record)."""

    id: int
    environment: str
    service: str
    kind: Kind
    state: State
    version: str
    previous_version: str | None
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    failed_verification: bool = False  # it went live, then its watch failed
    rollback_of: int | None = None  # ROLLBACK: the deployment it replaces
    failed_at: datetime | None = None  # when its failure was recorded (audit), if it was

    @property
    def went_live(self) -> bool:
        return (self.state in (State.SUCCEEDED, State.ROLLED_BACK)
                or (self.state is State.FAILED and self.failed_verification))

    @property
    def passed(self) -> bool:
        """It went live and passed its checks (a later rollback of it notwithstanding)."""
        return self.state is State.SUCCEEDED or (self.state is State.ROLLED_BACK
                                                 and not self.failed_verification)

    @property
    def is_change(self) -> bool:
        return (self.kind is Kind.DEPLOY and self.went_live
                and self.version != self.previous_version)


@dataclass(frozen=True)
class Restore:
    """One failed change and when its service was healthy again (None: not yet)."""

    deployment_id: int
    environment: str
    service: str
    failed_at: datetime
    restored_at: datetime | None

    @property
    def took(self) -> timedelta | None:
        return None if self.restored_at is None else self.restored_at - self.failed_at


@dataclass(frozen=True)
class DoraStats:
    since: datetime
    until: datetime
    changes: int
    failed: int
    rollbacks: int  # rollback deployments requested in the window that went live
    restores: tuple[Restore, ...]  # one per failed change, by failure time

    @property
    def days(self) -> float:
        return (self.until - self.since) / timedelta(days=1)

    @property
    def per_day(self) -> float:
        return self.changes / self.days if self.days > 0 else 0.0

    @property
    def per_week(self) -> float:
        return self.per_day * 7

    @property
    def failure_rate(self) -> float | None:
        """Failed changes ÷ changes (None when nothing went live)."""
        return self.failed / self.changes if self.changes else None

    @property
    def restored(self) -> list[timedelta]:
        return [t for r in self.restores if (t := r.took) is not None]

    @property
    def unrestored(self) -> list[Restore]:
        return [r for r in self.restores if r.restored_at is None]

    @property
    def median_restore(self) -> timedelta | None:
        times = self.restored
        if not times:
            return None
        return timedelta(seconds=statistics.median(t.total_seconds() for t in times))

    @property
    def worst_restore(self) -> timedelta | None:
        return max(self.restored, default=None)


def rollbacks_of(facts: Iterable[DeploymentFact]) -> dict[int, list[DeploymentFact]]:
    """The rollbacks that were needed, by the deployment they replace (oldest first)."""
    out: dict[int, list[DeploymentFact]] = {}
    for f in facts:
        if f.kind is Kind.ROLLBACK and f.rollback_of is not None and f.state not in _WITHDRAWN:
            out.setdefault(f.rollback_of, []).append(f)
    for rs in out.values():
        rs.sort(key=lambda r: (r.requested_at, r.id))
    return out


def failed_change(f: DeploymentFact, rollbacks: dict[int, list[DeploymentFact]]) -> bool:
    return f.is_change and (f.failed_verification or f.state is State.ROLLED_BACK
                            or f.id in rollbacks)


def failure_time(f: DeploymentFact, rollbacks: dict[int, list[DeploymentFact]]) -> datetime:
    if f.failed_at is not None:
        return f.failed_at
    if f.failed_verification and f.state is State.FAILED and f.finished_at is not None:
        return f.finished_at
    if f.id in rollbacks:
        return rollbacks[f.id][0].requested_at
    return f.started_at or f.requested_at


def compute(facts: Sequence[DeploymentFact], *, since: datetime, until: datetime) -> DoraStats:
    """The measures over [since, until] from every deployment (of kind deploy and rollback)
    of the environments and services in scope requested since `since`."""
    needed = rollbacks_of(facts)
    changes = [f for f in facts if since <= f.requested_at <= until and f.is_change]
    failed = [f for f in changes if failed_change(f, needed)]
    healthy: dict[tuple[str, str], list[tuple[datetime, int]]] = {}
    for f in facts:
        if f.kind in (Kind.DEPLOY, Kind.ROLLBACK) and f.passed and f.finished_at is not None:
            healthy.setdefault((f.environment, f.service), []).append((f.finished_at, f.id))
    for ends in healthy.values():
        ends.sort()
    restores: list[Restore] = []
    for f in failed:
        at = failure_time(f, needed)
        restored = next((t for t, i in healthy.get((f.environment, f.service), [])
                         if i != f.id and t > at), None)
        automatic = (f.state is State.ROLLED_BACK and f.failed_verification
                     and f.id not in needed and f.finished_at is not None)
        if automatic and f.finished_at is not None and (restored is None
                                                        or f.finished_at < restored):
            restored = max(f.finished_at, at)
        restores.append(Restore(f.id, f.environment, f.service, at, restored))
    restores.sort(key=lambda r: (r.failed_at, r.deployment_id))
    rollbacks = sum(1 for f in facts if f.kind is Kind.ROLLBACK and f.went_live
                    and since <= f.requested_at <= until)
    return DoraStats(since=since, until=until, changes=len(changes), failed=len(failed),
                     rollbacks=rollbacks, restores=tuple(restores))
