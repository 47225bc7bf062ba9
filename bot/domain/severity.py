"""How serious a deployment's result is (pure).

This module owns the guide's alert levels (`Severity`: critical, high, medium, low), the
outcomes a result is sorted into (`Outcome`), and the default mapping between the two
(`DEFAULT_SEVERITY`, the mapping of issue 7; app.yaml's `announcements.severity` overrides
it per outcome). `severity_of` is the one place that decides the level of a result; the
announcement in the deployments channel shows it. Routing by level (critical → PagerDuty,
high → #ops-alerts, medium → #engineering, low → the daily summary) is
bot.domain.alerts'.

The default mapping:

- a production deploy that failed — its rollout, its migrations, or its watch after the
  rollout, rolled back automatically or not — is critical;
- outside production, a deploy rolled back automatically after failing its watch is
  critical too (the guide: "automatic rollback → critical"); one that failed its watch and
  is still live is high;
- any other failure outside production (e.g. the rollout in staging) is medium;
- a routine result (live, or "already running; nothing to do") is low;
- a deploy the runner would not start because someone locked the service meanwhile is high
  (`lock_blocked`); an approval request that expired unanswered is medium
  (`approval_expired`) — the other events deploybot raises (issue 7, bot.domain.alerts).

A rollback someone asked for (Rollback button) is announced as `rolled_back` when it
succeeds (high by default, production included: the guide's "a rollback → high"). So is,
outside production, a deploy someone aborted (`/deploy abort`, the card's Abort button) and
that was rolled back: people chose to stop it, no automatic rollback reacted to a failure. In
production it is `production_failed`, as any deploy there that did not go live as asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from enum import StrEnum
from types import MappingProxyType

from bot.domain.deployment import Deployment, Kind
from bot.domain.flag_changes import turns_off
from bot.domain.locks import LOCKED_BEFORE_START
from bot.domain.outcome_notes import aborted, failed_verification
from bot.domain.states import State


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def label(self) -> str:
        """'Critical', 'High', …: for people."""
        return self.value.capitalize()


class Outcome(StrEnum):
    """What a deployment's result was, as `announcements.severity` names it."""

    PRODUCTION_FAILED = "production_failed"  # in production: any failure or rollback
    AUTO_ROLLED_BACK = "auto_rolled_back"  # elsewhere: rolled back automatically
    ROLLED_BACK = "rolled_back"  # a rollback someone asked for, done (anywhere); or
    # elsewhere: a deploy someone aborted, rolled back
    VERIFICATION_FAILED = "verification_failed"  # elsewhere: failed its watch, not rolled back
    FAILED = "failed"  # elsewhere: any other failure (rollout, migrations)
    SUCCEEDED = "succeeded"  # routine: live, or already running
    LOCK_BLOCKED = "lock_blocked"  # cancelled before it started: the service was locked
    APPROVAL_EXPIRED = "approval_expired"  # nobody approved it in time


DEFAULT_SEVERITY: Mapping[Outcome, Severity] = MappingProxyType({
    Outcome.PRODUCTION_FAILED: Severity.CRITICAL,
    Outcome.AUTO_ROLLED_BACK: Severity.CRITICAL,
    Outcome.ROLLED_BACK: Severity.HIGH,
    Outcome.VERIFICATION_FAILED: Severity.HIGH,
    Outcome.FAILED: Severity.MEDIUM,
    Outcome.SUCCEEDED: Severity.LOW,
    Outcome.LOCK_BLOCKED: Severity.HIGH,
    Outcome.APPROVAL_EXPIRED: Severity.MEDIUM,
})

#: Which environments are production: their names, or a predicate on a name.
Production = AbstractSet[str] | Callable[[str], bool]


def is_production(environment: str, production: Production) -> bool:
    if callable(production):
        return bool(production(environment))
    return environment in production


def outcome_of(d: Deployment, *, production: Production) -> Outcome:
    """The outcome of `d`'s result. A deployment that has not failed (succeeded, or closed
    without running) counts as routine."""
    failed = d.state in (State.FAILED, State.ROLLED_BACK)
    if d.state is State.EXPIRED:
        return Outcome.APPROVAL_EXPIRED
    if blocked_by_lock(d):
        return Outcome.LOCK_BLOCKED
    if not failed:
        # a rollback, or a flag turned off: a remedy, announced as loudly as one
        if (d.kind is Kind.ROLLBACK or turns_off(d)) and d.state is State.SUCCEEDED:
            return Outcome.ROLLED_BACK
        return Outcome.SUCCEEDED
    if is_production(d.environment, production):
        return Outcome.PRODUCTION_FAILED
    if d.state is State.ROLLED_BACK and aborted(d) is not None:  # someone asked for it
        return Outcome.ROLLED_BACK
    if d.state is State.ROLLED_BACK:  # announced as such only when the runner rolled it back
        return Outcome.AUTO_ROLLED_BACK
    if failed_verification(d):  # still live, or its rollback failed too
        return Outcome.VERIFICATION_FAILED
    return Outcome.FAILED


def blocked_by_lock(d: Deployment) -> bool:
    """Cancelled before it started because someone locked the service meanwhile (the runner
    stores `refusal_at_start`, which carries LOCKED_BEFORE_START)."""
    return (d.state is State.CANCELLED and d.error is not None
            and LOCKED_BEFORE_START in d.error)


def severity_of(d: Deployment, *, production: Production,
                mapping: Mapping[Outcome, Severity] = DEFAULT_SEVERITY) -> Severity:
    """The severity of `d`'s result: `mapping` (overrides; outcomes it leaves out keep
    their default) applied to its outcome."""
    outcome = outcome_of(d, production=production)
    return mapping.get(outcome, DEFAULT_SEVERITY[outcome])
