"""What runs where (bot.domain.live.reconcile): the executor's answer first, deploybot's
record as "last known" only when the executor cannot be read, drift when deploybot's last
version is not what runs, and never an invented time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.live import Observed, Recorded, reconcile

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
OURS = Recorded(version="v1.2.4", at=T0, deployment_id=4)


def test_the_executor_answers_and_deploybot_put_it_there() -> None:
    live = reconcile("production", "api", observed=Observed("v1.2.4", since=T0 - timedelta(
        seconds=5), deployment_id=4), unreadable=None, recorded=OURS, in_flight=False)
    assert (live.version, live.source, live.drift, live.by_deploybot) == (
        "v1.2.4", "cluster", False, True)
    # The executor's time is when the version began to serve; the record's is when the
    # deployment finished (after a bake window: minutes later). The executor's stands.
    assert live.since == T0 - timedelta(seconds=5)


def test_a_bake_window_does_not_move_since_to_when_the_watch_ended() -> None:
    """Production's 5-minute watch: the pods served v1.2.4 from the rollout's end (the
    executor's since); deploybot's record finished 5 minutes later. `/deploy status` said
    "since 10:05" for a version that had served since 10:00."""
    rolled_out = T0 - timedelta(minutes=5)
    live = reconcile("production", "api", observed=Observed("v1.2.4", since=rolled_out,
                     deployment_id=4), unreadable=None, recorded=OURS, in_flight=False)
    assert live.since == rolled_out


def test_the_record_fills_in_only_a_time_the_executor_does_not_know() -> None:
    live = reconcile("production", "api", observed=Observed("v1.2.4", since=None),
                     unreadable=None, recorded=OURS, in_flight=False)
    assert (live.since, live.by_deploybot) == (T0, True)
    # Another version's record says nothing of when this one started.
    other = reconcile("production", "api", observed=Observed("v1.2.5", since=None),
                      unreadable=None, recorded=OURS, in_flight=False)
    assert other.since is None


def test_a_version_deploybot_did_not_put_there_is_drift_unless_its_own_rollout_is_under_way(
) -> None:
    observed = Observed("v1.2.5", since=T0 + timedelta(hours=1), changed_by="kubectl")
    live = reconcile("production", "api", observed=observed, unreadable=None, recorded=OURS,
                     in_flight=False)
    assert (live.version, live.since, live.drift, live.by_deploybot) == (
        "v1.2.5", T0 + timedelta(hours=1), True, False)
    assert not reconcile("production", "api", observed=observed, unreadable=None,
                         recorded=OURS, in_flight=True).drift
    # A workload still changing is not judged yet.
    moving = Observed("v1.2.5", settled=False, detail="1/3 new pods available")
    assert not reconcile("production", "api", observed=moving, unreadable=None,
                         recorded=OURS, in_flight=False).drift
    # One stuck half-way is: someone else's (no deployment id of deploybot's) is drift…
    stuck = Observed("v1.2.5", settled=False, stuck=True, detail="rollout stuck")
    assert reconcile("production", "api", observed=stuck, unreadable=None,
                     recorded=OURS, in_flight=False).drift
    # …deploybot's own failed rollout left applied (its id on the Deployment) is not.
    ours_stuck = Observed("v1.2.5", settled=False, stuck=True, deployment_id=5)
    assert not reconcile("production", "api", observed=ours_stuck, unreadable=None,
                         recorded=OURS, in_flight=False).drift


def test_nothing_recorded_is_no_drift_and_an_unknown_time_stays_unknown() -> None:
    live = reconcile("staging", "api", observed=Observed("v1.2.2"), unreadable=None,
                     recorded=None, in_flight=False)
    assert (live.version, live.since, live.drift, live.source) == (
        "v1.2.2", None, False, "cluster")


def test_an_unreadable_executor_gives_the_last_known_record_with_why() -> None:
    live = reconcile("production", "api", observed=None, unreadable="403 Forbidden",
                     recorded=OURS, in_flight=False)
    assert (live.version, live.since, live.source, live.unreadable, live.live) == (
        "v1.2.4", T0, "record", "403 Forbidden", False)
    unknown = reconcile("production", "api", observed=None, unreadable="timed out",
                        recorded=None, in_flight=False)
    assert (unknown.version, unknown.since, unknown.source) == (None, None, "unknown")


def test_nothing_running_is_said_as_such() -> None:
    live = reconcile("production", "api", observed=None, unreadable=None, recorded=OURS,
                     in_flight=False)
    assert (live.version, live.since, live.source, live.drift) == (
        None, None, "cluster", False)
