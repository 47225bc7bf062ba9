"""The small interfaces the services need. Backends and the store implement them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from bot.clock import Clock
from bot.domain.deployment import Deployment, NewDeployment, RunningVersion
from bot.domain.freezes import RuntimeFreeze
from bot.domain.states import State

__all__ = [
    "AlreadyRunning",
    "AnnouncementLog",
    "AuditLog",
    "Clock",
    "Cluster",
    "DeploymentRepository",
    "Directory",
    "FreezeRepository",
    "Health",
    "Holidays",
    "JobKind",
    "JobResult",
    "MessageRefs",
    "Migrations",
    "Notifier",
    "Poster",
    "Probes",
    "Repositories",
    "RolloutFailed",
    "Store",
    "Verifier",
    "VerifyResult",
]


class RolloutFailed(Exception):
    """The cluster could not roll the version out; `str()` says why in plain words."""


class AlreadyRunning(RolloutFailed):
    """The version asked for already runs there: nothing was changed, and that is no failure.

    A RolloutFailed so that a caller which knows only that one still stops safely."""

    def __init__(self, version: str, environment: str) -> None:
        super().__init__(f"{version} is already running in {environment}; nothing to do")
        self.version, self.environment = version, environment


class Cluster(Protocol):
    def current_version(self, environment: str, service: str) -> str | None: ...

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
    ) -> None:
        """Roll `version` out and return when it is live; raise RolloutFailed otherwise
        (AlreadyRunning when it runs already). `progress` gets a short line whenever the
        rollout moves; `deployment_id` and `requested_by` are recorded where the cluster
        can keep them (e.g. annotations)."""
        ...


JobKind = Literal["migrate", "backup", "status"]


@dataclass(frozen=True)
class JobResult:
    """How a one-off Job (migrations, backup, migration status) ended."""

    succeeded: bool
    logs_tail: str  # the last lines of its pod's log ("" when there were none)
    name: str  # the Job's name in the cluster
    reason: str | None = None  # why it failed, when not in the logs ("timed out after 10m")

    @property
    def last_line(self) -> str:
        lines = [ln for ln in self.logs_tail.splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""


@runtime_checkable
class Migrations(Protocol):
    """An optional capability of a Cluster: run a command once from a version's image."""

    def run_job(
        self, environment: str, service: str, *, kind: JobKind, command: Sequence[str],
        version: str, deployment_id: int | None, timeout: float,
    ) -> JobResult:
        """Run `command` as a one-off Job from `version`'s image and wait (at most `timeout`
        seconds) for it to end. A deployment's Job has a fixed name, so a second call (a
        resumed runner) follows the Job of the first instead of starting another. Raises
        RolloutFailed when the Job could not be run or followed at all."""
        ...


@runtime_checkable
class Health(Protocol):
    """An optional capability of a Cluster: one look at the pods of a version that went
    live, for the watch after the rollout."""

    def check_health(self, environment: str, service: str, version: str) -> str | None:
        """Why the pods of `version` are unhealthy (restarts, a crash loop, not ready), in
        plain words; None when they look fine. RetryableError when the cluster could not be
        asked this time."""
        ...


class Probes(Protocol):
    """HTTP checks from outside the cluster (smoke URLs, a Prometheus query)."""

    def smoke(self, url: str, *, expect_status: int) -> str | None:
        """None when GET `url` answers `expect_status`; else what went wrong."""
        ...

    def prometheus(self, url: str, query: str, *, max_value: float) -> tuple[str | None, str]:
        """(why it failed or None, what was seen) for an instant query whose values must
        not be above `max_value`."""
        ...


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reasons: tuple[str, ...] = ()  # why it failed (empty when ok)
    summary: str = ""  # what was checked and seen, one line
    superseded: bool = False  # someone else changed the workload: never roll that back


class Superseded(Exception):
    """The workload no longer runs the version being watched: someone else deployed."""


class Verifier(Protocol):
    def watch(self, environment: str, service: str, version: str, *, until: datetime,
              progress: Callable[[str], None]) -> VerifyResult:
        """Watch `version` of `service` in `environment` until `until` (or its first
        failure) and run the environment's checks; the result in plain words."""
        ...


@dataclass(frozen=True)
class MessageRefs:
    channel: str
    message_ts: str
    record_ts: str | None


