"""The App Home service on the real store (SQLite, or PostgreSQL with TEST_DATABASE_URL): a
fixed number of queries whatever the number of services, bounded and cached cluster
lookups, recent viewers only, one user's failure never stopping the others; and the
refresher: a burst of changes is one or two passes, never blocking who reports them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.backends.holiday_calendar import HolidayLibrary
from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.deployment import NewDeployment
from bot.domain.live import Observed, Progress, Serving
from bot.domain.states import State
from bot.errors import PermanentError, RetryableError
from bot.presentation.home_views import home_view
from bot.services.access import Access
from bot.services.freezes import FreezeService
from bot.services.home import ClusterVersions, HomeRefresher, HomeService
from bot.services.live import LiveState
from bot.services.policy import PolicyService
from bot.store.db import Database
from tests.conftest import REQUESTER, base_config


class CountingCluster:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.broken: set[tuple[str, str]] = set()
        self.gone: set[tuple[str, str]] = set()  # no workload there (a deleted Deployment)
        self.answers: dict[tuple[str, str], Observed] = {}

    def observe(self, environment: str, service: str) -> Observed | None:
        self.asked.append((environment, service))
        if (environment, service) in self.broken:
            raise RetryableError("cluster unreachable")
        if (environment, service) in self.gone:
            return None
        return self.answers.get((environment, service), Observed(version=f"{service}-live"))

    def deploy(self, *a: Any, **kw: Any) -> None:  # pragma: no cover - not used here
        raise AssertionError("no deploys here")


class RecordingTab:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.refuse: set[str] = set()

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        if user_id in self.refuse:
            raise PermanentError("Slack API error user_not_found")
        self.published.append((user_id, view))


class NoPoster:
    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        return "C0DEPLOYS", "1.0"


class NoDirectory:
    def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset()


class World:
    def __init__(self, database_url: str, clock: ManualClock, services: int,
                 lookups: int = 10) -> None:
        names = [f"svc-{i:03d}" for i in range(services)]
        self.config = parse_config(base_config(
            services={n: {"executor": "simulated"} for n in names},
            home={"cluster_lookups": lookups, "cluster_cache": "10m"}))
        self.db = Database.from_url(database_url)
        self.clock = clock
        self.cluster = CountingCluster()
        self.tab = RecordingTab()
        policy = PolicyService(config=self.config, store=self.db, holidays=HolidayLibrary())
        freezes = FreezeService(config=self.config, store=self.db, policy=policy,
                                access=Access(self.config, NoDirectory()), clock=clock,
                                poster=NoPoster())
        self.live = LiveState(config=self.config, store=self.db, cluster=self.cluster,
                              clock=clock)
        self.home = HomeService(config=self.config, store=self.db, live=self.live,
                                freezes=freezes, clock=clock, tab=self.tab)
        self.names = names

    def deployed(self, env: str, service: str, version: str,
                 state: State = State.SUCCEEDED) -> int:
        at = self.clock.now()
        with self.db.transaction() as r:
            d = r.deployments.add(NewDeployment(
                service=service, environment=env, version=version, previous_version=None,
                state=State.AWAITING_APPROVAL if state is State.AWAITING_APPROVAL
                else State.QUEUED, requested_by=REQUESTER, requested_at=at,
                approvals_required=1, expires_at=None))
            if state not in (State.QUEUED, State.AWAITING_APPROVAL):
                r.deployments.transition(d.id, State.RUNNING, at=at, started_at=at)
                r.deployments.transition(d.id, state, at=at, finished_at=at)
        return d.id

    def statements(self) -> list[str]:
        seen: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
                seen.append(statement)

        event.listen(self.db.engine, "before_cursor_execute", record)
        try:
            self.home.build(lookups=0)  # the database part (live lookups are bounded apart)
        finally:
            event.remove(self.db.engine, "before_cursor_execute", record)
        return seen


@pytest.fixture
def make_world(database_url: str, clock: ManualClock) -> Iterator[Any]:
    made: list[World] = []

    def make(services: int, **kw: Any) -> World:
        w = World(database_url, clock, services, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.db.dispose()


def test_building_the_home_takes_the_same_few_queries_for_2_or_200_services(
        make_world: Any, clock: ManualClock) -> None:
    small = make_world(2)
    for env in ("staging", "production"):
        for name in small.names:
            small.deployed(env, name, "v1")
    few = small.statements()

    big = make_world(200)
    clock.advance(timedelta(minutes=1))  # one database: these are newer than small's
    for env in ("staging", "production"):
        for name in big.names:
            big.deployed(env, name, "v2")
    many = big.statements()

    assert len(many) == len(few)
    # Running versions (2), locks, approvals (count, rows), recent, one freeze query per env.
    assert len(many) <= 10
    assert big.cluster.asked == []  # lookups=0: the executor is not asked
    home = big.home.build(lookups=0)
    # Not read live yet: deploybot's record stands in, marked as not from the cluster.
    assert {s.version for e in home.environments for s in e.services} == {"v2"}
    assert not any(s.from_cluster for e in home.environments for s in e.services)


def test_the_cluster_is_asked_a_bounded_number_of_times_and_answers_are_kept(
        make_world: Any, clock: ManualClock) -> None:
    """Every pair is read live (the executor is the truth), `home.cluster_lookups` at a
    time, never the same pair twice while its answer is fresh."""
    w = make_world(30, lookups=10)
    w.deployed("staging", "svc-000", "v1")
    clock.advance(timedelta(seconds=1))  # read live after deploybot's record of it

    first = w.home.build()
    assert len(w.cluster.asked) == 10
    assert first.unresolved == 60 - 10
    for _ in range(4):
        w.home.build()
    assert len(w.cluster.asked) == 50
    assert len(set(w.cluster.asked)) == 50  # never the same pair twice while it is fresh
    sixth = w.home.build()
    assert sixth.unresolved == 0
    assert len(set(w.cluster.asked)) == 60
    lines = {(e.window.environment, s.service): s for e in sixth.environments
             for s in e.services}
    # The cluster runs something else than deploybot's record: the cluster wins, as drift.
    assert lines[("staging", "svc-000")].version == "svc-000-live"
    assert lines[("staging", "svc-000")].drift
    assert lines[("production", "svc-007")].version == "svc-007-live"
    assert lines[("production", "svc-007")].from_cluster
    assert lines[("production", "svc-007")].since is None  # the executor does not say
    assert not lines[("production", "svc-007")].drift  # deploybot never deployed there

    calls = len(w.cluster.asked)
    w.home.build()
    assert len(w.cluster.asked) == calls  # all fresh: nothing to ask
    clock.advance(timedelta(minutes=11))  # the answers grow old: refreshed, 10 at a time
    w.home.build()
    assert len(w.cluster.asked) == calls + 10


def test_with_no_cluster_lookups_the_cluster_is_never_asked(make_world: Any) -> None:
    w = make_world(2, lookups=0)
    w.home.opened("U0ANN")
    assert w.home.republish() is None  # nothing to come back for
    home = w.home.build()
    assert home.unresolved == 0
    assert {s.version for e in home.environments for s in e.services} == {None}
    assert w.cluster.asked == []


def test_a_cluster_that_fails_is_not_asked_again_until_the_answer_is_old(
        make_world: Any, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    w = make_world(2)
    versions = ClusterVersions(w.live, clock, ttl=timedelta(minutes=1))
    w.cluster.broken.add(("staging", "svc-000"))
    answers, unresolved = versions.lookup([("staging", "svc-000"), ("staging", "svc-001")],
                                          budget=5)
    broken, _ = answers[("staging", "svc-000")]
    assert (broken.version, broken.source, broken.unreadable) == (
        None, "unknown", "cluster unreachable")
    assert answers[("staging", "svc-001")][0].version == "svc-001-live"
    assert unresolved == 0
    assert "could not read which version of svc-000 runs in staging" in caplog.text
    versions.lookup([("staging", "svc-000")], budget=5)
    assert w.cluster.asked == [("staging", "svc-000"), ("staging", "svc-001")]
    clock.advance(timedelta(minutes=2))
    w.cluster.broken.clear()
    answers, _ = versions.lookup([("staging", "svc-000")], budget=5)
    assert answers[("staging", "svc-000")][0].version == "svc-000-live"


def test_the_tab_says_when_a_version_is_not_settled_or_the_cluster_could_not_be_read(
        make_world: Any, clock: ManualClock) -> None:
    """As `/deploy status` does: a failed rollout left applied (its new pods never became
    ready, the old ones still serve) is not shown as simply running since its rollout began,
    and deploybot's record standing in for a cluster that could not be read says so."""
    w = make_world(2)
    w.deployed("staging", "svc-000", "v1")
    w.deployed("staging", "svc-001", "v1")
    clock.advance(timedelta(seconds=1))
    w.cluster.answers[("staging", "svc-000")] = Observed(
        version="v2-bad", since=None, settled=False,
        progress=Progress(applied=clock.now(), available=0, desired=3,
                          serving=(Serving("v1", None, 3),)))
    w.cluster.broken.add(("staging", "svc-001"))
    home = w.home.build(lookups=4)
    text = json.dumps(home_view(home, w.config.zone))
    assert "`svc-000` `v2-bad` since" not in text  # it never ran
    assert ("`svc-000` `v2-bad` applied " in text and ", not running (0/3 new pods "
            "available); `v1` still serves (3 old pods)" in text), text
    assert "`svc-001` `v1` since" in text
    assert "last known (deploybot's record): the cluster could not be read" in text, text

    clock.advance(timedelta(seconds=1))
    w.deployed("staging", "svc-000", "v2-bad")  # it went on to succeed after that answer
    text = json.dumps(home_view(w.home.build(lookups=0), w.config.zone))
    assert "`svc-000` `v2-bad` since" in text
    assert "not running" not in text  # the kept answer is older than the record


