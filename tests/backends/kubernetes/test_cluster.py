"""The Kubernetes cluster backend against a fake API server (real client, real HTTP)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.kubernetes import (
    CHANGE_CAUSE,
    DEPLOYMENT_ID,
    Backoff,
    KubeClients,
    KubernetesCluster,
    Timing,
)
from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import (
    ConfigError,
    KubernetesAccessConfig,
    KubernetesServiceConfig,
    SimulatedConfig,
    parse_config,
)
from bot.errors import PermanentError, RetryableError
from bot.ports import AlreadyRunning, RolloutFailed
from bot.store.simulated import SqlSimulatedWorkloads
from devtools.fake_k8s import FakeKubernetes, Recorded
from tests.conftest import base_config, running_version

NS = "staging"
IMAGE = "ghcr.io/acme/api:{version}"
SIDECAR = {"name": "envoy", "image": "envoyproxy/envoy:v1.30.1"}
#: Small timings: retries back off in milliseconds, a quiet watch is looked behind quickly.
FAST = Timing(backoff=Backoff(first=0.01, factor=2.0, cap=0.05, attempts=4),
              connect_timeout=1.0, request_timeout=3.0, resync_every=0.2,
              keepalive_every=60.0)


def make_cluster(clients: KubeClients, *, timing: Timing = FAST,
                 **config: Any) -> KubernetesCluster:
    config.setdefault("image", IMAGE)
    return KubernetesCluster("api", KubernetesServiceConfig(**config), clients, timing=timing)


def containers(dep: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["image"] for c in dep["spec"]["template"]["spec"]["containers"]}


def annotations_of(dep: dict[str, Any]) -> dict[str, str]:
    return dict(dep["metadata"].get("annotations") or {})


def patches(fake: FakeKubernetes) -> list[Recorded]:
    return fake.recorded(method="PATCH", path_contains="/deployments/api")


def watches(fake: FakeKubernetes) -> list[Recorded]:
    return [r for r in fake.recorded(method="GET", path_contains="/deployments") if r.is_watch]


def deploy(cluster: KubernetesCluster, version: str = "v1.2.3", *,
           seen: list[str] | None = None, deployment_id: int | None = 7) -> list[str]:
    out: list[str] = [] if seen is None else seen
    cluster.deploy(NS, "api", version, progress=out.append, deployment_id=deployment_id,
                   requested_by="U0ALICE")
    return out


def rollout_complete(dep: dict[str, Any]) -> bool:
    st = dep.get("status") or {}
    want = dep["spec"].get("replicas", 1)
    return bool(st.get("observedGeneration", 0) >= dep["metadata"]["generation"]
                and st.get("updatedReplicas") == want == st.get("availableReplicas")
                and st.get("replicas") == want)


# -- the happy path ---------------------------------------------------------------------------

def test_a_deploy_patches_only_the_named_container_records_why_and_waits_for_the_rollout(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    assert running_version(cluster, NS, "api") == "v1.2.2"
    fake.clear_requests()

    deploy(cluster, "v1.2.3", deployment_id=7)

    dep = fake.deployment(NS, "api")
    assert containers(dep) == {"api": "ghcr.io/acme/api:v1.2.3", "envoy": SIDECAR["image"]}
    assert annotations_of(dep)[CHANGE_CAUSE] == "deploybot #7: api v1.2.3 by U0ALICE"
    assert annotations_of(dep)[DEPLOYMENT_ID] == "7"
    # deploy() returned only once the rollout was complete
    assert rollout_complete(dep)
    # one strategic-merge PATCH naming only the configured container
    (patch,) = patches(fake)
    assert (patch.content_type or "").startswith("application/strategic-merge-patch+json")
    assert patch.body["spec"]["template"]["spec"]["containers"] == [
        {"name": "api", "image": "ghcr.io/acme/api:v1.2.3"}]
    # followed with a watch on that Deployment from the patch's version, not by polling it
    (watch, *_) = watches(fake)
    assert watch.query["fieldSelector"] == "metadata.name=api"
    assert watch.query["resourceVersion"]
    assert len(fake.recorded(method="GET", path_contains="/deployments/api")) == 1  # the first
    assert running_version(cluster, NS, "api") == "v1.2.3"


def test_progress_is_reported_when_it_changes_and_ends_with_every_pod_available(
    cluster: KubernetesCluster,
) -> None:
    seen = deploy(cluster, "v1.2.3")
    assert seen, "no progress reported"
    assert all(re.fullmatch(r"\d/3 pods updated, \d available(, \d old pods? still running)?",
                            s) for s in seen), seen
    assert seen[-1] == "3/3 pods updated, 3 available"
    assert all(a != b for a, b in itertools.pairwise(seen)), "repeated: " + str(seen)
    assert len(seen) >= 2, seen  # it moved in steps, and we saw them


def test_several_containers_change_together_and_a_named_deployment_and_namespace_are_used(
    fake: FakeKubernetes, clients: KubeClients,
) -> None:
    fake.add_deployment("web-prod", "web-frontend", containers=[
        {"name": "web", "image": "ghcr.io/acme/web:v3.0.0"},
        {"name": "worker", "image": "ghcr.io/acme/web:v3.0.0"}, dict(SIDECAR)], replicas=2)
    c = KubernetesCluster("web", KubernetesServiceConfig(
        image="ghcr.io/acme/web:{version}", deployment="web-frontend",
        containers=["web", "worker"], namespaces={NS: "web-prod"}), clients, timing=FAST)
    assert running_version(c, NS, "web") == "v3.0.0"
    c.deploy(NS, "web", "v3.1.0", progress=lambda _t: None)
    assert containers(fake.deployment("web-prod", "web-frontend")) == {
        "web": "ghcr.io/acme/web:v3.1.0", "worker": "ghcr.io/acme/web:v3.1.0",
        "envoy": SIDECAR["image"]}


def test_no_version_runs_without_the_deployment_or_for_an_image_of_another_shape(
    fake: FakeKubernetes, clients: KubeClients,
) -> None:
    assert running_version(make_cluster(clients, deployment="nope"), NS, "api") is None
    assert running_version(make_cluster(clients, image="registry.local/api:{version}"), NS,
                           "api") is None


# -- already running; resuming ------------------------------------------------------------

def test_deploying_the_running_version_says_so_and_changes_nothing(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    before = fake.deployment(NS, "api")
    with pytest.raises(AlreadyRunning) as info:
        deploy(cluster, "v1.2.2")
    assert str(info.value) == "v1.2.2 is already running in staging; nothing to do"
    assert isinstance(info.value, RolloutFailed)  # a caller that knows only that one stops
    assert patches(fake) == []
    assert fake.deployment(NS, "api")["metadata"]["generation"] == before["metadata"]["generation"]


def test_a_deploy_resumed_after_a_restart_follows_its_own_patch_instead_of_patching_again(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    deploy(cluster, "v1.2.3", deployment_id=7)
    seen = deploy(cluster, "v1.2.3", deployment_id=7)  # the same deployment, run again
    assert len(patches(fake)) == 1
    assert seen[-1:] == ["3/3 pods updated, 3 available"]
    with pytest.raises(AlreadyRunning):  # another deployment of it: nothing to do
        deploy(cluster, "v1.2.3", deployment_id=8)


# -- failures in plain words -------------------------------------------------------------------

def test_an_image_that_cannot_be_pulled_fails_the_deploy_with_the_pull_error(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.fail_next_rollout(NS, "api", "image_pull")
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.3")
    text = str(info.value)
    assert "cannot pull the image ghcr.io/acme/api:v1.2.3" in text, text
    assert re.search(r"ErrImagePull|ImagePullBackOff", text), text
    assert not isinstance(info.value, AlreadyRunning)
    # Seen in the pods, not after the progress deadline (600 s): a deadline's failure says so.
    assert "deadline" not in text and "did not finish within" not in text, text


def test_a_crash_loop_fails_the_deploy_with_the_exit_code_and_reason(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.fail_next_rollout(NS, "api", "crash_loop")
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.3")
    text = str(info.value)
    assert "crash-loop" in text, text
    assert re.search(r"exited with code \d+", text), text
    assert '"api"' in text, text


def test_a_rollout_past_its_progress_deadline_fails_saying_so(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.fail_next_rollout(NS, "api", "deadline")
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.3")
    text = str(info.value)
    assert "progress deadline" in text and "ProgressDeadlineExceeded" in text, text


def test_following_stops_after_the_configured_progress_deadline(
    fake: FakeKubernetes, clients: KubeClients,
) -> None:
    fake.fail_next_rollout(NS, "api", "deadline")
    c = make_cluster(clients, progress_deadline="1s")
    # The fake's deadline mode may report ProgressDeadlineExceeded before our own limit:
    # either way the cause names a deadline.
    with pytest.raises(RolloutFailed) as info:
        deploy(c, "v1.2.3")
    assert "deadline" in str(info.value) or "did not finish within 1s" in str(info.value)


def test_a_missing_deployment_is_named_with_its_namespace(
    fake: FakeKubernetes, clients: KubeClients,
) -> None:
    c = make_cluster(clients, deployment="payments")
    with pytest.raises(RolloutFailed) as info:
        deploy(c, "v1.2.3")
    text = str(info.value)
    assert 'Deployment "payments" not found in namespace "staging"' in text, text
    assert "services.api.kubernetes" in text


def test_a_missing_container_is_refused_before_anything_changes(
    fake: FakeKubernetes, clients: KubeClients,
) -> None:
    c = make_cluster(clients, containers=["api", "web"])
    with pytest.raises(RolloutFailed) as info:
        deploy(c, "v1.2.3")
    assert 'no container named "web"' in str(info.value)
    assert patches(fake) == []


def test_rbac_forbidden_names_the_verb_the_resource_and_the_namespace(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.forbid("patch", "deployments", NS)
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.3")
    text = str(info.value)
    assert "not allowed to patch deployments" in text, text
    assert 'namespace "staging"' in text, text
    assert containers(fake.deployment(NS, "api"))["api"] == "ghcr.io/acme/api:v1.2.2"


def test_rbac_forbidden_on_the_watch_says_the_image_was_applied_already(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.forbid("watch", "deployments", NS)
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.3")
    text = str(info.value)
    assert "not allowed to watch deployments" in text, text
    assert "which was applied to Deployment \"api\"" in text and "may still finish" in text


def test_rbac_forbidden_on_reading_makes_the_running_version_a_configuration_problem(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.forbid("get", "deployments", NS)
    with pytest.raises(PermanentError) as info:
        running_version(cluster, NS, "api")
    assert "not allowed to get deployments" in str(info.value)


# -- transient errors ----------------------------------------------------------------------

def test_api_500s_are_retried_with_backoff_and_the_deploy_succeeds(
    fake: FakeKubernetes, clients: KubeClients,
) -> None:
    slept: list[float] = []
    c = KubernetesCluster("api", KubernetesServiceConfig(image=IMAGE), clients, timing=FAST,
                          sleep=slept.append)
    fake.fail_requests("GET", r"/deployments/api", status=503, times=1)
    fake.fail_requests("PATCH", r"/deployments/api", status=500, times=2)
    deploy(c, "v1.2.3")
    assert containers(fake.deployment(NS, "api"))["api"] == "ghcr.io/acme/api:v1.2.3"
    assert len(patches(fake)) == 3
    assert slept[:3] == [0.01, 0.01, 0.02]  # 503 on GET; then 500, 500 on PATCH


def test_retries_are_bounded_and_then_say_what_failed(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.fail_requests("PATCH", r"/deployments/api", status=500, times=50)
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.3")
    text = str(info.value)
    assert "answered 500" in text and "gave up after 4 attempts" in text, text


def test_a_dropped_watch_resumes_from_the_last_resource_version(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.drop_watches(after_events=1)
    seen = deploy(cluster, "v1.2.3")
    assert seen[-1] == "3/3 pods updated, 3 available"
    assert rollout_complete(fake.deployment(NS, "api"))
    assert len(watches(fake)) >= 2  # the watch was opened again
    first, *resumed = watches(fake)
    assert all(int(w.query["resourceVersion"]) > int(first.query["resourceVersion"])
               for w in resumed), [w.query for w in watches(fake)]


def test_a_watch_cut_off_mid_stream_is_retried_and_resumed(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.drop_watches(after_events=1, abrupt=True)  # a connection reset, not a clean end
    seen = deploy(cluster, "v1.2.3")
    assert seen[-1] == "3/3 pods updated, 3 available"
    first, second, *_ = watches(fake)
    assert int(second.query["resourceVersion"]) > int(first.query["resourceVersion"])


def test_a_watch_whose_version_is_gone_lists_again_and_goes_on(
    kubeconfig: str, tmp_path: Path,
) -> None:
    # A slower controller, so the history can go while the rollout is still moving.
    with FakeKubernetes(tick=0.15) as slow:
        slow.add_deployment(NS, "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}], replicas=3)
        clients = KubeClients(KubernetesAccessConfig(),
                              kubeconfig=slow.write_kubeconfig(str(tmp_path / "slow")))
        gone: list[str] = []

        def progress(text: str) -> None:
            if not gone:  # mid-rollout: the history goes (past a write), and the watch ends
                gone.append(text)
                slow.add_deployment(NS, "filler", containers=[{"name": "x", "image": "x:1"}])
                slow.compact()
                slow.drop_watches(after_events=0)

        cluster = make_cluster(clients)
        cluster.deploy(NS, "api", "v1.2.3", progress=progress, deployment_id=7)
        clients.close()
        assert gone
        assert rollout_complete(slow.deployment(NS, "api"))
        watch_rvs = [int(w.query["resourceVersion"]) for w in watches(slow)]
        relists = [r for r in slow.recorded(method="GET", path_contains="/deployments")
                   if r.path.endswith("/deployments") and not r.is_watch]
        assert relists, [(r.path, r.query) for r in slow.requests]
        # watched on from the list's version, past the compaction
        assert watch_rvs[-1] > watch_rvs[0], watch_rvs


def test_an_unreachable_api_fails_after_bounded_retries_with_a_clear_message(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.set_unreachable(True)
    with pytest.raises(RolloutFailed) as info:
        deploy(cluster, "v1.2.3")
    text = str(info.value)
    assert "Kubernetes API of staging" in text and "unreachable" in text, text
    assert "gave up after 4 attempts" in text, text  # bounded: FAST's 4 attempts, then up
    with pytest.raises(RetryableError):
        running_version(cluster, NS, "api")


def test_a_bad_kubeconfig_context_is_a_clear_problem(
    kubeconfig: str,
) -> None:
    clients = KubeClients(KubernetesAccessConfig(contexts={NS: "nope"}), kubeconfig=kubeconfig)
    c = make_cluster(clients)
    with pytest.raises(RolloutFailed) as info:
        deploy(c, "v1.2.3")
    assert 'kubeconfig context "nope"' in str(info.value)
    with pytest.raises(PermanentError):
        running_version(c, NS, "api")


# -- routing and config --------------------------------------------------------------------

def test_services_with_different_executors_live_side_by_side(
    fake: FakeKubernetes, cluster: KubernetesCluster,
    simulated_workloads: SqlSimulatedWorkloads, clock: ManualClock,
) -> None:
    simulated = SimulatedCluster(SimulatedConfig(rollout_seconds=0, initial_version="v9.9.9"),
                                 workloads=simulated_workloads, clock=clock,
                                 sleep=lambda _s: None)
    router = ServiceClusters({"api": cluster, "billing": simulated})
    assert running_version(router, NS, "api") == "v1.2.2"
    assert running_version(router, NS, "billing") == "v9.9.9"
    router.deploy(NS, "api", "v1.2.3", progress=lambda _t: None, deployment_id=1)
    router.deploy(NS, "billing", "v10.0.0", progress=lambda _t: None, deployment_id=2)
    assert running_version(router, NS, "api") == "v1.2.3"
    assert running_version(router, NS, "billing") == "v10.0.0"
    with pytest.raises(PermanentError):
        running_version(router, NS, "nope")


def kube_service(**kube: Any) -> dict[str, Any]:
    return {"api": {"executor": "kubernetes", "kubernetes": kube}}


@pytest.mark.parametrize(("services", "top", "key", "reason"), [
    ({"api": {"executor": "kubernetes"}}, {}, "services.api.kubernetes.image", "required"),
    (kube_service(image="ghcr.io/acme/api:latest"), {}, "services.api.kubernetes.image",
     "{version}"),
    (kube_service(image="x:{version}", namespaces={"qa": "x"}), {},
     "services.api.kubernetes.namespaces", "unknown environment 'qa'"),
    (kube_service(image="x:{version}", namespaces={"staging": "Bad_NS"}), {},
     "services.api.kubernetes.namespaces", "not a valid Kubernetes name"),
    (kube_service(image="x:{version}", containers=[]), {},
     "services.api.kubernetes.containers", ""),
    (kube_service(image="x:{version}", progress_deadline="soon"), {},
     "services.api.kubernetes.progress_deadline", "not a duration"),
    ({"api": {"kubernetes": {"image": "x:{version}"}}}, {}, "services.api.kubernetes",
     "executor: kubernetes"),
    ({"my_api": {"executor": "kubernetes", "kubernetes": {"image": "x:{version}"}}}, {},
     "services.my_api.kubernetes.deployment", "not a valid Kubernetes name"),
    ({"api": {"executor": "docker"}}, {}, "services.api.executor", ""),
    (kube_service(image="x:{version}"), {"kubernetes": {"contexts": {"qa": "ctx"}}},
     "kubernetes.contexts", "unknown environment 'qa'"),
    (kube_service(image="x:{version}"),
     {"kubernetes": {"in_cluster": True, "contexts": {"staging": "ctx"}}},
     "kubernetes.contexts", "in_cluster"),
    (kube_service(image="x:{version}"), {"kubernetes": {"kubeconfig": "/etc/k"}},
     "kubernetes.kubeconfig", ""),
])
def test_kubernetes_config_errors_name_the_key(services: dict[str, Any], top: dict[str, Any],
                                               key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(base_config(services=services, **top))
    assert info.value.key == key, str(info.value)
    assert reason in info.value.reason, str(info.value)


def test_kubernetes_config_defaults() -> None:
    cfg = parse_config(base_config(services=kube_service(image="ghcr.io/acme/api:{version}")))
    k = cfg.services["api"].kubernetes
    assert k is not None
    assert (k.namespace("production"), k.deployment_name("api"), k.container_names("api")) == (
        "production", "api", ["api"])
    assert k.progress_deadline.total_seconds() == 600
    assert k.version_of("ghcr.io/acme/api:v1.2.3") == "v1.2.3"
    assert k.version_of("ghcr.io/acme/web:v1.2.3") is None
    assert cfg.kubernetes == KubernetesAccessConfig()
