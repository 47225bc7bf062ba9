"""The deployment state machine: the states, and which transitions are legal."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    SCHEDULED = "scheduled"  # refused by the window, waiting for it to open
    AWAITING_APPROVAL = "awaiting_approval"
    QUEUED = "queued"
    RUNNING = "running"
    VERIFYING = "verifying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ROLLED_BACK = "rolled_back"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def active(self) -> bool:
        """Work is in flight (approved, not finished)."""
        return self in (State.QUEUED, State.RUNNING, State.VERIFYING)


TERMINAL = frozenset(
    {State.SUCCEEDED, State.FAILED, State.REJECTED, State.EXPIRED, State.CANCELLED,
     State.ROLLED_BACK}
)

TRANSITIONS: dict[State, frozenset[State]] = {
    State.SCHEDULED: frozenset(
        {State.AWAITING_APPROVAL, State.QUEUED, State.CANCELLED, State.EXPIRED}
    ),
    State.AWAITING_APPROVAL: frozenset(
        {State.QUEUED, State.REJECTED, State.EXPIRED, State.CANCELLED}
    ),
    State.QUEUED: frozenset({State.RUNNING, State.CANCELLED}),
    # RUNNING -> SUCCEEDED: a migration run has no rollout to verify.
    State.RUNNING: frozenset({State.VERIFYING, State.SUCCEEDED, State.FAILED}),
    State.VERIFYING: frozenset({State.SUCCEEDED, State.FAILED}),
    State.SUCCEEDED: frozenset({State.ROLLED_BACK}),
    State.FAILED: frozenset({State.ROLLED_BACK}),
    State.REJECTED: frozenset(),
    State.EXPIRED: frozenset(),
    State.CANCELLED: frozenset(),
    State.ROLLED_BACK: frozenset(),
}


class IllegalTransition(ValueError):
    pass


def sources_for(target: State) -> frozenset[State]:
    """Every state from which `target` may be entered (for conditional updates)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


def check_transition(current: State, target: State) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"{current} -> {target} is not a legal transition")
