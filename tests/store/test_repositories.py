"""The SQL repositories, on SQLite and (with TEST_DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from bot.domain.deployment import (
    Decision,
    Deployment,
    NewDeployment,
    RunningVersion,
    Verification,
)
from bot.domain.states import State
from bot.ports import Repositories
from bot.store.db import Database
from bot.store.models import AuditRow

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


def new(state: State = State.AWAITING_APPROVAL, *, service: str = "api",
        environment: str = "production", version: str = "v1.2.3",
        requested_at: datetime = T0, expires_at: datetime | None = T0 + timedelta(hours=2),
        approvals_required: int = 1) -> NewDeployment:
    return NewDeployment(service=service, environment=environment, version=version,
                         previous_version="v1.2.2", state=state, requested_by="U0ALICE",
                         requested_at=requested_at, approvals_required=approvals_required,
                         expires_at=expires_at)


def add(db: Database, *args: object, **kw: object) -> int:
    with db.transaction() as r:
        return r.deployments.add(new(*args, **kw)).id  # type: ignore[arg-type]


def get_in(r: Repositories, deployment_id: int) -> Deployment:
    d = r.deployments.get(deployment_id)
    assert d is not None
    return d


def get(db: Database, deployment_id: int):  # type: ignore[no-untyped-def]
    with db.transaction() as r:
        d = r.deployments.get(deployment_id)
    assert d is not None
    return d


def succeeded(db: Database, *, environment: str, service: str, version: str,
              at: datetime) -> int:
    """A deployment that went all the way, through the legal transitions."""
    with db.transaction() as r:
        d = r.deployments.add(new(State.QUEUED, environment=environment, service=service,
                                  version=version, requested_at=at, expires_at=None))
        for target in (State.RUNNING, State.VERIFYING):
            assert r.deployments.transition(d.id, target, at=at)
        assert r.deployments.transition(d.id, State.SUCCEEDED, at=at,
                                        finished_at=at + timedelta(minutes=1))
        return d.id


# -- add / get -------------------------------------------------------------------------------

def test_add_then_get(db: Database) -> None:
    with db.transaction() as r:
        added = r.deployments.add(new())
    assert added.id >= 1
    d = get(db, added.id)
    assert d == added
    assert (d.service, d.environment, d.version, d.previous_version) == (
        "api", "production", "v1.2.3", "v1.2.2")
    assert d.state is State.AWAITING_APPROVAL
    assert d.requested_by == "U0ALICE"
    assert d.requested_at == T0
    assert d.expires_at == T0 + timedelta(hours=2)
    assert d.approvals_required == 1
    assert d.decisions == ()
    assert (d.channel, d.message_ts, d.error, d.progress) == (None, None, None, None)


def test_ids_increase(db: Database) -> None:
    first, second = add(db), add(db)
    assert second > first


def test_get_unknown_is_none(db: Database) -> None:
    with db.transaction() as r:
        assert r.deployments.get(424242) is None


def test_a_failed_transaction_keeps_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as r:
        r.deployments.add(new())
        raise RuntimeError("boom")
    with db.transaction() as r:
        assert r.deployments.recent(10) == []


def test_named_writes_set_their_columns(db: Database) -> None:
    i = add(db, State.SCHEDULED, expires_at=None)
    opens = T0 + timedelta(hours=3)
    checked = Verification(ok=False, summary="2 restarts", reasons=("restarts",),
                           offer_rollback=True)
    with db.transaction() as r:
        r.deployments.record_messages(i, channel="C0DEPLOYS", message_ts="1.2", record_ts="1.3")
        r.deployments.record_progress(i, "1/3 pods updated")
        r.deployments.record_verification(i, checked)
        r.deployments.record_error(i, "rollout failed")
        r.deployments.record_previous_version(i, "v1.2.0")
        r.deployments.require_approvals(i, 2)
        r.deployments.record_downgrade(i, "v1.3.0")
        r.deployments.reschedule(i, not_before=opens)
        assert r.deployments.mark_prompted(i, at=T0)
    d = get(db, i)
    assert (d.channel, d.message_ts, d.record_ts, d.progress) == (
        "C0DEPLOYS", "1.2", "1.3", "1/3 pods updated")
    assert (d.verification, d.error, d.previous_version) == (checked, "rollout failed", "v1.2.0")
    assert (d.approvals_required, d.downgrade_from) == (2, "v1.3.0")
    assert (d.not_before, d.prompted_at) == (opens, T0)
    with db.transaction() as r:
        r.deployments.reschedule(i, not_before=opens + timedelta(days=1))  # keeps the reminder
        assert get_in(r, i).prompted_at == T0
        r.deployments.unmark_prompted(i)
        assert get_in(r, i).prompted_at is None
        assert r.deployments.mark_prompted(i, at=T0)
        r.deployments.reschedule(i, not_before=opens, prompt_again=True)
        assert (get_in(r, i).not_before, get_in(r, i).prompted_at) == (opens, None)
    assert get(db, i).state is State.SCHEDULED  # none of them moves it


def test_a_state_change_records_only_known_columns(db: Database) -> None:
    i = add(db)
    with db.transaction() as r, pytest.raises(TypeError, match="state"):
        r.deployments.transition(i, State.QUEUED, at=T0, state="succeeded")
    with db.transaction() as r, pytest.raises(TypeError, match="version"):
        r.deployments.transition(i, State.QUEUED, at=T0, version="v9.9.9")
    assert get(db, i).state is State.AWAITING_APPROVAL


# -- conditional transitions -----------------------------------------------------------------

def test_transition_succeeds_once(db: Database) -> None:
    i = add(db)
    at = T0 + timedelta(minutes=5)
    with db.transaction() as r:
        assert r.deployments.transition(i, State.QUEUED, at=at) is True
    with db.transaction() as r:
        assert r.deployments.transition(i, State.QUEUED, at=at) is False
    assert get(db, i).state is State.QUEUED


def test_transition_from_a_wrong_state_fails_and_changes_nothing(db: Database) -> None:
    i = add(db)
    with db.transaction() as r:
        assert r.deployments.transition(i, State.SUCCEEDED, at=T0,
                                        error="should not be written") is False
        assert r.deployments.transition(i, State.RUNNING, at=T0) is False
    d = get(db, i)
    assert d.state is State.AWAITING_APPROVAL
    assert d.error is None


def test_transition_writes_fields(db: Database) -> None:
    i = add(db, State.QUEUED, expires_at=None)
    started = T0 + timedelta(minutes=1)
    with db.transaction() as r:
        assert r.deployments.transition(i, State.RUNNING, at=started, started_at=started,
                                        progress="starting")
    d = get(db, i)
    assert (d.state, d.started_at, d.progress) == (State.RUNNING, started, "starting")


def test_transition_of_an_unknown_id_is_false(db: Database) -> None:
    with db.transaction() as r:
        assert r.deployments.transition(99999, State.QUEUED, at=T0) is False


def test_two_competing_transitions_only_one_wins(db: Database) -> None:
    i = add(db)
    with db.transaction() as r:
        approved = r.deployments.transition(i, State.QUEUED, at=T0)
    with db.transaction() as r:
        expired = r.deployments.transition(i, State.EXPIRED, at=T0)
    assert (approved, expired) == (True, False)
    assert get(db, i).state is State.QUEUED


def test_lock(db: Database) -> None:
    i = add(db)
    with db.transaction() as r:
        assert r.deployments.lock(i, State.AWAITING_APPROVAL) is True
        assert r.deployments.lock(i, State.QUEUED) is False
        assert r.deployments.lock(99999, State.AWAITING_APPROVAL) is False
    assert get(db, i).state is State.AWAITING_APPROVAL  # lock changes no state


# -- decisions -------------------------------------------------------------------------------

def test_add_decision_once_per_user(db: Database) -> None:
    i = add(db)
    at = T0 + timedelta(minutes=1)
    with db.transaction() as r:
        assert r.deployments.add_decision(i, "U0BOB", approve=True, at=at) is True
    with db.transaction() as r:
        # a second click, even the opposite one, is ignored
        assert r.deployments.add_decision(i, "U0BOB", approve=False,
                                          at=at + timedelta(seconds=1)) is False
        assert r.deployments.add_decision(i, "U0CAROL", approve=False,
                                          at=at + timedelta(seconds=2)) is True
    d = get(db, i)
    assert d.decisions == (Decision("U0BOB", True, at),
                           Decision("U0CAROL", False, at + timedelta(seconds=2)))
    assert [a.user_id for a in d.approvers] == ["U0BOB"]
    assert d.rejecter == Decision("U0CAROL", False, at + timedelta(seconds=2))


def test_same_user_may_decide_on_different_deployments(db: Database) -> None:
    a, b = add(db), add(db)
    with db.transaction() as r:
        assert r.deployments.add_decision(a, "U0BOB", approve=True, at=T0)
        assert r.deployments.add_decision(b, "U0BOB", approve=True, at=T0)
        assert (r.deployments.count_approvals(a), r.deployments.count_approvals(b)) == (1, 1)


def test_count_approvals_counts_only_approvals(db: Database) -> None:
    i = add(db, approvals_required=2)
    with db.transaction() as r:
        assert r.deployments.count_approvals(i) == 0
        r.deployments.add_decision(i, "U0BOB", approve=True, at=T0)
        r.deployments.add_decision(i, "U0CAROL", approve=False, at=T0)
        r.deployments.add_decision(i, "U0DAVE", approve=True, at=T0)
        r.deployments.add_decision(i, "U0BOB", approve=True, at=T0)  # duplicate: ignored
        assert r.deployments.count_approvals(i) == 2
        assert r.deployments.count_approvals(99999) == 0


def test_decisions_are_ordered_by_time(db: Database) -> None:
    i = add(db, approvals_required=3)
    with db.transaction() as r:
        r.deployments.add_decision(i, "U0LATE", approve=True, at=T0 + timedelta(minutes=9))
        r.deployments.add_decision(i, "U0EARLY", approve=True, at=T0 + timedelta(minutes=1))
    assert [x.user_id for x in get(db, i).decisions] == ["U0EARLY", "U0LATE"]


# -- expiry ----------------------------------------------------------------------------------

def test_due_for_expiry(db: Database) -> None:
    expires = T0 + timedelta(hours=2)
    waiting = add(db, expires_at=expires)
    later = add(db, expires_at=expires + timedelta(minutes=1))
    approved = add(db, expires_at=expires)
    no_deadline = add(db, expires_at=None)
    with db.transaction() as r:
        assert r.deployments.transition(approved, State.QUEUED, at=T0)
    with db.transaction() as r:
        assert list(r.deployments.due_for_expiry(expires - timedelta(seconds=1))) == []
        assert list(r.deployments.due_for_expiry(expires)) == [waiting]
        assert list(r.deployments.due_for_expiry(expires + timedelta(days=1))) == [waiting,
                                                                                   later]
    assert no_deadline not in (waiting, later)


def test_next_due_is_when_the_schedules_queries_next_find_something(db: Database) -> None:
    """The earliest approval expiry, window opening not yet prompted, and prompt (what the
    shell's timeline asks to skip the ticks before them); None where there is none."""
    with db.transaction() as r:
        assert r.deployments.next_due() == (None, None, None)
    expires = T0 + timedelta(hours=2)
    add(db, expires_at=expires + timedelta(minutes=1))
    add(db, expires_at=expires)
    add(db, State.QUEUED, expires_at=T0)  # not waiting for approval: no expiry
    opens = T0 + timedelta(days=1)
    prompted, unprompted = add(db, State.SCHEDULED), add(db, State.SCHEDULED)
    with db.transaction() as r:
        r.deployments.reschedule(prompted, not_before=T0 + timedelta(hours=1))
        assert r.deployments.mark_prompted(prompted, at=T0 + timedelta(hours=1))
        r.deployments.reschedule(unprompted, not_before=opens)
    with db.transaction() as r:
        assert r.deployments.next_due() == (expires, opens, T0 + timedelta(hours=1))
        assert list(r.deployments.due_for_expiry(expires)) != []
        assert list(r.deployments.due_scheduled(opens)) == [unprompted]


def test_due_for_expiry_compares_instants_not_wall_clocks(db: Database) -> None:
    expires = T0 + timedelta(hours=2)
    i = add(db, expires_at=expires)
    new_york = expires.astimezone(ZoneInfo("America/New_York"))
    with db.transaction() as r:
        assert list(r.deployments.due_for_expiry(new_york)) == [i]
        assert list(r.deployments.due_for_expiry(
            (expires - timedelta(seconds=1)).astimezone(timezone(timedelta(hours=9))))) == []


# -- leases ----------------------------------------------------------------------------------

def test_a_queued_deployment_is_claimable(db: Database) -> None:
    i = add(db, State.QUEUED, expires_at=None)
    waiting = add(db)
    with db.transaction() as r:
        assert list(r.deployments.claimable(T0)) == [i]
        assert r.deployments.claim(i, owner="runner-a", at=T0, until=T0 + LEASE) is True
        assert r.deployments.claim(waiting, owner="runner-a", at=T0, until=T0 + LEASE) is False


def test_a_queued_deployment_is_claimed_once(db: Database) -> None:
    """Two workers' resume polls see the same queued row at once (issue 13, roles): the
    first claim takes it, the second finds the lease held and leaves it alone."""
    i = add(db, State.QUEUED, expires_at=None)
    with db.transaction() as r:
        assert r.deployments.claim(i, owner="worker-a", at=T0, until=T0 + LEASE) is True
    with db.transaction() as r:
        assert r.deployments.claim(i, owner="worker-b", at=T0, until=T0 + LEASE) is False
        assert list(r.deployments.claimable(T0)) == []
    later = T0 + LEASE + timedelta(seconds=1)  # worker-a died before starting it
    with db.transaction() as r:
        assert list(r.deployments.claimable(later)) == [i]
        assert r.deployments.claim(i, owner="worker-b", at=later, until=later + LEASE) is True


def _running(db: Database, *, owner: str, until: datetime) -> int:
    i = add(db, State.QUEUED, expires_at=None)
    with db.transaction() as r:
        assert r.deployments.claim(i, owner=owner, at=T0, until=until)
        assert r.deployments.transition(i, State.RUNNING, at=T0, started_at=T0)
    return i


def test_next_claimable_is_now_or_when_the_first_lease_runs_out(db: Database) -> None:
    with db.transaction() as r:
        assert r.deployments.next_claimable(T0) is None  # nothing in flight
    add(db)  # waiting for approval: not claimable
    first = _running(db, owner="runner-a", until=T0 + LEASE)
    second = add(db, State.QUEUED, service="web", expires_at=None)
    with db.transaction() as r:
        assert r.deployments.claim(second, owner="runner-a", at=T0, until=T0 + 2 * LEASE)
    with db.transaction() as r:
        assert r.deployments.next_claimable(T0) == T0 + LEASE
        assert list(r.deployments.claimable(T0 + LEASE + timedelta(seconds=1))) == [first]
        assert r.deployments.next_claimable(T0 + LEASE + timedelta(seconds=1)) \
            == T0 + LEASE + timedelta(seconds=1)
    add(db, State.QUEUED, service="db", expires_at=None)  # no lease: claimable now
    with db.transaction() as r:
        assert r.deployments.next_claimable(T0) == T0


def test_a_live_lease_is_not_claimable(db: Database) -> None:
    i = _running(db, owner="runner-a", until=T0 + LEASE)
    at = T0 + LEASE - timedelta(seconds=1)
    with db.transaction() as r:
        assert list(r.deployments.claimable(at)) == []
        assert r.deployments.claim(i, owner="runner-b", at=at, until=at + LEASE) is False


def test_a_lapsed_lease_is_claimable_again(db: Database) -> None:
    i = _running(db, owner="runner-a", until=T0 + LEASE)
    at = T0 + LEASE + timedelta(seconds=1)
    with db.transaction() as r:
        assert list(r.deployments.claimable(at)) == [i]
        assert r.deployments.claim(i, owner="runner-b", at=at, until=at + LEASE) is True
    with db.transaction() as r:
        # runner-b holds it now: runner-a can no longer renew, and nobody else may claim it
        assert r.deployments.renew(i, owner="runner-a", until=at + 2 * LEASE) is False
        assert list(r.deployments.claimable(at + timedelta(seconds=1))) == []
    assert get(db, i).state is State.RUNNING


def test_renew_keeps_the_lease_alive(db: Database) -> None:
    i = _running(db, owner="runner-a", until=T0 + LEASE)
    with db.transaction() as r:
        assert r.deployments.renew(i, owner="runner-a", until=T0 + 3 * LEASE) is True
    at = T0 + 2 * LEASE  # past the first lease, inside the renewed one
    with db.transaction() as r:
        assert list(r.deployments.claimable(at)) == []
        assert r.deployments.claim(i, owner="runner-b", at=at, until=at + LEASE) is False


def test_verifying_with_a_lapsed_lease_is_claimable(db: Database) -> None:
    i = _running(db, owner="runner-a", until=T0 + LEASE)
    with db.transaction() as r:
        assert r.deployments.transition(i, State.VERIFYING, at=T0)
        assert list(r.deployments.claimable(T0 + 2 * LEASE)) == [i]


def test_running_without_a_lease_is_claimable(db: Database) -> None:
    i = _running(db, owner="runner-a", until=T0 + LEASE)
    with db.transaction() as r:
        r.deployments.release_lease(i)
        assert list(r.deployments.claimable(T0)) == [i]


@pytest.mark.parametrize("state", [State.SUCCEEDED, State.FAILED])
def test_finished_deployments_are_never_claimable(db: Database, state: State) -> None:
    i = _running(db, owner="runner-a", until=T0 + LEASE)
    with db.transaction() as r:
        if state is State.SUCCEEDED:
            assert r.deployments.transition(i, State.VERIFYING, at=T0)
        assert r.deployments.transition(i, state, at=T0)
        far = T0 + timedelta(days=1)
        assert list(r.deployments.claimable(far)) == []
        assert r.deployments.claim(i, owner="runner-b", at=far, until=far + LEASE) is False


def test_claimable_is_in_id_order(db: Database) -> None:
    # three services: one deployment in flight per service and environment
    ids = [add(db, State.QUEUED, expires_at=None, service=f"svc{n}") for n in range(3)]
    with db.transaction() as r:
        assert list(r.deployments.claimable(T0)) == ids


# -- history ---------------------------------------------------------------------------------

def test_recent_is_newest_first_and_limited(db: Database) -> None:
    ids = [add(db, version=f"v1.0.{n}") for n in range(5)]
    with db.transaction() as r:
        r.deployments.add_decision(ids[-1], "U0BOB", approve=True, at=T0)
        recent = r.deployments.recent(3)
        assert [d.id for d in recent] == ids[::-1][:3]
        assert [d.version for d in recent] == ["v1.0.4", "v1.0.3", "v1.0.2"]
        assert [x.user_id for x in recent[0].decisions] == ["U0BOB"]
        assert recent[1].decisions == ()
        assert len(r.deployments.recent(100)) == 5
        assert r.deployments.recent(0) == []


def test_running_versions_is_the_latest_success_per_environment_and_service(
    db: Database,
) -> None:
    t = T0
    succeeded(db, environment="production", service="api", version="v1.0.0", at=t)
    succeeded(db, environment="production", service="api", version="v1.1.0",
              at=t + timedelta(hours=1))
    succeeded(db, environment="staging", service="api", version="v1.2.0",
              at=t + timedelta(hours=2))
    succeeded(db, environment="production", service="web", version="v3.0.0",
              at=t + timedelta(hours=3))
    # later attempts that did not succeed do not count
    failed = add(db, State.QUEUED, environment="production", service="api", version="v1.9.9",
                 expires_at=None)
    with db.transaction() as r:
        assert r.deployments.transition(failed, State.RUNNING, at=t)
        assert r.deployments.transition(failed, State.FAILED, at=t)
    add(db, environment="production", service="api", version="v2.0.0")  # awaiting approval
    with db.transaction() as r:
        assert list(r.deployments.running_versions()) == [
            RunningVersion("production", "api", "v1.1.0", t + timedelta(hours=1, minutes=1)),
            RunningVersion("production", "web", "v3.0.0", t + timedelta(hours=3, minutes=1)),
            RunningVersion("staging", "api", "v1.2.0", t + timedelta(hours=2, minutes=1)),
        ]


def test_running_versions_when_nothing_succeeded(db: Database) -> None:
    add(db)
    with db.transaction() as r:
        assert list(r.deployments.running_versions()) == []


def test_last_succeeded_version(db: Database) -> None:
    succeeded(db, environment="production", service="api", version="v1.0.0", at=T0)
    succeeded(db, environment="production", service="api", version="v1.1.0", at=T0)
    succeeded(db, environment="staging", service="api", version="v1.5.0", at=T0)
    add(db, State.QUEUED, environment="production", service="api", version="v1.2.0",
        expires_at=None)
    with db.transaction() as r:
        assert r.deployments.last_succeeded_version("production", "api") == "v1.1.0"
        assert r.deployments.last_succeeded_version("staging", "api") == "v1.5.0"
        assert r.deployments.last_succeeded_version("development", "api") is None
        assert r.deployments.last_succeeded_version("production", "web") is None


# -- datetimes -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "tz",
    [UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-3))],
    ids=str,
)
def test_aware_datetimes_come_back_as_the_same_instant_in_utc(db: Database, tz: object) -> None:
    local = datetime(2026, 7, 4, 9, 30, 15, 123456, tzinfo=tz)  # type: ignore[arg-type]
    i = add(db, requested_at=local, expires_at=local + timedelta(hours=2))
    d = get(db, i)
    for value, expected in ((d.requested_at, local), (d.expires_at, local + timedelta(hours=2))):
        assert value is not None
        assert value == expected
        assert value.tzinfo is UTC
        assert value.utcoffset() == timedelta(0)
    assert d.requested_at.hour == local.astimezone(UTC).hour
    assert d.requested_at.microsecond == 123456


