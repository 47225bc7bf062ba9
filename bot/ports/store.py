"""The store as the services see it: a unit of work (Store.transaction) and the repositories
it hands out — the audit log, freezes, locks, faulty versions, announcements, App Home
viewers, checklists, the Slack requests acknowledged and not answered yet, and the
deployments (their roles: bot.ports.deployments)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from bot.domain.acknowledged import Acknowledged
from bot.domain.audit import AuditEntry, AuditEvent
from bot.domain.checklist import Tick
from bot.domain.checklist_facts import Facts
from bot.domain.faulty import FaultyMark
from bot.domain.flag_status import FlagReading
from bot.domain.freezes import RuntimeFreeze
from bot.domain.locks import Lock
from bot.ports.deployments import DeploymentRepository


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
        environment: str | None = None,
    ) -> None:
        """`environment` defaults to the deployment's, when `deployment_id` names one."""
        ...

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        """Record a batch (the request trail). The environment defaults to that of the
        deployment in `deployment_id`, or named by `details["deployment_id"]`; a
        `deployment_id` that names no deployment is moved to the details."""
        ...

    def latest(self, *, environment: str | None, since: datetime | None,
               before_id: int | None, limit: int) -> Sequence[AuditEvent]:
        """The newest events first (ids below `before_id`, at or after `since`)."""
        ...

    def start_id(self, since: datetime) -> int | None:
        """The smallest id of an event at or after `since` (None: there is none)."""
        ...

    def batch_after(self, after_id: int, *, environment: str | None,
                    limit: int) -> Sequence[AuditEvent]:
        """The next `limit` events with ids above `after_id`, in id order (export)."""
        ...

    def first_times(self, action: str, deployment_ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these deployments first recorded `action`."""
        ...


class FreezeRepository(Protocol):
    def add(self, *, name: str, start: datetime, end: datetime, reason: str,
            environments: Sequence[str] | None, created_by: str,
            at: datetime) -> RuntimeFreeze: ...

    def current(self, at: datetime) -> Sequence[RuntimeFreeze]: ...

    def get(self, number: int) -> RuntimeFreeze | None: ...

    def remove(self, number: int, *, by: str, at: datetime) -> bool: ...


class HomeViewers(Protocol):
    def opened(self, user_id: str, *, at: datetime) -> None:
        """`user_id` opened the App Home tab at `at`."""
        ...

    def since(self, at: datetime, *, limit: int) -> Sequence[str]:
        """Who opened it at or after `at` (most recent first, at most `limit`)."""
        ...


class AnnouncementLog(Protocol):
    def claim(self, key: str, *, due_at: datetime, at: datetime) -> bool: ...

    def posted(self, key: str, *, channel: str, ts: str) -> None: ...

    def release(self, key: str) -> None: ...

    def claimed(self, key: str) -> bool: ...

    def forget(self, prefix: str, *, claimed_before: datetime) -> int: ...

    def keys(self, prefix: str) -> list[str]:
        """The claimed keys that start with `prefix`, sorted."""
        ...

    def drop(self, key: str) -> bool:
        """Delete one claim; True only for the one caller that deleted it."""
        ...


class FaultyVersions(Protocol):
    def mark(self, *, environment: str, service: str, version: str, reason: str, by: str,
             at: datetime, deployment_id: int | None = None) -> FaultyMark: ...

    def get(self, environment: str, service: str, version: str) -> FaultyMark | None: ...

    def marked(self, environment: str, service: str) -> set[str]: ...


class LockRepository(Protocol):
    def acquire(self, *, environment: str, service: str, holder: str, reason: str,
                at: datetime, expires_at: datetime | None = None, origin: str = "manual",
                deployment_id: int | None = None) -> Lock | None:
        """Take the lock; None when one is held there already (the transaction stays
        usable). An expired lock nobody released yet gives way."""
        ...

    def get(self, environment: str, service: str, *, at: datetime) -> Lock | None:
        """The lock in force there at `at`, if any."""
        ...

    def active(self, at: datetime) -> Sequence[Lock]: ...

    def expired(self, at: datetime) -> Sequence[Lock]:
        """Locks whose time is up at `at` that nobody released yet."""
        ...

    def next_expiry(self) -> datetime | None:
        """When `expired` next finds a lock, as things stand (the earliest expiry of one
        nobody released yet); None when no lock expires."""
        ...

    def release(self, lock_id: int, *, by: str, at: datetime) -> bool:
        """Release it if nobody did yet (a conditional UPDATE): True for one caller only."""
        ...


class ChecklistRepository(Protocol):
    def ticks(self, deployment_id: int) -> Sequence[Tick]: ...

    def set_tick(self, deployment_id: int, tick: Tick) -> None:
        """Tick an item (or mark it not applicable), replacing an earlier tick of it; a
        tick with `attested` keeps an approval's attestation of an item nothing checked."""
        ...

    def clear_tick(self, deployment_id: int, item: str) -> bool:
        """Untick; False when it was not ticked."""
        ...

    def facts(self, deployment_id: int) -> Facts | None:
        """What GitHub said when last asked (None: never asked yet)."""
        ...

    def save_facts(self, deployment_id: int, facts: Facts, *, failures: int,
                   next_check_at: datetime | None) -> None: ...

    def failures(self, deployment_id: int) -> int:
        """How many times in a row GitHub could not be asked (for the back-off)."""
        ...

    def due(self, at: datetime, limit: int) -> Sequence[int]:
        """Deployments whose facts should be asked for again at `at` (awaiting approval)."""
        ...


class FlagSnapshotRepository(Protocol):
    """The declared feature flags of each deployment as read when its rollout started."""

    def get(self, deployment_id: int) -> FlagReading | None: ...

    def keep(self, deployment_id: int, reading: FlagReading) -> bool:
        """Keep `reading` unless one is kept already (then False: the first one stays)."""
        ...


class AcknowledgedRequests(Protocol):
    """Slack requests acknowledged and not answered yet (bot/services/acknowledged.py)."""

    def record_many(self, requests: Sequence[Acknowledged]) -> None: ...

    def forget(self, request_id: str) -> bool:
        """Its answer was sent: delete it (True when it was there)."""
        ...

    def claim(self, request_id: str) -> bool:
        """Delete it for the one caller that tells its person (True for that one only)."""
        ...

    def left_behind(self, *, before: datetime, other_than: str,
                    limit: int) -> Sequence[Acknowledged]:
        """Rows acked before `before` by a process other than `other_than`, oldest first."""
        ...

    def oldest(self, *, other_than: str) -> datetime | None:
        """When the oldest row of a process other than `other_than` was acked."""
        ...


class Repositories(Protocol):
    @property
    def deployments(self) -> DeploymentRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def freezes(self) -> FreezeRepository: ...

    @property
    def announcements(self) -> AnnouncementLog: ...

    @property
    def locks(self) -> LockRepository: ...

    @property
    def home_viewers(self) -> HomeViewers: ...

    @property
    def faulty(self) -> FaultyVersions: ...

    @property
    def checklists(self) -> ChecklistRepository: ...

    @property
    def flag_snapshots(self) -> FlagSnapshotRepository: ...

    @property
    def acknowledged(self) -> AcknowledgedRequests: ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Repositories]:
        """A unit of work: commits when the block ends, rolls back on an exception."""
        ...
