"""The severity of a deployment's result: the default mapping (issue 7) for every state and
environment, which environments are production, and overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.deployment import Deployment, Kind
from bot.domain.locks import MANUAL, Lock
from bot.domain.outcome_notes import VERIFY_FAILED
from bot.domain.severity import (
    DEFAULT_SEVERITY,
    Outcome,
    Severity,
    is_production,
    outcome_of,
    severity_of,
)
from bot.domain.states import State
from bot.presentation.lock_views import refusal_at_start

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
PRODUCTION = frozenset({"production"})
LOCK = Lock(id=1, environment="production", service="api", holder="U0BOB",
            reason="db maintenance", origin=MANUAL, created_at=T0)
WATCH = f"{VERIFY_FAILED}: the pods of api v1.2.3 restarted 3 times"


def deployment(state: State, environment: str = "production", **kw: object) -> Deployment:
    d = Deployment(
        id=1, service="api", environment=environment, version="v1.2.3",
        previous_version="v1.2.2", state=state, requested_by="U0ALICE", requested_at=T0,
        approvals_required=1, started_at=T0, finished_at=T0 + timedelta(minutes=6),
    )
    return replace(d, **kw)  # type: ignore[arg-type]


# Every result the runner announces, as it writes it (state, error, progress).
RESULTS = {
    "succeeded": (State.SUCCEEDED, None, "verified: watched 5m00s, pods healthy"),
    "already-running": (State.SUCCEEDED, None,
                        "v1.2.3 is already running in production; nothing to do"),
    "rollout-failed": (State.FAILED, "simulated failure: 1/3 new pods crashed", None),
    "migrations-failed": (State.FAILED, "the migrations Job api-migrate-1 failed", None),
    "watch-failed-still-live": (State.FAILED, f"{WATCH}; v1.2.3 is still live (automatic "
                                "rollback is off in production)", None),
    "watch-failed-not-rolled-back": (State.FAILED, f"{WATCH}; not rolled back: that would "
                                     "undo someone else's change", None),
    "watch-failed-rollback-failed": (State.FAILED, f"{WATCH}; the rollback to v1.2.2 failed "
                                     "too: simulated failure", None),
    "rolled-back": (State.ROLLED_BACK, f"{WATCH}; rolled back to v1.2.2",
                    "rolled back to v1.2.2"),
}

# result -> (in production, elsewhere): the default mapping.
EXPECTED = {
    "succeeded": (Severity.LOW, Severity.LOW),
    "already-running": (Severity.LOW, Severity.LOW),
    "rollout-failed": (Severity.CRITICAL, Severity.MEDIUM),
    "migrations-failed": (Severity.CRITICAL, Severity.MEDIUM),
    "watch-failed-still-live": (Severity.CRITICAL, Severity.HIGH),
    "watch-failed-not-rolled-back": (Severity.CRITICAL, Severity.HIGH),
    "watch-failed-rollback-failed": (Severity.CRITICAL, Severity.HIGH),
    "rolled-back": (Severity.CRITICAL, Severity.CRITICAL),  # automatic rollback
}


def result(name: str, environment: str) -> Deployment:
    state, error, progress = RESULTS[name]
    return deployment(state, environment, error=error, progress=progress)


@pytest.mark.parametrize("name", list(RESULTS))
@pytest.mark.parametrize("environment", ["production", "staging", "development"])
def test_the_default_mapping_for_every_result_and_environment(name: str,
                                                              environment: str) -> None:
    in_production, elsewhere = EXPECTED[name]
    expected = in_production if environment == "production" else elsewhere
    assert severity_of(result(name, environment), production=PRODUCTION) is expected


@pytest.mark.parametrize(("name", "environment", "outcome"), [
    ("succeeded", "production", Outcome.SUCCEEDED),
    ("already-running", "staging", Outcome.SUCCEEDED),
    ("rollout-failed", "production", Outcome.PRODUCTION_FAILED),
    ("rolled-back", "production", Outcome.PRODUCTION_FAILED),
    ("watch-failed-still-live", "production", Outcome.PRODUCTION_FAILED),
    ("rollout-failed", "staging", Outcome.FAILED),
    ("migrations-failed", "staging", Outcome.FAILED),
    ("watch-failed-still-live", "staging", Outcome.VERIFICATION_FAILED),
    ("watch-failed-rollback-failed", "staging", Outcome.VERIFICATION_FAILED),
    ("rolled-back", "staging", Outcome.AUTO_ROLLED_BACK),
])
def test_outcomes(name: str, environment: str, outcome: Outcome) -> None:
    assert outcome_of(result(name, environment), production=PRODUCTION) is outcome


@pytest.mark.parametrize("state", [State.SCHEDULED, State.AWAITING_APPROVAL, State.QUEUED,
                                   State.RUNNING, State.VERIFYING, State.REJECTED,
                                   State.CANCELLED])
@pytest.mark.parametrize("environment", ["production", "staging"])
def test_anything_that_did_not_fail_is_routine(state: State, environment: str) -> None:
    d = deployment(state, environment, error="cancelled by U0ALICE")
    assert outcome_of(d, production=PRODUCTION) is Outcome.SUCCEEDED
    assert severity_of(d, production=PRODUCTION) is Severity.LOW


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_an_expired_approval_is_medium(environment: str) -> None:
    d = deployment(State.EXPIRED, environment, started_at=None)
    assert outcome_of(d, production=PRODUCTION) is Outcome.APPROVAL_EXPIRED
    assert severity_of(d, production=PRODUCTION) is Severity.MEDIUM


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_a_deploy_cancelled_by_a_lock_before_it_started_is_high(environment: str) -> None:
    d = deployment(State.CANCELLED, environment, started_at=None,
                   error=refusal_at_start(LOCK, T0))
    assert outcome_of(d, production=PRODUCTION) is Outcome.LOCK_BLOCKED
    assert severity_of(d, production=PRODUCTION) is Severity.HIGH
    assert severity_of(d, production=PRODUCTION,
                       mapping={Outcome.LOCK_BLOCKED: Severity.CRITICAL}) is Severity.CRITICAL


def test_every_state_has_a_severity() -> None:
    for state in State:
        for env in ("production", "staging"):
            assert severity_of(deployment(state, env), production=PRODUCTION) in Severity


def test_the_default_mapping_covers_every_outcome_and_is_read_only() -> None:
    assert set(DEFAULT_SEVERITY) == set(Outcome)
    with pytest.raises(TypeError):
        DEFAULT_SEVERITY[Outcome.FAILED] = Severity.LOW  # type: ignore[index]


def test_production_is_whatever_is_named_as_such_by_a_set_or_a_predicate() -> None:
    prod = result("rollout-failed", "prod")
    assert severity_of(prod, production=PRODUCTION) is Severity.MEDIUM
    assert severity_of(prod, production={"prod", "prod-eu"}) is Severity.CRITICAL
    assert severity_of(prod, production=lambda env: env.startswith("prod")) is Severity.CRITICAL
    # An environment named production is not production when the set leaves it out.
    assert severity_of(result("rollout-failed", "production"),
                       production=frozenset()) is Severity.MEDIUM
    assert is_production("production", PRODUCTION)
    assert not is_production("staging", PRODUCTION)
    assert not is_production("production", lambda env: False)


def test_overrides_replace_the_defaults_they_name_and_keep_the_others() -> None:
    mapping = {Outcome.FAILED: Severity.HIGH, Outcome.AUTO_ROLLED_BACK: Severity.MEDIUM,
               Outcome.PRODUCTION_FAILED: Severity.HIGH}

    def level(name: str, env: str) -> Severity:
        return severity_of(result(name, env), production=PRODUCTION, mapping=mapping)

    assert level("rollout-failed", "staging") is Severity.HIGH
    assert level("rolled-back", "staging") is Severity.MEDIUM
    assert level("rolled-back", "production") is Severity.HIGH
    assert level("rollout-failed", "production") is Severity.HIGH
    # not named: the defaults
    assert level("watch-failed-still-live", "staging") is Severity.HIGH
    assert level("succeeded", "production") is Severity.LOW
    # a full mapping, e.g. every success announced loudly
    loud = dict.fromkeys(Outcome, Severity.CRITICAL)
    assert severity_of(result("succeeded", "staging"), production=PRODUCTION,
                       mapping=loud) is Severity.CRITICAL


def test_severity_values_and_labels() -> None:
    assert [s.value for s in Severity] == ["critical", "high", "medium", "low"]
    assert [s.label for s in Severity] == ["Critical", "High", "Medium", "Low"]
    assert Severity("critical") is Severity.CRITICAL


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_a_rollback_someone_asked_for_is_high_when_done_and_a_failure_when_not(
    environment: str,
) -> None:
    done = deployment(State.SUCCEEDED, environment, kind=Kind.ROLLBACK, rollback_of=7)
    assert outcome_of(done, production=PRODUCTION) is Outcome.ROLLED_BACK
    assert severity_of(done, production=PRODUCTION) is Severity.HIGH
    failed = replace(done, state=State.FAILED, error="simulated failure")
    assert severity_of(failed, production=PRODUCTION) is (
        Severity.CRITICAL if environment == "production" else Severity.MEDIUM)


def test_a_migration_run_is_routine_when_it_succeeds() -> None:
    run = deployment(State.SUCCEEDED, kind=Kind.MIGRATE, target="orders 0041")
    assert severity_of(run, production=PRODUCTION) is Severity.LOW
    assert severity_of(replace(run, state=State.FAILED), production=PRODUCTION) \
        is Severity.CRITICAL


@pytest.mark.parametrize("error", [
    "aborted by <@U0BOB>; rolled back to v1.2.2",
    "aborted by <@U0BOB> during the watch; rolled back to v1.2.2",
])
def test_an_abort_someone_asked_for_is_a_rollback_not_an_automatic_one(error: str) -> None:
    """Outside production: `rolled_back` (high), not `auto_rolled_back` (critical, pages
    on-call); in production the rule stays: production_failed."""
    staging = deployment(State.ROLLED_BACK, "staging", error=error, abort_requested_by="U0BOB",
                         abort_requested_at=T0)
    assert outcome_of(staging, production=PRODUCTION) is Outcome.ROLLED_BACK
    assert severity_of(staging, production=PRODUCTION) is Severity.HIGH
    assert severity_of(staging, production=PRODUCTION,
                       mapping={Outcome.ROLLED_BACK: Severity.MEDIUM}) is Severity.MEDIUM
    production = replace(staging, environment="production")
    assert outcome_of(production, production=PRODUCTION) is Outcome.PRODUCTION_FAILED
    assert severity_of(production, production=PRODUCTION) is Severity.CRITICAL
    # Its rollback failed: a failure as before (medium outside production).
    failed = replace(staging, state=State.FAILED,
                     error="aborted by <@U0BOB>; the rollback to v1.2.2 failed too: boom")
    assert outcome_of(failed, production=PRODUCTION) is Outcome.FAILED
