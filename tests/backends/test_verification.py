"""The watch after a rollout: the bake window on a fake Kubernetes API server, the simulated
cluster's `fail_verify`, and the HTTP smoke checks and Prometheus query (pytest-httpserver)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.backends.kubernetes import KubeClients, KubernetesCluster
from bot.backends.probes import HttpProbes
from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import (
    KubernetesAccessConfig,
    KubernetesServiceConfig,
    SimulatedConfig,
    VerifyConfig,
)
from bot.ports import Health, Superseded, VerifyResult
from bot.services.verification import BakeWatch
from bot.store.simulated import SqlSimulatedWorkloads
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import FAST, IMAGE, NS, SIDECAR
from tests.conftest import WEDNESDAY

BAKE = timedelta(minutes=5)


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as f:
        f.add_deployment(NS, "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}, dict(SIDECAR)], replicas=3)
        yield f


@pytest.fixture
def cluster(fake: FakeKubernetes, tmp_path: Path) -> Iterator[KubernetesCluster]:
    kubeconfig = fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
    clients = KubeClients(KubernetesAccessConfig(contexts={NS: "fake"}), kubeconfig=kubeconfig)
    yield KubernetesCluster("api", KubernetesServiceConfig(image=IMAGE), clients, timing=FAST)
    clients.close()


def watcher(health: Health | None, clock: ManualClock, *,
            checks: dict[str, VerifyConfig] | None = None) -> BakeWatch:
    def sleep(seconds: float) -> None:  # a little real time for the fake's controller
        time.sleep(0.02)
        clock.advance(timedelta(seconds=seconds))

    return BakeWatch(checks=checks or {}, health=health, probes=HttpProbes(timeout=3),
                     clock=clock, sleep=sleep, poll_every=timedelta(seconds=10))


def bake(w: BakeWatch, clock: ManualClock, version: str = "v1.2.3",
         seen: list[str] | None = None) -> VerifyResult:
    return w.watch(NS, "api", version, until=clock.now() + BAKE,
                   progress=(seen if seen is not None else []).append)


# -- Kubernetes -------------------------------------------------------------------------------

def test_a_healthy_rollout_passes_the_bake_window(cluster: KubernetesCluster) -> None:
    cluster.deploy(NS, "api", "v1.2.3", progress=lambda _t: None, deployment_id=1)
    clock = ManualClock(WEDNESDAY)
    seen: list[str] = []

    result = bake(watcher(cluster, clock), clock, seen=seen)

    assert result.ok and result.reasons == ()
    assert result.summary == "watched 5m00s, pods healthy"
    assert clock.now() >= WEDNESDAY + BAKE  # the whole window was watched
    assert seen[0] == "watching the new pods: 5m00s left"


def test_pods_that_crash_after_becoming_ready_fail_the_bake_window_with_the_cause(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.crash_after_ready(NS, "api", restarts=3)
    cluster.deploy(NS, "api", "v1.2.3", progress=lambda _t: None, deployment_id=1)
    clock = ManualClock(WEDNESDAY)

    result = bake(watcher(cluster, clock), clock)

    assert not result.ok
    (reason,) = result.reasons
    assert "restarted" in reason or "crash-loop" in reason, reason
    assert "of pod api-" in reason, reason
    assert clock.now() < WEDNESDAY + BAKE  # it stopped at the first failure


def test_the_deployment_changed_by_someone_else_stops_the_watch_as_superseded(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    cluster.deploy(NS, "api", "v1.2.3", progress=lambda _t: None, deployment_id=1)
    with pytest.raises(Superseded, match=re.escape("now runs ghcr.io/acme/api:v1.2.3")):
        cluster.check_health(NS, "api", "v1.2.4")

    clock = ManualClock(WEDNESDAY)
    result = bake(watcher(cluster, clock), clock, version="v1.2.4")
    assert not result.ok and result.superseded  # the runner will not roll this back
    assert "someone else" in result.reasons[0]


# -- the simulated cluster --------------------------------------------------------------------

def test_the_simulated_cluster_fails_the_watch_of_versions_matching_fail_verify(
        simulated_workloads: SqlSimulatedWorkloads) -> None:
    clock = ManualClock(WEDNESDAY)
    sim = SimulatedCluster(SimulatedConfig(rollout_seconds=0, fail_verify="-flaky$"),
                           workloads=simulated_workloads, clock=clock, sleep=lambda _s: None)
    assert bake(watcher(sim, clock), clock, "v1.2.3").ok
    result = bake(watcher(sim, clock), clock, "v1.2.3-flaky")
    assert not result.ok and "simulated.fail_verify" in result.reasons[0]


# -- HTTP smoke checks and Prometheus -----------------------------------------------------

def _vector(value: float) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"service": "api"}, "value": [1700000000.0, str(value)]}]}}


def test_smoke_checks_pass_on_the_expected_status_and_fail_otherwise(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/healthz").respond_with_data("ok")
    httpserver.expect_request("/broken").respond_with_data("no", status=503)
    probes = HttpProbes(timeout=3)

    assert probes.smoke(httpserver.url_for("/healthz"), expect_status=200) is None
    failed = probes.smoke(httpserver.url_for("/broken"), expect_status=200)
    assert failed == f"smoke check GET {httpserver.url_for('/broken')} answered 503, expected 200"


def test_the_prometheus_query_passes_under_max_and_fails_over_it(
    httpserver: HTTPServer,
) -> None:
    query = 'sum(rate(http_errors_total{service="api"}[5m]))'
    httpserver.expect_request("/ok/api/v1/query", query_string={"query": query}) \
        .respond_with_json(_vector(0.01))
    httpserver.expect_request("/bad/api/v1/query", query_string={"query": query}) \
        .respond_with_json(_vector(0.2))
    httpserver.expect_request("/scalar/api/v1/query").respond_with_json(
        {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "0.04"]}})
    probes = HttpProbes(timeout=3)

    assert probes.prometheus(httpserver.url_for("/ok"), query, max_value=0.05) == (
        None, f"`{query}` = 0.01 (max 0.05)")
    why, _seen = probes.prometheus(httpserver.url_for("/bad"), query, max_value=0.05)
    assert why == f"Prometheus: `{query}` = 0.2 (max 0.05)"
    assert probes.prometheus(httpserver.url_for("/scalar"), "x", max_value=0.05)[0] is None


def test_the_bake_window_runs_the_configured_checks_at_its_end(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/healthz").respond_with_data("ok")
    httpserver.expect_request("/api/v1/query").respond_with_json(_vector(0.3))
    checks = {NS: VerifyConfig.model_validate({
        "smoke": [{"url": httpserver.url_for("/healthz")}],
        "prometheus": {"url": httpserver.url_for("/"), "query": "errors", "max": 0.05},
    })}
    clock = ManualClock(WEDNESDAY)

    result = bake(watcher(None, clock, checks=checks), clock)

    assert not result.ok
    assert result.reasons == ("Prometheus: `errors` = 0.3 (max 0.05)",)
    assert result.summary == "watched 5m00s; smoke checks 1/1 passed; `errors` = 0.3 (max 0.05)"


def test_progress_is_reported_often_but_the_time_left_moves_in_20_second_steps() -> None:
    """Reported every 5 s (the lease is renewed and an abort noticed within seconds), shown
    in 20-second steps (the card is redrawn only when its text changes)."""
    clock = ManualClock(WEDNESDAY)
    w = BakeWatch(checks={}, health=None, probes=HttpProbes(timeout=3), clock=clock,
                  sleep=lambda s: clock.advance(timedelta(seconds=s)),
                  poll_every=timedelta(seconds=5), report_every=timedelta(seconds=5))
    seen: list[str] = []
    result = w.watch(NS, "api", "v1.2.3", until=clock.now() + timedelta(minutes=1),
                     progress=seen.append)
    assert result.ok
    assert len(seen) == 12  # every 5 s of the minute
    assert list(dict.fromkeys(seen)) == [
        "watching the new pods: 1m00s left", "watching the new pods: 40s left",
        "watching the new pods: 20s left"]