def test_the_tab_says_nothing_runs_when_the_cluster_says_so_not_deploybots_record(
        make_world: Any, clock: ManualClock) -> None:
    """Someone deleted the Deployment or scaled it to 0 replicas after deploybot's last
    deploy: the cluster, read after that record, says nothing runs; the tab says so rather
    than showing the record's version as running (or "version not known")."""
    w = make_world(2)
    w.deployed("staging", "svc-000", "v1")
    w.deployed("staging", "svc-001", "v1")
    clock.advance(timedelta(seconds=1))
    w.cluster.gone.add(("staging", "svc-000"))
    w.cluster.answers[("staging", "svc-001")] = Observed(version="v1", replicas=0)
    text = json.dumps(home_view(w.home.build(lookups=4), w.config.zone), ensure_ascii=False)
    assert "`svc-000` `v1` since" not in text and "`svc-001` `v1` since" not in text, text
    assert "`svc-000` nothing running" in text, text
    assert ("`svc-001` nothing running \u2014 its Deployment is scaled to 0 replicas (its "
            "template: `v1`)" in text), text
    assert "Version not known yet" not in text, text

    clock.advance(timedelta(seconds=1))
    w.deployed("staging", "svc-000", "v2")  # deploybot deployed again after that answer
    text = json.dumps(home_view(w.home.build(lookups=0), w.config.zone))
    assert "`svc-000` `v2` since" in text, text