def test_datetimes_in_decisions_and_audit_round_trip(db: Database) -> None:
    i = add(db)
    at = datetime(2026, 3, 8, 1, 59, tzinfo=ZoneInfo("America/New_York"))
    with db.transaction() as r:
        r.deployments.add_decision(i, "U0BOB", approve=True, at=at)
        r.audit.record("deploy.requested", actor="U0ALICE", at=at, deployment_id=i,
                       details={"version": "v1.2.3", "n": 1})
    (decision,) = get(db, i).decisions
    assert decision.at == at and decision.at.tzinfo is UTC
    # the audit log has no reader yet: look at the row itself
    with Session(db.engine) as session:
        row = session.scalars(select(AuditRow).where(AuditRow.deployment_id == i)).one()
    assert (row.action, row.actor, row.details) == (
        "deploy.requested", "U0ALICE", {"version": "v1.2.3", "n": 1})
    assert row.at == at and row.at.tzinfo is UTC


def test_a_naive_datetime_is_refused(db: Database) -> None:
    naive = datetime(2026, 11, 18, 15, 0)
    with pytest.raises(StatementError, match="naive datetime"), db.transaction() as r:
        r.deployments.add(new(requested_at=naive))
    with db.transaction() as r:
        assert r.deployments.recent(10) == []


def test_a_naive_datetime_is_refused_in_updates_too(db: Database) -> None:
    i = add(db)
    with pytest.raises(StatementError, match="naive datetime"), db.transaction() as r:
        r.deployments.transition(i, State.QUEUED, at=datetime(2026, 11, 18, 15, 0))
    assert get(db, i).state is State.AWAITING_APPROVAL
