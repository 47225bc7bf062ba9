"""The deployment as the rest of the code sees it (a plain value, not an ORM row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.states import State


@dataclass(frozen=True)
class Decision:
    user_id: str
    approve: bool
    at: datetime


@dataclass(frozen=True)
class JobOutcome:
    """How the database migrations run before the rollout ended (for the record)."""

    ok: bool
    job: str  # the Job's name in the cluster
    tail: str  # the last lines of its log

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "job": self.job, "tail": self.tail}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> JobOutcome:
        return cls(ok=bool(data.get("ok")), job=str(data.get("job") or ""),
                   tail=str(data.get("tail") or ""))


@dataclass(frozen=True)
class Deployment:
    id: int
    service: str
    environment: str
    version: str
    previous_version: str | None
    state: State
    requested_by: str
    requested_at: datetime
    approvals_required: int
    expires_at: datetime | None = None
    channel: str | None = None
    message_ts: str | None = None
    record_ts: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    progress: str | None = None
    emergency_reason: str | None = None
    not_before: datetime | None = None
    prompted_at: datetime | None = None
    decisions: tuple[Decision, ...] = field(default=())
    migrations: JobOutcome | None = None

    @property
    def emergency(self) -> bool:
        return self.emergency_reason is not None

    @property
    def needs_approval(self) -> bool:
        return self.approvals_required > 0

    @property
    def approvers(self) -> list[Decision]:
        return [d for d in self.decisions if d.approve]

    @property
    def rejecter(self) -> Decision | None:
        return next((d for d in self.decisions if not d.approve), None)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


@dataclass(frozen=True)
class NewDeployment:
    service: str
    environment: str
    version: str
    previous_version: str | None
    state: State
    requested_by: str
    requested_at: datetime
    approvals_required: int
    expires_at: datetime | None
    emergency_reason: str | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class RunningVersion:
    environment: str
    service: str
    version: str
    since: datetime