def test_republish_goes_to_recent_viewers_and_survives_one_that_fails(
        make_world: Any, clock: ManualClock) -> None:
    w = make_world(2)
    now = clock.now()
    with w.db.transaction() as r:
        r.home_viewers.opened("U0OLD", at=now - timedelta(days=8))
        r.home_viewers.opened("U0GONE", at=now - timedelta(hours=1))
        r.home_viewers.opened("U0NEW", at=now - timedelta(days=6))
        r.home_viewers.opened("U0NEW", at=now - timedelta(days=9))  # never moves back
    w.tab.refuse.add("U0GONE")

    w.home.republish()

    assert [user for user, _ in w.tab.published] == ["U0NEW"]
    w.tab.published.clear()
    clock.advance(timedelta(days=2))  # U0NEW opened it 8 days ago now
    assert w.home.republish() is None
    assert w.tab.published == []


class Changed:
    def __init__(self) -> None:
        self.count = 0

    def changed(self) -> None:
        self.count += 1


def test_opening_records_the_viewer_and_publishes_without_asking_the_cluster(
        make_world: Any) -> None:
    w = make_world(2, lookups=2)
    changes = Changed()
    w.home._changes = changes
    w.deployed("staging", "svc-000", "v1")

    w.home.opened("U0ANN")

    [(user, view)] = w.tab.published
    assert user == "U0ANN"
    assert view["type"] == "home"
    assert w.cluster.asked == []  # never on the listener's thread
    assert changes.count == 1  # the refresher reads the four pairs live
    with w.db.transaction() as r:
        assert list(r.home_viewers.since(w.clock.now(), limit=10)) == ["U0ANN"]
    assert w.home.republish() == w.clock.now()  # two looked up: come back soon for two
    assert len(w.cluster.asked) == 2
    assert w.home.republish() is None  # all known; no schedule, so no window change either
    assert len(w.cluster.asked) == 4
    assert len(w.tab.published) == 3
    assert w.home.republish() is None
    assert len(w.tab.published) == 3  # the same content is not sent again
    w.home.opened("U0ANN")  # opening always publishes
    assert len(w.tab.published) == 4
    assert changes.count == 1


