"""The simulated cluster: progress, configured failures, and the versions it runs, kept in
the database (SQLite, or PostgreSQL with TEST_DATABASE_URL) so that they survive a restart."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.simulated import REPLICAS, SimulatedCluster
from bot.clock import ManualClock
from bot.config import SimulatedConfig
from bot.domain.live import Observed
from bot.errors import PermanentError
from bot.ports import Previews, Revisions, RolloutFailed
from bot.store.db import Database
from bot.store.simulated import SqlSimulatedWorkloads
from tests.conftest import WEDNESDAY, running_version


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def make(database_url: str, clock: ManualClock) -> Iterator[Callable[..., SimulatedCluster]]:
    """A SimulatedCluster on the test database; each one made is a restart of the last."""
    databases: list[Database] = []

    def new(sleep: Callable[[float], None] = no_sleep, **kw: object) -> SimulatedCluster:
        databases.append(Database.from_url(database_url))
        return SimulatedCluster(SimulatedConfig(**kw),  # type: ignore[arg-type]
                                workloads=SqlSimulatedWorkloads(databases[-1]), clock=clock,
                                sleep=sleep)

    yield new
    for database in databases:
        database.dispose()


Make = Callable[..., SimulatedCluster]


@pytest.fixture
def cluster(make: Make) -> Make:
    return make


def test_progress_is_reported_for_each_pod(cluster: Make) -> None:
    seen: list[str] = []
    cluster().deploy("production", "api", "v1.2.3", progress=seen.append)
    assert REPLICAS == 3
    assert seen == ["1/3 pods updated", "2/3 pods updated", "3/3 pods updated"]


def test_the_rollout_takes_the_configured_time_in_steps(cluster: Make) -> None:
    slept: list[float] = []
    c = cluster(rollout_seconds=4.5, sleep=slept.append)
    c.deploy("staging", "api", "v1.2.3", progress=lambda _t: None)
    assert slept == [1.0, 0.5, 1.0, 0.5, 1.0, 0.5]  # a step of 1.5 s reports after 1 s
    assert sum(slept) == pytest.approx(4.5)


def test_a_long_rollout_reports_every_second(cluster: Make) -> None:
    """So that the runner renews its lease and notices an abort within seconds."""
    seen: list[str] = []
    c = cluster(rollout_seconds=6, sleep=lambda _s: None)
    c.deploy("staging", "api", "v1.2.3", progress=seen.append)
    assert seen == ["updating pod 1/3", "1/3 pods updated", "updating pod 2/3",
                    "2/3 pods updated", "updating pod 3/3", "3/3 pods updated"]


def test_a_matching_version_fails_with_a_plain_cause(cluster: Make) -> None:
    c = cluster(fail_versions="-bad$", initial_version="v1.2.2")
    seen: list[str] = []
    with pytest.raises(RolloutFailed) as info:
        c.deploy("production", "api", "v1.2.4-bad", progress=seen.append)
    assert str(info.value) == (
        "simulated failure: new pods of api v1.2.4-bad crash-loop "
        "(version matches simulated.fail_versions `-bad$`)"
    )
    assert "Traceback" not in str(info.value)
    assert seen == ["1/3 pods updated"]  # it failed part-way
    assert running_version(c, "production", "api") == "v1.2.2"  # the old version still runs


def test_a_version_not_matching_the_failure_pattern_succeeds(cluster: Make) -> None:
    c = cluster(fail_versions="-bad$")
    c.deploy("production", "api", "v1.2.4-badger", progress=lambda _t: None)
    assert running_version(c, "production", "api") == "v1.2.4-badger"


def test_no_failure_pattern_means_nothing_fails(cluster: Make) -> None:
    c = cluster(fail_versions=None)
    c.deploy("production", "api", "v1.2.4-bad", progress=lambda _t: None)
    assert running_version(c, "production", "api") == "v1.2.4-bad"


def test_the_running_version_initially(cluster: Make) -> None:
    assert running_version(cluster(initial_version="v1.2.2"), "production", "api") == "v1.2.2"
    assert running_version(cluster(), "production", "api") is None


def test_the_running_version_after_a_deploy_is_per_environment_and_service(cluster: Make) -> None:
    c = cluster(initial_version="v1.2.2")
    c.deploy("staging", "api", "v1.3.0", progress=lambda _t: None)
    assert running_version(c, "staging", "api") == "v1.3.0"
    assert running_version(c, "production", "api") == "v1.2.2"
    assert running_version(c, "staging", "web") == "v1.2.2"
    c.deploy("staging", "api", "v1.3.1", progress=lambda _t: None)
    assert running_version(c, "staging", "api") == "v1.3.1"


def test_the_version_changes_only_once_the_rollout_is_complete(cluster: Make) -> None:
    c = cluster(initial_version="v1.2.2")
    during: list[str | None] = []
    c.deploy("production", "api", "v1.3.0",
             progress=lambda _t: during.append(running_version(c, "production", "api")))
    assert during == ["v1.2.2", "v1.2.2", "v1.2.2"]
    assert running_version(c, "production", "api") == "v1.3.0"


def test_a_progress_callback_error_stops_the_rollout(cluster: Make) -> None:
    c = cluster(initial_version="v1.2.2")

    def broken(_text: str) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        c.deploy("production", "api", "v1.3.0", progress=broken)
    assert running_version(c, "production", "api") == "v1.2.2"


def test_concurrent_deploys_to_different_services(cluster: Make) -> None:
    c = cluster()
    threads = [
        threading.Thread(target=c.deploy, args=("production", f"svc{i}", f"v1.0.{i}"),
                         kwargs={"progress": lambda _t: None})
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert [running_version(c, "production", f"svc{i}") for i in range(8)] == [
        f"v1.0.{i}" for i in range(8)]


# -- which versions ran before (the Revisions capability) ----------------------------------

def test_earlier_versions_are_the_versions_that_went_live_newest_first_each_once(
        cluster: Make) -> None:
    c = cluster(initial_version="v1.2.2")
    assert isinstance(c, Revisions)
    assert c.earlier_versions("production", "api") == []
    for version in ("v1.2.3", "v1.2.4"):
        c.deploy("production", "api", version, progress=lambda _t: None)
    assert c.earlier_versions("production", "api") == ["v1.2.3", "v1.2.2"]
    c.deploy("production", "api", "v1.2.2", progress=lambda _t: None)  # a rollback
    assert c.earlier_versions("production", "api") == ["v1.2.4", "v1.2.3"]
    c.deploy("production", "api", "v1.2.3", progress=lambda _t: None)
    assert c.earlier_versions("production", "api") == ["v1.2.2", "v1.2.4"]


def test_earlier_versions_are_per_environment_and_service_and_skip_failed_rollouts(
        cluster: Make) -> None:
    c = cluster(initial_version="v1.2.2", fail_versions="-bad$")
    c.deploy("staging", "api", "v1.3.0", progress=lambda _t: None)
    with pytest.raises(RolloutFailed):
        c.deploy("staging", "api", "v1.3.1-bad", progress=lambda _t: None)
    assert c.earlier_versions("staging", "api") == ["v1.2.2"]
    assert c.earlier_versions("production", "api") == []
    assert c.earlier_versions("staging", "web") == []


def test_without_an_initial_version_history_starts_at_the_first_deploy(cluster: Make) -> None:
    c = cluster()
    c.deploy("production", "api", "v1.0.0", progress=lambda _t: None)
    assert c.earlier_versions("production", "api") == []
    c.deploy("production", "api", "v1.0.1", progress=lambda _t: None)
    assert c.earlier_versions("production", "api") == ["v1.0.0"]


class _NoHistory:
    """A cluster without the Revisions capability."""

    def observe(self, environment: str, service: str) -> Observed | None:
        return Observed("v1.0.0")

    def deploy(self, environment: str, service: str, version: str, *,
               progress: Callable[[str], None], deployment_id: int | None = None,
               requested_by: str | None = None, instance: str | None = None) -> None:
        return None


def test_the_router_delegates_earlier_versions_where_the_cluster_remembers_them(
        cluster: Make) -> None:
    simulated = cluster(initial_version="v1.2.2")
    simulated.deploy("production", "api", "v1.2.3", progress=lambda _t: None)
    router = ServiceClusters({"api": simulated, "legacy": _NoHistory()})
    assert isinstance(router, Revisions)
    assert router.earlier_versions("production", "api") == ["v1.2.2"]
    assert router.earlier_versions("production", "legacy") == []
    with pytest.raises(PermanentError):
        router.earlier_versions("production", "nope")


# -- its state is kept in the database: a restart runs what was rolled out ------------------

def test_nothing_rolled_out_runs_the_initial_version_since_an_unknown_time(
        cluster: Make) -> None:
    assert cluster(initial_version="v1.2.2").observe("production", "api") == Observed(
        "v1.2.2", since=None, deployment_id=None, settled=True)
    assert cluster().observe("production", "api") is None  # nothing runs there


def test_observe_says_since_when_and_which_deployment_put_it_there(
        cluster: Make, clock: ManualClock) -> None:
    # Each pod takes a minute of the clock: "since" is when the rollout ended.
    c = cluster(initial_version="v1.2.2", rollout_seconds=180,
                sleep=lambda s: clock.advance(timedelta(seconds=s)))
    c.deploy("production", "api", "v1.2.3", progress=lambda _t: None, deployment_id=7,
             requested_by="U0ALICE")
    ended = WEDNESDAY + timedelta(minutes=3)
    assert c.observe("production", "api") == Observed(
        "v1.2.3", since=ended, settled=True, deployment_id=7, changed_by="U0ALICE")
    c.deploy("production", "api", "v1.2.4", progress=lambda _t: None)  # from the shell
    seen = c.observe("production", "api")
    assert seen is not None
    assert (seen.version, seen.since, seen.deployment_id) == (
        "v1.2.4", ended + timedelta(minutes=3), None)
    assert c.observe("staging", "api") == Observed("v1.2.2")  # untouched: initial_version


def test_a_failed_rollout_leaves_the_stored_state_alone(cluster: Make) -> None:
    c = cluster(initial_version="v1.2.2", fail_versions="-bad$")
    c.deploy("production", "api", "v1.2.3", progress=lambda _t: None, deployment_id=1)
    with pytest.raises(RolloutFailed):
        c.deploy("production", "api", "v1.2.4-bad", progress=lambda _t: None, deployment_id=2)
    seen = cluster(initial_version="v1.2.2", fail_versions="-bad$").observe("production", "api")
    assert seen is not None and (seen.version, seen.deployment_id) == ("v1.2.3", 1)
    assert seen.settled and seen.progress is None  # v1.2.4-bad never ran: not "applied"


def test_a_restart_runs_what_the_last_one_rolled_out_not_the_initial_version(
        cluster: Make, clock: ManualClock) -> None:
    first = cluster(initial_version="v1.2.2")
    for i, version in enumerate(("v1.2.3", "v1.2.4"), start=1):
        clock.advance(timedelta(minutes=10))
        first.deploy("production", "api", version, progress=lambda _t: None, deployment_id=i)
    first.deploy("staging", "api", "v1.3.0", progress=lambda _t: None, deployment_id=3)

    again = cluster(initial_version="v1.2.2")  # the same database, a new process
    assert running_version(again, "production", "api") == "v1.2.4"
    assert running_version(again, "staging", "api") == "v1.3.0"
    assert running_version(again, "production", "web") == "v1.2.2"
    assert again.observe("production", "api") == Observed(
        "v1.2.4", since=WEDNESDAY + timedelta(minutes=20), deployment_id=2)
    assert again.earlier_versions("production", "api") == ["v1.2.3", "v1.2.2"]
    again.deploy("production", "api", "v1.2.3", progress=lambda _t: None, deployment_id=4)
    assert cluster(initial_version="v1.2.2").earlier_versions("production", "api") == [
        "v1.2.4", "v1.2.2"]


def test_per_pr_instances_are_kept_apart_survive_a_restart_and_are_removed(
        cluster: Make) -> None:
    c = cluster(initial_version="v1.2.2")
    assert isinstance(c, Previews)
    assert c.instance_version("development", "api", "pr-7") is None
    c.deploy("development", "api", "abc1234", progress=lambda _t: None, deployment_id=1,
             instance="pr-7")
    c.deploy("development", "api", "def5678", progress=lambda _t: None, deployment_id=2,
             instance="pr-8")
    c.deploy("development", "api", "abc1235", progress=lambda _t: None, deployment_id=3,
             instance="pr-7")
    # The main instance knows nothing of them.
    assert c.observe("development", "api") == Observed("v1.2.2")
    assert c.earlier_versions("development", "api") == []

    again = cluster(initial_version="v1.2.2")
    assert again.instance_version("development", "api", "pr-7") == "abc1235"
    assert again.instance_version("development", "api", "pr-8") == "def5678"
    assert again.remove_instance("development", "api", "pr-7") is True
    assert again.remove_instance("development", "api", "pr-7") is False
    assert again.instance_version("development", "api", "pr-7") is None
    assert cluster().instance_version("development", "api", "pr-8") == "def5678"
