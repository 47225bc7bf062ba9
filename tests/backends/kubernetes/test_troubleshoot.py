"""The Troubleshooting capability of the Kubernetes backend (bot.backends.kubernetes:
troubleshoot, logs, events) against the fake API server: the rollout view, the pods, a
container's log and the events of a healthy service, one whose new image cannot be pulled,
one that crash-loops and one whose pods cannot be scheduled; the log options as the API
applies them; errors (a pod or container that is not there, RBAC, an unreachable API)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.kubernetes import KubeClients, KubernetesCluster
from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import SimulatedConfig
from bot.errors import NotFound, PermanentError, RetryableError, UserError
from bot.ports import EventView, LogQuery, PodView, RolloutFailed, Troubleshooting
from bot.store.simulated import SqlSimulatedWorkloads
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_k8s.api import FailureMode
from tests.backends.kubernetes.test_cluster import NS, deploy, make_cluster


def fail_rollout(fake: FakeKubernetes, cluster: KubernetesCluster, mode: FailureMode) -> None:
    """Roll v1.2.3 out in `mode` (the deploy fails; the old pods keep serving)."""
    fake.fail_next_rollout(NS, "api", mode)
    with pytest.raises(RolloutFailed):
        deploy(cluster, "v1.2.3")


def new_pods(fake: FakeKubernetes) -> list[dict[str, Any]]:
    return [p for p in fake.pods(NS, "app=api")
            if p["spec"]["containers"][0]["image"].endswith(":v1.2.3")]


def wait_for_event(fake: FakeKubernetes, reason: str, *, count: int = 1) -> None:
    def seen(f: FakeKubernetes) -> bool:
        return any(e["reason"] == reason and max(int(e.get("count") or 0), int(
            (e.get("series") or {}).get("count") or 0), 1) >= count
            for e in f.recorded_events(NS))
    fake.wait_until(seen, timeout=10)


def assert_warnings_first_then_newest(events: list[EventView]) -> None:
    types = [e.type for e in events]
    assert types == sorted(types, key=lambda t: t != "Warning"), types
    for group in ("Warning", "Normal"):
        times = [e.last_seen for e in events if e.type == group]
        assert all(t is not None for t in times)
        assert times == sorted(times, reverse=True), (group, times)  # type: ignore[type-var]


# -- the capability and its routing ----------------------------------------------------------

def test_the_kubernetes_cluster_has_the_capability_and_the_router_hands_it_out(
    cluster: KubernetesCluster, simulated_workloads: SqlSimulatedWorkloads, clock: ManualClock,
) -> None:
    simulated = SimulatedCluster(SimulatedConfig(rollout_seconds=0), workloads=simulated_workloads,
                                 clock=clock, sleep=lambda _s: None)
    router = ServiceClusters({"api": cluster, "billing": simulated})
    assert isinstance(cluster, Troubleshooting)
    assert router.troubleshooting("api") is cluster
    assert router.troubleshooting("billing") is None
    with pytest.raises(PermanentError, match="no cluster is configured for service 'nope'"):
        router.troubleshooting("nope")


# -- a healthy service -----------------------------------------------------------------------

def test_a_settled_rollout_shows_the_counts_conditions_and_both_replica_sets(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3", deployment_id=7)
    view = cluster.rollout_view(NS, "api")
    assert view is not None
    assert (view.deployment, view.namespace) == ("api", NS)
    assert (view.desired, view.updated, view.ready, view.available) == (3, 3, 3, 3)
    assert view.settled and not view.paused
    conditions = {c.type: c for c in view.conditions}
    assert conditions["Available"].status == "True"
    assert conditions["Progressing"].reason == "NewReplicaSetAvailable"
    assert conditions["Progressing"].last_update is not None
    assert view.current is not None and view.previous is not None
    assert (view.current.version, view.current.revision) == ("v1.2.3", 2)
    assert view.current.change_cause == "deploybot #7: api v1.2.3 by U0ALICE"
    assert (view.current.replicas, view.current.ready) == (3, 3)
    assert (view.previous.version, view.previous.revision) == ("v1.2.2", 1)
    assert (view.previous.replicas, view.previous.ready) == (0, 0)
    assert view.rollout_started == view.current.created is not None
    fake_rs = fake.get("replicasets", NS, view.current.name)
    assert fake_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_healthy_pods_read_as_kubectl_get_pods_shows_them(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    pods = cluster.pods(NS, "api")
    assert len(pods) == 3
    names = {p["metadata"]["name"]: p for p in fake.pods(NS, "app=api")}
    for pod in pods:
        assert pod.healthy, pod
        assert pod.version == "v1.2.2"
        assert (pod.ready, pod.containers, pod.phase, pod.restarts) == (2, 2, "Running", 0)
        assert pod.waiting_reason is None and pod.last_termination is None
        assert pod.container == "api"
        assert pod.node == names[pod.name]["spec"]["nodeName"]
        assert pod.created is not None


def test_a_healthy_pods_log_and_the_scaling_events(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    tail = cluster.logs(NS, "api", LogQuery())
    assert tail.pod in {p.name for p in cluster.pods(NS, "api")}
    assert tail.container == "api" and not tail.truncated and not tail.previous
    assert "starting api from ghcr.io/acme/api:v1.2.2" in tail.text
    events = cluster.events(NS, "api")
    assert events and all(e.type == "Normal" for e in events)
    scaling = [e for e in events if e.reason == "ScalingReplicaSet"]
    assert scaling and all(e.object == "Deployment/api" for e in scaling)
    assert any(e.message.startswith("Scaled up replica set api-") for e in scaling)
    assert any(e.reason == "SuccessfulCreate" and e.object.startswith("ReplicaSet/api-")
               for e in events)
    assert_warnings_first_then_newest(events)
    # One LIST per kind of object, each with its field selector (RBAC: `list events` only).
    selectors = [r.query.get("fieldSelector") for r in fake.recorded("GET", "/events")]
    assert selectors == ["involvedObject.kind=Deployment,involvedObject.name=api",
                         "involvedObject.kind=ReplicaSet", "involvedObject.kind=Pod"]


def test_a_service_without_its_deployment_has_nothing_to_show(clients: KubeClients) -> None:
    missing = make_cluster(clients, deployment="gone")
    assert missing.rollout_view(NS, "api") is None
    assert missing.pods(NS, "api") == []
    assert missing.events(NS, "api") == []
    with pytest.raises(NotFound, match='no Deployment "gone" in namespace "staging"'):
        missing.logs(NS, "api", LogQuery())


# -- an image that cannot be pulled ----------------------------------------------------------

def test_an_image_pull_failure_in_the_rollout_the_pods_the_log_and_the_events(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fail_rollout(fake, cluster, "image_pull")
    wait_for_event(fake, "BackOff")
    view = cluster.rollout_view(NS, "api")
    assert view is not None and not view.settled
    assert view.current is not None and view.current.version == "v1.2.3"
    assert view.previous is not None and view.previous.version == "v1.2.2"

    pods = cluster.pods(NS, "api")
    stuck = [p for p in pods if p.version == "v1.2.3"]
    assert stuck and pods[:len(stuck)] == stuck  # unhealthy first
    for pod in stuck:
        assert pod.waiting_reason == "ImagePullBackOff" and pod.phase == "Pending"
        assert pod.waiting_message == 'Back-off pulling image "ghcr.io/acme/api:v1.2.3"'
        assert not pod.healthy and pod.ready == 1  # the sidecar runs
    assert all(p.healthy for p in pods[len(stuck):])

    with pytest.raises(UserError, match="has not started, so it has no log yet") as info:
        cluster.logs(NS, "api", LogQuery())  # the least healthy pod of the new ReplicaSet
    assert "trying and failing to pull image" in str(info.value)

    events = cluster.events(NS, "api")
    assert_warnings_first_then_newest(events)
    warnings = [e for e in events if e.type == "Warning"]
    assert any(e.reason == "Failed" and e.message.startswith(
        'Failed to pull image "ghcr.io/acme/api:v1.2.3"') for e in warnings)
    assert any(e.message == "Error: ImagePullBackOff" for e in warnings)
    assert any(e.reason == "BackOff" and e.message.startswith("Back-off pulling image")
               for e in events)
    assert all(e.object.startswith("Pod/") for e in warnings)


# -- a crash loop ------------------------------------------------------------------------------

def test_a_crash_loop_shows_the_last_termination_and_its_log(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fail_rollout(fake, cluster, "crash_loop")
    wait_for_event(fake, "BackOff")
    pods = cluster.pods(NS, "api")
    crashing = pods[0]
    assert crashing.version == "v1.2.3" and crashing.waiting_reason == "CrashLoopBackOff"
    assert crashing.waiting_message and "restarting failed container=api" in \
        crashing.waiting_message
    assert crashing.restarts >= 1 and crashing.container == "api"
    term = crashing.last_termination
    assert term is not None
    assert (term.reason, term.exit_code) == ("Error", 1) and term.finished is not None

    tail = cluster.logs(NS, "api", LogQuery())
    assert (tail.pod, tail.container) == (crashing.name, "api")
    assert "RuntimeError: fake crash" in tail.text
    before = cluster.logs(NS, "api", LogQuery(pod=crashing.name, previous=True))
    assert before.previous and "RuntimeError: fake crash" in before.text

    events = cluster.events(NS, "api")
    assert_warnings_first_then_newest(events)
    backoff = [e for e in events if e.reason == "BackOff"]
    assert backoff and backoff[0].type == "Warning"
    assert backoff[0].message.startswith(
        f"Back-off restarting failed container api in pod {backoff[0].object[4:]}_{NS}(")
    assert events[0].type == "Warning"


def test_previous_on_a_container_that_never_restarted_is_explained(
    cluster: KubernetesCluster,
) -> None:
    pod = cluster.pods(NS, "api")[0]
    with pytest.raises(UserError, match=rf'container "api" of pod {pod.name} has not restarted'):
        cluster.logs(NS, "api", LogQuery(pod=pod.name, previous=True))


# -- pods that cannot be scheduled ---------------------------------------------------------------

def test_unschedulable_pods_say_why_and_have_no_log(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fail_rollout(fake, cluster, "deadline")
    wait_for_event(fake, "FailedScheduling", count=2)
    pods = cluster.pods(NS, "api")
    pending = pods[0]
    assert pending.version == "v1.2.3" and pending.phase == "Pending"
    assert pending.unschedulable and pending.unschedulable.startswith(
        "0/3 nodes are available: 3 Insufficient cpu.")
    assert pending.node is None and not pending.healthy

    tail = cluster.logs(NS, "api", LogQuery())  # the API server answers an empty log
    assert (tail.pod, tail.text, tail.truncated) == (pending.name, "", False)

    view = cluster.rollout_view(NS, "api")
    assert view is not None and not view.settled
    progressing = next(c for c in view.conditions if c.type == "Progressing")
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")

    events = cluster.events(NS, "api")
    failed = [e for e in events if e.reason == "FailedScheduling"]
    assert failed and failed[0].type == "Warning" and events[0].type == "Warning"
    # The scheduler's events.k8s.io events: counted in `series`, dated by its lastObservedTime.
    assert max(e.count for e in failed) >= 2 and all(e.last_seen for e in failed)


# -- the log options ------------------------------------------------------------------------------

@pytest.fixture
def pod(cluster: KubernetesCluster) -> PodView:
    return cluster.pods(NS, "api")[0]


def test_since_and_tail_are_the_apis_own_options(
    fake: FakeKubernetes, cluster: KubernetesCluster, pod: PodView,
) -> None:
    now = fake.clock()
    fake.set_logs(NS, "api", lines=[(now - timedelta(hours=2), "old 1\nold 2"),
                                    (now - timedelta(minutes=5), "new 1\nnew 2\nnew 3")])
    everything = cluster.logs(NS, "api", LogQuery(pod=pod.name, tail=0))
    assert everything.text == "old 1\nold 2\nnew 1\nnew 2\nnew 3\n"
    recent = cluster.logs(NS, "api", LogQuery(pod=pod.name, since=timedelta(hours=1), tail=0))
    assert recent.text == "new 1\nnew 2\nnew 3\n"
    last_two = cluster.logs(NS, "api", LogQuery(pod=pod.name, tail=2))
    assert last_two.text == "new 2\nnew 3\n"
    query = fake.recorded("GET", f"/pods/{pod.name}/log")[-1].query
    assert query == {"container": "api", "tailLines": "2", "limitBytes": "1000000"}
    since = fake.recorded("GET", f"/pods/{pod.name}/log")[-2].query
    assert since["sinceSeconds"] == "3600" and "tailLines" not in since


def test_previous_reads_the_crashed_run(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.set_logs(NS, "api", lines=["booting again"], previous=["panic: boom", "exit 2"])
    fail_rollout(fake, cluster, "crash_loop")
    crashing = cluster.pods(NS, "api")[0]
    tail = cluster.logs(NS, "api", LogQuery(pod=crashing.name, previous=True))
    assert tail.text == "panic: boom\nexit 2\n" and tail.previous
    assert fake.recorded("GET", "/log")[-1].query["previous"] == "true"


def test_a_50_mb_log_is_capped_by_limit_bytes_at_the_cluster(
    fake: FakeKubernetes, cluster: KubernetesCluster, pod: PodView,
) -> None:
    line = "x" * 99 + "\n"
    fake.set_logs(NS, "api", lines=[line * 524_288])  # 52,428,800 bytes
    tail = cluster.logs(NS, "api", LogQuery(pod=pod.name, tail=0, limit_bytes=100_000))
    assert tail.truncated
    assert len(tail.text.encode()) == 100_000 and tail.text.startswith(line)
    assert fake.recorded("GET", "/log")[-1].query["limitBytes"] == "100000"
    short = cluster.logs(NS, "api", LogQuery(pod=pod.name, tail=3, limit_bytes=100_000))
    assert short.text == line * 3 and not short.truncated


def test_a_named_container_and_one_that_is_not_there(
    fake: FakeKubernetes, cluster: KubernetesCluster, pod: PodView,
) -> None:
    fake.set_logs(NS, "api", container="envoy", lines=["[envoy] listening on 0.0.0.0:8080"])
    tail = cluster.logs(NS, "api", LogQuery(pod=pod.name, container="envoy"))
    assert (tail.container, tail.text) == ("envoy", "[envoy] listening on 0.0.0.0:8080\n")
    with pytest.raises(UserError, match=f'pod {pod.name} has no container "web": it has '
                                        "api, envoy"):
        cluster.logs(NS, "api", LogQuery(pod=pod.name, container="web"))


def test_a_pod_that_is_not_the_services_is_not_found_and_the_message_lists_its_pods(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    with pytest.raises(NotFound) as info:
        cluster.logs(NS, "api", LogQuery(pod="billing-5d8f-abcde"))
    text = str(info.value)
    assert text.startswith("pod billing-5d8f-abcde is not one of service api's pods in staging")
    for p in fake.pods(NS, "app=api"):
        assert p["metadata"]["name"] in text
    assert not fake.recorded("GET", "/log")  # nothing was asked of the kubelet


# -- errors ------------------------------------------------------------------------------------

def test_rbac_denials_name_the_verb_the_resource_and_the_role(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.forbid("get", "pods/log", NS)
    with pytest.raises(PermanentError) as info:
        cluster.logs(NS, "api", LogQuery())
    text = str(info.value)
    assert 'not allowed to get pods/log in namespace "staging"' in text, text
    assert "deploy/kubernetes/base/rbac.yaml" in text, text
    fake.forbid("list", "events", NS)
    with pytest.raises(PermanentError, match=r'not allowed to list events in namespace '
                                             r'"staging".*rbac\.yaml'):
        cluster.events(NS, "api")
    fake.forbid("list", "pods", NS)
    with pytest.raises(PermanentError, match="not allowed to list pods"):
        cluster.pods(NS, "api")


def test_an_unreachable_api_is_worth_retrying(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.fail_requests("GET", r"/deployments/api$", status=503, times=20)
    with pytest.raises(RetryableError, match="answered 503"):
        cluster.rollout_view(NS, "api")
    fake.set_unreachable(True)
    with pytest.raises(RetryableError, match="unreachable"):
        cluster.events(NS, "api")


def test_events_are_limited_after_sorting(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fail_rollout(fake, cluster, "crash_loop")
    wait_for_event(fake, "BackOff")
    every = cluster.events(NS, "api", limit=1000)
    three = cluster.events(NS, "api", limit=3)
    assert three == every[:3] and three[0].type == "Warning"