def test_a_newer_view_is_never_replaced_by_an_older_one(make_world: Any) -> None:
    w = make_world(2)
    w.home.opened("U0ANN")
    old = w.home._render(lookups=0)
    w.deployed("staging", "svc-000", "v1")
    new = w.home._render(lookups=0)
    w.home._publish("U0ANN", new[1], new[0], new[2])
    w.home._publish("U0ANN", old[1], old[0], old[2])
    assert [v for _, v in w.tab.published][-1] == new[1]


def test_awaiting_approval_lists_the_oldest_and_counts_all(make_world: Any) -> None:
    w = make_world(2)
    ids = [w.deployed("production", f"svc-{i:03d}", "v1",
                      state=State.QUEUED if i == 0 else State.AWAITING_APPROVAL)
           for i in range(5)]
    with w.db.transaction() as r:
        r.deployments.add_decision(ids[2], "U0BOB", approve=True, at=w.clock.now())
    with w.db.transaction() as r:
        shown, total = r.deployments.awaiting_approval(2)
    assert total == 4
    assert [d.id for d in shown] == ids[1:3]
    assert [x.user_id for x in shown[1].decisions] == ["U0BOB"]


def test_running_versions_of_agrees_with_running_versions(make_world: Any,
                                                          clock: ManualClock) -> None:
    w = make_world(3)
    w.deployed("staging", "svc-000", "v1")
    clock.advance(timedelta(minutes=1))
    w.deployed("staging", "svc-000", "v2")
    clock.advance(timedelta(minutes=1))
    w.deployed("staging", "svc-000", "v3-bad", state=State.FAILED)  # not live
    w.deployed("production", "svc-001", "v9")
    w.deployed("production", "gone", "v1")  # no longer configured: not asked for
    w.deployed("staging", "svc-002", "v4")
    w.deployed("staging", "svc-002", "v5")  # requested at the same instant: the later one
    with w.db.transaction() as r:
        everything = list(r.deployments.running_versions())
        asked = list(r.deployments.running_versions_of(["staging", "production"],
                                                       ["svc-000", "svc-001", "svc-002"]))
        assert list(r.deployments.running_versions_of([], ["svc-000"])) == []
    assert [(v.environment, v.service, v.version) for v in asked] == [
        ("production", "svc-001", "v9"), ("staging", "svc-000", "v2"),
        ("staging", "svc-002", "v5")]
    assert asked == [v for v in everything if v.service != "gone"]


# -- the refresher ------------------------------------------------------------------------

class Refreshes:
    def __init__(self, *, slow: float = 0.0, fail_first: bool = False,
                 gate: threading.Event | None = None) -> None:
        self.count = 0
        self.slow = slow
        self.fail_first = fail_first
        self.gate = gate  # each refresh is held open until it is set
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.count += 1
            n = self.count
        if self.gate is not None:
            assert self.gate.wait(30), "the test never let the refresh finish"
        time.sleep(self.slow)
        if self.fail_first and n == 1:
            raise RuntimeError("the database went away")


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def refresher(clock: ManualClock) -> Iterator[HomeRefresher]:
    r = HomeRefresher(every=timedelta(milliseconds=200), clock=clock)
    yield r
    r.shutdown()


def test_a_burst_of_50_changes_is_one_or_two_refreshes(refresher: HomeRefresher) -> None:
    gate = threading.Event()
    refreshes = Refreshes(gate=gate)
    refresher.start(refreshes)
    refresher.changed()  # the first change refreshes at once: that refresh is held open
    assert wait_for(lambda: refreshes.count == 1)
    # changed() never waits for a refresh: the rest of the burst ends while one is running
    # (were it to wait, it would wait for the gate, which opens only after the burst).
    burst = threading.Thread(target=lambda: [refresher.changed() for _ in range(49)])
    burst.start()
    burst.join(30)
    assert not burst.is_alive(), "changed() waited for the refresh in progress"
    gate.set()
    assert refresher.wait_idle(5)
    assert 1 <= refreshes.count <= 2
    assert refresher.passes == refreshes.count

    for _ in range(50):  # a second burst, later: again at most two
        refresher.changed()
    assert refresher.wait_idle(5)
    assert refreshes.count <= 4