class Notifier(Protocol):
    def show(self, d: Deployment) -> MessageRefs:
        """Post the deployment's card and record thread, or update them in place."""
        ...

    def announce(self, d: Deployment) -> None:
        """Announce the end result in the deployments channel."""
        ...

    def notify_requester(self, d: Deployment) -> None: ...

    def alert(self, d: Deployment, overrides: Sequence[str]) -> None:
        """Announce loudly (top level in the channel) an emergency deploy request."""
        ...

    def prompt_requester(self, d: Deployment) -> None:
        """DM the requester of a scheduled deploy: its window is open, start it or cancel."""
        ...


class Directory(Protocol):
    def group_members(self, group_id: str) -> frozenset[str]: ...


class DeploymentRepository(Protocol):
    def add(self, new: NewDeployment) -> Deployment: ...

    def get(self, deployment_id: int) -> Deployment | None: ...

    def lock(self, deployment_id: int, state: State) -> bool:
        """Serialize writers on one deployment still in `state` (row lock); False if not."""
        ...

    def transition(
        self, deployment_id: int, target: State, *, at: datetime, **fields: Any
    ) -> bool:
        """Move to `target` only from a legal source state; False when another got there."""
        ...

    def set_fields(self, deployment_id: int, **fields: Any) -> None: ...

    def add_decision(self, deployment_id: int, user_id: str, *, approve: bool,
                     at: datetime) -> bool: ...

    def count_approvals(self, deployment_id: int) -> int: ...

    def due_for_expiry(self, at: datetime) -> Sequence[int]: ...

    def due_scheduled(self, at: datetime) -> Sequence[int]: ...

    def mark_prompted(self, deployment_id: int, *, at: datetime) -> bool: ...

    def unanswered(self, *, prompted_before: datetime) -> Sequence[int]: ...

    def find_scheduled(self, *, service: str, environment: str, version: str,
                       requested_by: str) -> Deployment | None: ...

    def claim(self, deployment_id: int, *, owner: str, at: datetime, until: datetime) -> bool:
        """Take the lease on a queued deployment (or on a running one whose lease ran out)."""
        ...

    def renew(self, deployment_id: int, *, owner: str, until: datetime) -> bool: ...

    def claimable(self, at: datetime) -> Sequence[int]: ...

    def recent(self, limit: int) -> Sequence[Deployment]: ...

    def running_versions(self) -> Sequence[RunningVersion]: ...

    def last_succeeded_version(self, environment: str, service: str) -> str | None: ...


class AuditLog(Protocol):
    def record(
        self,
        action: str,
        *,
        actor: str,
        at: datetime,
        deployment_id: int | None = None,
        details: dict[str, Any] | None = None,
        slack_channel: str | None = None,
        slack_ts: str | None = None,
    ) -> None: ...


class FreezeRepository(Protocol):
    def add(self, *, name: str, start: datetime, end: datetime, reason: str,
            environments: Sequence[str] | None, created_by: str,
            at: datetime) -> RuntimeFreeze: ...

    def current(self, at: datetime) -> Sequence[RuntimeFreeze]: ...

    def get(self, number: int) -> RuntimeFreeze | None: ...

    def remove(self, number: int, *, by: str, at: datetime) -> bool: ...


class AnnouncementLog(Protocol):
    def claim(self, key: str, *, due_at: datetime, at: datetime) -> bool: ...

    def posted(self, key: str, *, channel: str, ts: str) -> None: ...

    def release(self, key: str) -> None: ...

    def claimed(self, key: str) -> bool: ...


class Repositories(Protocol):
    @property
    def deployments(self) -> DeploymentRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def freezes(self) -> FreezeRepository: ...

    @property
    def announcements(self) -> AnnouncementLog: ...


class Holidays(Protocol):
    def between(self, country: str, subdivision: str | None, names: Sequence[str] | None,
                language: str | None, first: date, last: date) -> list[tuple[date, str]]:
        """Public holidays (date, name) from `first` to `last` inclusive."""
        ...


class Poster(Protocol):
    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        """Post a plain message (announcements); returns (channel, ts)."""
        ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Repositories]:
        """A unit of work: commits when the block ends, rolls back on an exception."""
        ...
