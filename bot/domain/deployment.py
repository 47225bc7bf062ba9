"""The deployment as the rest of the code sees it (a plain value, not an ORM row)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.cause import Cause
from bot.domain.previews import where as _where
from bot.domain.states import State


class Kind(StrEnum):
    """What a deployment changes. All four share the approval flow, the lease and the card."""

    DEPLOY = "deploy"  # roll `version` out
    ROLLBACK = "rollback"  # roll `version` (an earlier one) out again, in place of `rollback_of`
    MIGRATE = "migrate"  # run the migrations to `target` from the running `version`'s image
    #: change feature flag `target` to `version` ("on", "off" or a variant's name) where the
    #: environment's flags live; `previous_version` is its default variant before, and
    #: `rollback_of` the deployment whose thread hears of it (bot.domain.flag_changes)
    FLAG = "flag"


@dataclass(frozen=True)
class Decision:
    user_id: str
    approve: bool
    at: datetime
    reason: str | None = None  # why it was rejected (the Reject modal asks)


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
class Verification:
    """The watch after the rollout, as recorded with the deployment, and what people decided
    when it failed and rolling back was left to them."""

    ok: bool
    summary: str
    reasons: tuple[str, ...] = ()
    bake_seconds: float = 0.0
    #: Rollback / Keep buttons are offered (it failed, automatic rollback is off, the
    #: previous version is known, and nobody else changed the workload since).
    offer_rollback: bool = False
    superseded: bool = False  # someone else changed the workload during the watch
    decision: str | None = None  # "rollback" | "keep", once someone clicked
    decided_by: str | None = None
    decided_at: datetime | None = None
    rollback_id: int | None = None  # the rollback deployment the click started

    @property
    def awaiting_decision(self) -> bool:
        return self.offer_rollback and self.decision is None

    def decided(self, decision: str, *, by: str, at: datetime,
                rollback_id: int | None = None) -> Verification:
        return replace(self, decision=decision, decided_by=by, decided_at=at,
                       rollback_id=rollback_id)

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "summary": self.summary, "reasons": list(self.reasons),
                "bake_seconds": self.bake_seconds, "offer_rollback": self.offer_rollback,
                "superseded": self.superseded,
                "decision": self.decision, "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None,
                "rollback_id": self.rollback_id}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Verification:
        at = data.get("decided_at")
        rid = data.get("rollback_id")
        reasons = data.get("reasons")
        bake = data.get("bake_seconds")
        return cls(
            ok=bool(data.get("ok")), summary=str(data.get("summary") or ""),
            reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
            bake_seconds=float(bake) if isinstance(bake, (int, float)) else 0.0,
            offer_rollback=bool(data.get("offer_rollback")),
            superseded=bool(data.get("superseded")),
            decision=str(data["decision"]) if data.get("decision") else None,
            decided_by=str(data["decided_by"]) if data.get("decided_by") else None,
            decided_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
            rollback_id=rid if isinstance(rid, int) else None,
        )


@dataclass(frozen=True)
class Promotion:
    """What the promotion gate (`environments.<env>.promote_from`) found when the deploy was
    requested, kept with it: the card and the record say why the version may go there. It
    is history (what succeeded there, when), not a claim that it still runs there."""

    source: str  # the environment it was promoted from (promote_from then)
    #: The deployment that succeeded there; None: an emergency skipped the gate (nothing had)
    deployment_id: int | None = None
    at: datetime | None = None  # when that deployment succeeded there (finished)
    #: The tag's commit (12 characters, as a push's deploy records it) that succeeded there
    #: when the version itself did not; None: the version itself did.
    commit: str | None = None

    @property
    def skipped(self) -> bool:
        return self.deployment_id is None

    def found(self, version: str) -> str:
        """What succeeded there, as people read it: "`v1.2.3` succeeded there", or "`v1.2.3`
        is commit `3f2a9c1b7d4e`, which succeeded there"."""
        if self.commit is not None:
            return f"`{version}` is commit `{self.commit}`, which succeeded there"
        return f"`{version}` succeeded there"


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
    kind: Kind = Kind.DEPLOY
    target: str | None = None  # MIGRATE: the migration target, e.g. "orders 0042_previous"
    #                            FLAG: the flag's name
    rollback_of: int | None = None  # ROLLBACK: the deployment whose version it replaces
    #                                 FLAG: the deployment whose thread hears of it
    verification: Verification | None = None
    github_deployment_id: int | None = None  # its mirror on GitHub (Deployments API), if any
    instance: str | None = None  # a per-PR instance ("pr-7"); None: the main one
    superseded_by: int | None = None  # the newer request that replaced it while it waited
    abort_requested_by: str | None = None  # who asked to abort it (rollout or watch)
    abort_requested_at: datetime | None = None
    downgrade_from: str | None = None  # the newer version it replaces (a confirmed downgrade)
    promotion: Promotion | None = None  # the promotion gate as it was requested (a deploy)
    #: Why an automatic deploy started (what moved on GitHub); None: a person asked for it
    cause: Cause | None = None
    #: When its state last changed (or a runner claimed it): for a deployment that ended,
    #: when it came to its state (e.g. rolled back by a later rollback).
    updated_at: datetime | None = None

    @property
    def where(self) -> str:
        """Its environment as people read it: `development (PR #7)` for a per-PR one."""
        return _where(self.environment, self.instance)

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
    def approvals_missing(self) -> int:
        """How many more approvals it needs before it may start."""
        return self.approvals_required - len(self.approvers)

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
    kind: Kind = Kind.DEPLOY
    target: str | None = None
    rollback_of: int | None = None
    instance: str | None = None  # a per-PR instance ("pr-7"); None: the main one
    downgrade_from: str | None = None  # confirmed: it replaces this newer version
    promotion: Promotion | None = None  # what the promotion gate found (passed or skipped)
    cause: Cause | None = None  # an automatic deploy's: what moved on GitHub


@dataclass(frozen=True)
class RunningVersion:
    environment: str
    service: str
    version: str
    since: datetime
