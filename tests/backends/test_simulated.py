"""The simulated cluster: progress, configured failures, and the versions it runs."""

from __future__ import annotations

import threading

import pytest

from bot.backends.simulated import REPLICAS, SimulatedCluster
from bot.config import SimulatedConfig
from bot.ports import RolloutFailed


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
