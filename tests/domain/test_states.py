"""The deployment state machine: legal transitions, their sources, terminal and active."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.states import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransition,
    State,
    check_transition,
    sources_for,
)

LEGAL = sorted((s, t) for s, targets in TRANSITIONS.items() for t in targets)
ILLEGAL = sorted(
    (s, t) for s, t in itertools.product(State, State) if t not in TRANSITIONS[s]
)

# The design's life of a deployment, written out independently of TRANSITIONS.
EXPECTED_LEGAL = {
    # a deploy refused by its window waits; its requester starts it (into approval, or
    # straight to the queue when no approval is needed) or it is cancelled
    (State.SCHEDULED, State.AWAITING_APPROVAL),
    (State.SCHEDULED, State.QUEUED),
    (State.SCHEDULED, State.CANCELLED),
    (State.SCHEDULED, State.EXPIRED),
    (State.AWAITING_APPROVAL, State.QUEUED),
    (State.AWAITING_APPROVAL, State.REJECTED),
    (State.AWAITING_APPROVAL, State.EXPIRED),
    (State.AWAITING_APPROVAL, State.CANCELLED),
    (State.QUEUED, State.RUNNING),
    (State.QUEUED, State.CANCELLED),
    (State.RUNNING, State.VERIFYING),
    (State.RUNNING, State.SUCCEEDED),  # a migration run: nothing to verify
    (State.RUNNING, State.FAILED),
    (State.VERIFYING, State.SUCCEEDED),
    (State.VERIFYING, State.FAILED),
    (State.SUCCEEDED, State.ROLLED_BACK),
    (State.FAILED, State.ROLLED_BACK),
}


def test_every_state_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(State)


def test_transitions_are_the_designed_ones() -> None:
    assert set(LEGAL) == EXPECTED_LEGAL


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=lambda s: s.value)
def test_legal_transition(current: State, target: State) -> None:
    assert check_transition(current, target) is None
    assert current in sources_for(target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=lambda s: s.value)
def test_illegal_transition_raises(current: State, target: State) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(current, target)
    assert str(info.value) == f"{current} -> {target} is not a legal transition"
    assert current not in sources_for(target)


def test_illegal_transition_is_a_value_error() -> None:
    assert issubclass(IllegalTransition, ValueError)


def test_no_state_moves_to_itself() -> None:
    for s in State:
        with pytest.raises(IllegalTransition):
            check_transition(s, s)


SOURCES = {
    State.SCHEDULED: set(),
    State.AWAITING_APPROVAL: {State.SCHEDULED},
    State.QUEUED: {State.SCHEDULED, State.AWAITING_APPROVAL},
    State.RUNNING: {State.QUEUED},
    State.VERIFYING: {State.RUNNING},
    State.SUCCEEDED: {State.RUNNING, State.VERIFYING},
    State.FAILED: {State.RUNNING, State.VERIFYING},
    State.REJECTED: {State.AWAITING_APPROVAL},
    State.EXPIRED: {State.SCHEDULED, State.AWAITING_APPROVAL},
    State.CANCELLED: {State.SCHEDULED, State.AWAITING_APPROVAL, State.QUEUED},
    State.ROLLED_BACK: {State.SUCCEEDED, State.FAILED},
}


def test_sources_table_covers_every_state() -> None:
    assert set(SOURCES) == set(State)


@pytest.mark.parametrize("target", list(SOURCES), ids=lambda s: s.value)
def test_sources_for(target: State) -> None:
    assert sources_for(target) == frozenset(SOURCES[target])


def test_only_scheduled_has_no_way_in() -> None:
    # A deployment is created as scheduled, awaiting approval or queued; only a scheduled
    # one can never be re-entered.
    assert [s for s in State if not sources_for(s)] == [State.SCHEDULED]


def test_scheduled_is_neither_terminal_nor_active() -> None:
    assert not State.SCHEDULED.terminal
    assert not State.SCHEDULED.active
    assert State.SCHEDULED not in sources_for(State.RUNNING)


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_terminal_and_active(state: State) -> None:
    terminal = {State.SUCCEEDED, State.FAILED, State.REJECTED, State.EXPIRED,
                State.CANCELLED, State.ROLLED_BACK}
    active = {State.QUEUED, State.RUNNING, State.VERIFYING}
    assert state.terminal is (state in terminal)
    assert state.active is (state in active)
    assert not (state.terminal and state.active)


def test_terminal_set_matches_the_property() -> None:
    assert {s for s in State if s.terminal} == TERMINAL


def test_terminal_states_only_lead_to_rolled_back() -> None:
    for s in TERMINAL:
        assert TRANSITIONS[s] <= {State.ROLLED_BACK}


def test_states_are_stored_as_their_lowercase_values() -> None:
    assert [s.value for s in State] == [
        "scheduled", "awaiting_approval", "queued", "running", "verifying", "succeeded", "failed",
        "rejected", "expired", "cancelled", "rolled_back",
    ]
    assert State("rolled_back") is State.ROLLED_BACK
