"""Alert routing rules (issue 7): the destinations app.yaml names, the alert each
deployment's end raises and its severity, PagerDuty's dedup key and when a success
resolves it, and what the daily summary holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.alerts import (
    PAGERDUTY,
    SUMMARY,
    Destination,
    DestinationKind,
    alert_for,
    day_summary,
    dedup_key,
    lock_refusal,
    open_incident,
    parse_destination,
    recovers,
    resolve_event,
    route,
    summary_due,
    summary_window,
    trigger_event,
)
from bot.domain.deployment import Deployment, Kind
from bot.domain.locks import MANUAL, Lock
from bot.domain.outcome_notes import VERIFY_FAILED
from bot.domain.severity import DEFAULT_SEVERITY, Outcome, Severity
from bot.domain.states import State
from bot.presentation.lock_views import refusal_at_start

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
PROD = frozenset({"production"})
OPS = Destination(DestinationKind.SLACK, "#ops-alerts")
ENG = Destination(DestinationKind.SLACK, "#engineering")
ROUTES = {Severity.CRITICAL: (PAGERDUTY, OPS), Severity.HIGH: (OPS,),
          Severity.MEDIUM: (ENG,), Severity.LOW: (SUMMARY,)}
LOCK = Lock(id=1, environment="production", service="api", holder="U0BOB",
            reason="db maintenance", origin=MANUAL, created_at=T0)


def dep(state: State, environment: str = "production", *, id: int = 1,
        **kw: object) -> Deployment:
    d = Deployment(id=id, service="api", environment=environment, version="v1.2.3",
                   previous_version="v1.2.2", state=state, requested_by="U0ALICE",
                   requested_at=T0, approvals_required=1, started_at=T0,
                   finished_at=T0 + timedelta(minutes=6))
    return replace(d, **kw)  # type: ignore[arg-type]


# -- destinations ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("pagerduty", PAGERDUTY), ("summary", SUMMARY), (" summary ", SUMMARY),
    ("slack:#ops-alerts", OPS), ("slack:C0123ABCD", Destination(DestinationKind.SLACK,
                                                                 "C0123ABCD")),
])
def test_destinations_parse(text: str, expected: Destination) -> None:
    assert parse_destination(text) == expected
    assert parse_destination(str(expected)) == expected  # round trip


@pytest.mark.parametrize("text", ["email", "slack:", "slack:ops", "slack:#Ops Alerts",
                                  "pagerduty:oncall", "#ops-alerts", ""])
def test_anything_else_is_not_a_destination(text: str) -> None:
    with pytest.raises(ValueError, match="is not a destination"):
        parse_destination(text)


def test_a_severity_goes_where_its_route_says_each_place_once() -> None:
    routes = {Severity.CRITICAL: (PAGERDUTY, OPS, PAGERDUTY)}
    assert route(Severity.CRITICAL, routes) == (PAGERDUTY, OPS)
    assert route(Severity.LOW, routes) == ()


# -- which event, which severity -----------------------------------------------------------

WATCH = f"{VERIFY_FAILED}: pods restarted"


@pytest.mark.parametrize(("d", "outcome", "severity"), [
    (dep(State.FAILED, error="rollout failed"), Outcome.PRODUCTION_FAILED, Severity.CRITICAL),
    (dep(State.ROLLED_BACK, error=WATCH), Outcome.PRODUCTION_FAILED, Severity.CRITICAL),
    (dep(State.ROLLED_BACK, "staging", error=WATCH), Outcome.AUTO_ROLLED_BACK,
     Severity.CRITICAL),
    (dep(State.SUCCEEDED, kind=Kind.ROLLBACK), Outcome.ROLLED_BACK, Severity.HIGH),
    (dep(State.FAILED, "staging", error=WATCH), Outcome.VERIFICATION_FAILED, Severity.HIGH),
    (dep(State.CANCELLED, started_at=None, error=refusal_at_start(LOCK, T0)),
     Outcome.LOCK_BLOCKED, Severity.HIGH),
    (dep(State.FAILED, "staging", error="rollout failed"), Outcome.FAILED, Severity.MEDIUM),
    (dep(State.EXPIRED, started_at=None), Outcome.APPROVAL_EXPIRED, Severity.MEDIUM),
    (dep(State.SUCCEEDED), Outcome.SUCCEEDED, Severity.LOW),
])
def test_every_event_has_its_severity(d: Deployment, outcome: Outcome,
                                      severity: Severity) -> None:
    alert = alert_for(d, production=PROD)
    assert alert is not None
    assert (alert.outcome, alert.severity) == (outcome, severity)
    assert alert.key == "alert:1"
    assert alert.at == d.finished_at


def test_the_mapping_is_configurable() -> None:
    mapping = {**DEFAULT_SEVERITY, Outcome.APPROVAL_EXPIRED: Severity.LOW}
    alert = alert_for(dep(State.EXPIRED), production=PROD, mapping=mapping)
    assert alert is not None and alert.severity is Severity.LOW


@pytest.mark.parametrize("d", [
    dep(State.AWAITING_APPROVAL), dep(State.QUEUED), dep(State.RUNNING), dep(State.VERIFYING),
    dep(State.REJECTED), dep(State.CANCELLED, error="cancelled by U0ALICE"),
    dep(State.FAILED, kind=Kind.MIGRATE, error="migrations failed"),
])
def test_no_alert_in_flight_for_a_refusal_by_people_or_a_migration_run(d: Deployment) -> None:
    assert alert_for(d, production=PROD) is None


# -- PagerDuty ----------------------------------------------------------------------------

def test_a_trigger_carries_the_service_and_environments_key_and_pagerdutys_severity() -> None:
    alert = alert_for(dep(State.FAILED, error="boom"), production=PROD)
    assert alert is not None
    ev = trigger_event(alert, summary="x" * 2000, source="deploybot",
                       link="https://slack.example/p1")
    assert ev.action == "trigger"
    assert ev.dedup_key == dedup_key("production", "api") == "deploybot-production-api"
    assert ev.severity == "critical"
    assert len(ev.summary) == 1024
    assert ev.links == (("https://slack.example/p1", "Slack thread"),)
    assert ev.details["error"] == "boom"
    for sev, pd in ((Severity.HIGH, "error"), (Severity.MEDIUM, "warning"),
                    (Severity.LOW, "info")):
        assert trigger_event(replace(alert, severity=sev), summary="s", source="d",
                             link=None).severity == pd
    assert resolve_event("production", "api").dedup_key == ev.dedup_key


def test_a_success_after_a_paged_failure_resolves_it() -> None:
    failed = dep(State.FAILED, id=1, error="boom")
    fixed = dep(State.SUCCEEDED, id=3)
    expired = dep(State.EXPIRED, id=2, started_at=None)  # never ran: looked past
    assert recovers(fixed)
    assert open_incident(fixed, [fixed, expired, failed], production=PROD,
                         mapping=DEFAULT_SEVERITY, routes=ROUTES)
    rollback = dep(State.SUCCEEDED, id=3, kind=Kind.ROLLBACK, version="v1.2.2")
    assert open_incident(rollback, [rollback, failed], production=PROD,
                         mapping=DEFAULT_SEVERITY, routes=ROUTES)


def test_nothing_to_resolve_after_a_success_or_an_unpaged_failure() -> None:
    fixed = dep(State.SUCCEEDED, id=3)
    ok = dep(State.SUCCEEDED, id=1)
    staging_fail = dep(State.FAILED, "staging", id=1, error="rollout failed")  # medium
    assert not open_incident(fixed, [fixed, ok], production=PROD, mapping=DEFAULT_SEVERITY,
                             routes=ROUTES)
    assert not open_incident(replace(fixed, environment="staging"), [staging_fail],
                             production=PROD, mapping=DEFAULT_SEVERITY, routes=ROUTES)
    assert not open_incident(fixed, [], production=PROD, mapping=DEFAULT_SEVERITY,
                             routes=ROUTES)
    failing = dep(State.FAILED, id=3)
    assert not recovers(failing)
    assert not open_incident(failing, [dep(State.FAILED, id=1)], production=PROD,
                             mapping=DEFAULT_SEVERITY, routes=ROUTES)


# -- the daily summary ---------------------------------------------------------------------

def test_the_summary_is_due_from_its_time_in_the_teams_zone() -> None:
    five = time(17, 0)
    assert summary_due(datetime(2026, 11, 18, 21, 59, tzinfo=UTC), send_at=five,
                       zone=NY) is None  # 16:59 in New York
    assert summary_due(datetime(2026, 11, 18, 22, 0, tzinfo=UTC), send_at=five,
                       zone=NY) == date(2026, 11, 18)
    assert summary_due(datetime(2026, 11, 19, 4, 0, tzinfo=UTC), send_at=five,
                       zone=NY) == date(2026, 11, 18)  # 23:00, still that day


def test_the_window_is_the_24_hours_up_to_the_send_time() -> None:
    start, end = summary_window(date(2026, 11, 18), send_at=time(17, 0), zone=NY)
    assert (start, end) == (datetime(2026, 11, 17, 22, 0, tzinfo=UTC),
                            datetime(2026, 11, 18, 22, 0, tzinfo=UTC))
    # across the end of daylight saving time the day is 25 hours long
    start, end = summary_window(date(2026, 11, 1), send_at=time(17, 0), zone=NY)
    assert end - start == timedelta(hours=25)


def test_the_summary_counts_per_environment_and_lists_the_routed_events() -> None:
    start, end = summary_window(date(2026, 11, 18), send_at=time(17, 0), zone=NY)
    at = T0  # 10:00 in New York, inside
    ds = [
        dep(State.SUCCEEDED, id=1, finished_at=at),
        dep(State.FAILED, id=2, finished_at=at + timedelta(hours=1), error="boom"),
        dep(State.SUCCEEDED, "staging", id=3, finished_at=at - timedelta(hours=1)),
        dep(State.EXPIRED, "staging", id=4, finished_at=at),
        dep(State.SUCCEEDED, id=5, finished_at=end),  # the next day's
        dep(State.SUCCEEDED, id=6, finished_at=start - timedelta(seconds=1)),  # yesterday's
        dep(State.SUCCEEDED, id=7, kind=Kind.MIGRATE, finished_at=at),  # not a deployment
    ]
    s = day_summary(date(2026, 11, 18), start=start, end=end, deployments=ds,
                    environments=["staging", "production"], production=PROD,
                    mapping=DEFAULT_SEVERITY, routes=ROUTES)
    assert [e.environment for e in s.environments] == ["staging", "production"]
    staging, production = s.environments
    assert [d.id for d in production.deployments] == [1, 2]
    assert (production.succeeded, production.failed, production.other) == (1, 1, 0)
    assert [d.id for d in staging.deployments] == [3, 4]
    assert (staging.succeeded, staging.failed, staging.other) == (1, 0, 1)
    assert s.total == 4
    # low → summary: the two successes; the failure (critical) and expiry (medium) are not
    assert [a.deployment_id for a in s.events] == [3, 1]


def test_a_request_refused_by_a_lock_is_one_alert_per_lock_and_person() -> None:
    alert = lock_refusal(LOCK, user_id="U0ALICE", at=T0, reason="api in production is locked")
    assert (alert.outcome, alert.severity) == (Outcome.LOCK_BLOCKED, Severity.HIGH)
    assert alert.deployment_id is None and alert.version is None
    assert alert.key == "alert:lock:1:U0ALICE"
    assert lock_refusal(LOCK, user_id="U0CAROL", at=T0, reason="x").key != alert.key
    ev = trigger_event(alert, summary="s", source="deploybot", link=None)
    assert ev.dedup_key == "deploybot-production-api" and ev.severity == "error"
    assert "deployment" not in ev.details and ev.links == ()
    quiet = lock_refusal(LOCK, user_id="U0ALICE", at=T0, reason="x",
                         mapping={Outcome.LOCK_BLOCKED: Severity.LOW})
    assert quiet.severity is Severity.LOW