class Monotonic:
    """The refresher's `monotonic`, moved by the test only; it counts the readings of each
    value, so a test knows the refresher has looked at the time it set (and decided)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._readings: dict[float, int] = {}
        self._cond = threading.Condition()

    def __call__(self) -> float:
        with self._cond:
            self._readings[self.now] = self._readings.get(self.now, 0) + 1
            self._cond.notify_all()
            return self.now

    def set(self, now: float) -> None:
        with self._cond:
            self.now = now

    def wait_read(self, times: int) -> None:
        """Until the current value was read `times` times. Three readings after a change:
        the refresher looked, decided, and looked again (after its real-time wait, or after
        a pass, which it stamps before reading the time)."""
        with self._cond:
            assert self._cond.wait_for(lambda: self._readings.get(self.now, 0) >= times, 30)


def test_refreshes_are_spaced_by_every(clock: ManualClock) -> None:
    mono = Monotonic()
    r = HomeRefresher(every=timedelta(milliseconds=200), clock=clock, monotonic=mono)
    stamps: list[float] = []
    try:
        r.start(lambda: stamps.append(mono.now))
        r.changed()
        assert r.wait_idle(5)  # the first change: at once
        for last in (0.0, 0.2):
            mono.set(last + 0.1)  # a change before `every` (0.2 s on its clock) has passed
            r.changed()
            mono.wait_read(3)
            assert stamps[-1] == last, stamps  # not refreshed yet
            mono.set(last + 0.2)  # `every` after the last pass: now it refreshes
            assert r.wait_idle(5)
        assert stamps == [0.0, 0.2, 0.4]
    finally:
        r.shutdown()


def test_a_failed_refresh_is_logged_and_the_next_change_refreshes_again(
        refresher: HomeRefresher, caplog: pytest.LogCaptureFixture) -> None:
    refreshes = Refreshes(fail_first=True)
    refresher.start(refreshes)
    refresher.changed()
    assert refresher.wait_idle(5)
    assert "App Home: refresh failed" in caplog.text
    refresher.changed()
    assert refresher.wait_idle(5)
    assert refreshes.count == 2


def test_changes_before_start_are_refreshed_once_started(clock: ManualClock) -> None:
    r = HomeRefresher(every=timedelta(seconds=10), clock=clock)
    refreshes = Refreshes()
    try:
        r.changed()
        r.changed()
        r.start(refreshes)
        assert r.wait_idle(5)
        assert refreshes.count == 1
    finally:
        r.shutdown()
    r.changed()  # after shutdown: a no-op, never an error


def test_the_tab_is_refreshed_when_a_window_changes_by_itself(clock: ManualClock) -> None:
    mono = Monotonic()
    r = HomeRefresher(every=timedelta(milliseconds=50), clock=clock, monotonic=mono)
    stamps: list[float] = []

    def refresh() -> Any:
        stamps.append(mono.now)
        # The next window change, 0.2 s from now on the bot's clock (then none known): the
        # refresh comes a second after it, 1.2 s after this pass on the refresher's clock.
        return clock.now() + timedelta(seconds=0.2) if len(stamps) == 1 else None

    try:
        r.start(refresh)
        r.changed()
        assert r.wait_idle(5)
        mono.set(1.1)  # long past `every`, not yet a second past the window's change
        mono.wait_read(3)
        assert stamps == [0.0]
        mono.set(1.2)  # a second past it: refreshed without any change reported
        assert wait_for(lambda: len(stamps) == 2)
        assert stamps == [0.0, 1.2]
    finally:
        r.shutdown()


def test_the_shipped_app_yaml_configures_the_home() -> None:
    from pathlib import Path

    from bot.config import load_config

    home = load_config(Path(__file__).resolve().parents[2] / "app.yaml").home
    assert (home.viewers_within, home.refresh_every, home.cluster_lookups,
            home.cluster_cache) == (timedelta(days=7), timedelta(seconds=3), 50,
                                    timedelta(minutes=10))
