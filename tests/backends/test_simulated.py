"""The simulated cluster: progress, configured failures, and the versions it runs."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.simulated import REPLICAS, SimulatedCluster
from bot.config import SimulatedConfig
from bot.errors import PermanentError
from bot.ports import Revisions, RolloutFailed


def no_sleep(_seconds: float) -> None:
    return None


def cluster(**kw: object) -> SimulatedCluster:
    return SimulatedCluster(SimulatedConfig(**kw), sleep=no_sleep)  # type: ignore[arg-type]


def test_progress_is_reported_for_each_pod() -> None:
    seen: list[str] = []
    cluster().deploy("production", "api", "v1.2.3", progress=seen.append)
    assert REPLICAS == 3
    assert seen == ["1/3 pods updated", "2/3 pods updated", "3/3 pods updated"]


def test_the_rollout_takes_the_configured_time_in_steps() -> None:
    slept: list[float] = []
    c = SimulatedCluster(SimulatedConfig(rollout_seconds=6), sleep=slept.append)
    c.deploy("staging", "api", "v1.2.3", progress=lambda _t: None)
    assert slept == [2.0, 2.0, 2.0]
    assert sum(slept) == pytest.approx(6)


def test_a_matching_version_fails_with_a_plain_cause() -> None:
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
    assert c.current_version("production", "api") == "v1.2.2"  # the old version still runs


def test_a_version_not_matching_the_failure_pattern_succeeds() -> None:
    c = cluster(fail_versions="-bad$")
    c.deploy("production", "api", "v1.2.4-badger", progress=lambda _t: None)
    assert c.current_version("production", "api") == "v1.2.4-badger"


def test_no_failure_pattern_means_nothing_fails() -> None:
    c = cluster(fail_versions=None)
    c.deploy("production", "api", "v1.2.4-bad", progress=lambda _t: None)
    assert c.current_version("production", "api") == "v1.2.4-bad"


def test_current_version_initially() -> None:
    assert cluster(initial_version="v1.2.2").current_version("production", "api") == "v1.2.2"
    assert cluster().current_version("production", "api") is None


def test_current_version_after_a_deploy_is_per_environment_and_service() -> None:
    c = cluster(initial_version="v1.2.2")
    c.deploy("staging", "api", "v1.3.0", progress=lambda _t: None)
    assert c.current_version("staging", "api") == "v1.3.0"
    assert c.current_version("production", "api") == "v1.2.2"
    assert c.current_version("staging", "web") == "v1.2.2"
    c.deploy("staging", "api", "v1.3.1", progress=lambda _t: None)
    assert c.current_version("staging", "api") == "v1.3.1"


def test_the_version_changes_only_once_the_rollout_is_complete() -> None:
    c = cluster(initial_version="v1.2.2")
    during: list[str | None] = []
    c.deploy("production", "api", "v1.3.0",
             progress=lambda _t: during.append(c.current_version("production", "api")))
    assert during == ["v1.2.2", "v1.2.2", "v1.2.2"]
    assert c.current_version("production", "api") == "v1.3.0"


def test_a_progress_callback_error_stops_the_rollout() -> None:
    c = cluster(initial_version="v1.2.2")

    def broken(_text: str) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        c.deploy("production", "api", "v1.3.0", progress=broken)
    assert c.current_version("production", "api") == "v1.2.2"


def test_concurrent_deploys_to_different_services() -> None:
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
    assert [c.current_version("production", f"svc{i}") for i in range(8)] == [
        f"v1.0.{i}" for i in range(8)]


# -- which versions ran before (the Revisions capability) ----------------------------------

def test_earlier_versions_are_the_versions_that_went_live_newest_first_each_once() -> None:
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


def test_earlier_versions_are_per_environment_and_service_and_skip_failed_rollouts() -> None:
    c = cluster(initial_version="v1.2.2", fail_versions="-bad$")
    c.deploy("staging", "api", "v1.3.0", progress=lambda _t: None)
    with pytest.raises(RolloutFailed):
        c.deploy("staging", "api", "v1.3.1-bad", progress=lambda _t: None)
    assert c.earlier_versions("staging", "api") == ["v1.2.2"]
    assert c.earlier_versions("production", "api") == []
    assert c.earlier_versions("staging", "web") == []


def test_without_an_initial_version_history_starts_at_the_first_deploy() -> None:
    c = cluster()
    c.deploy("production", "api", "v1.0.0", progress=lambda _t: None)
    assert c.earlier_versions("production", "api") == []
    c.deploy("production", "api", "v1.0.1", progress=lambda _t: None)
    assert c.earlier_versions("production", "api") == ["v1.0.0"]


class _NoHistory:
    """A cluster without the Revisions capability."""

    def current_version(self, environment: str, service: str) -> str | None:
        return "v1.0.0"

    def deploy(self, environment: str, service: str, version: str, *,
               progress: Callable[[str], None], deployment_id: int | None = None,
               requested_by: str | None = None) -> None:
        return None


def test_the_router_delegates_earlier_versions_where_the_cluster_remembers_them() -> None:
    simulated = cluster(initial_version="v1.2.2")
    simulated.deploy("production", "api", "v1.2.3", progress=lambda _t: None)
    router = ServiceClusters({"api": simulated, "legacy": _NoHistory()})
    assert isinstance(router, Revisions)
    assert router.earlier_versions("production", "api") == ["v1.2.2"]
    assert router.earlier_versions("production", "legacy") == []
    with pytest.raises(PermanentError):
        router.earlier_versions("production", "nope")
