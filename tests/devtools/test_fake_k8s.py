"""Tests for devtools.fake_k8s: the real ``kubernetes`` client against FakeKubernetes."""

# The client's generated models type every field Optional and kubernetes.watch is untyped;
# these tests read fields the fake always fills, so mypy's Optional narrowing is relaxed here.
# mypy: disable-error-code="union-attr, index, arg-type, operator, no-untyped-call"

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from devtools.fake_k8s import FAKE_USER, FakeKubernetes

NS = "production"
OLD_IMAGE = "ghcr.io/acme/api:v1.2.2"
NEW_IMAGE = "ghcr.io/acme/api:v1.2.3"
SIDECAR = "envoy:1.30"

T = TypeVar("T")


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.01) as k8s:
        k8s.add_deployment(
            NS,
            "api",
            containers=[{"name": "api", "image": OLD_IMAGE}, {"name": "sidecar", "image": SIDECAR}],
            env=[{"name": "DJANGO_SETTINGS_MODULE", "value": "acme.settings.production"}],
        )
        yield k8s


@pytest.fixture
def api_client(fake: FakeKubernetes, tmp_path: Path) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=fake.write_kubeconfig(tmp_path / "kubeconfig"),
        client_configuration=configuration,
    )
    with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def batch(api_client: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)


def eventually(probe: Callable[[], T | None], timeout: float = 3.0) -> T:
    """Call ``probe`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.01)


def image_patch(image: str, container: str = "api") -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}


def condition(dep: client.V1Deployment, ctype: str) -> client.V1DeploymentCondition | None:
    return next((c for c in dep.status.conditions or [] if c.type == ctype), None)


def new_pods(core: client.CoreV1Api, image: str) -> list[client.V1Pod]:
    pods = core.list_namespaced_pod(NS, label_selector="app=api").items
    return [p for p in pods if p.spec.containers[0].image == image]


def status_body(exc: ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert body["kind"] == "Status" and body["code"] == exc.status
    return body  # type: ignore[no-any-return]


def take(count: int, w: watch.Watch, func: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """The first ``count`` events of a watch (bounded by a 5 s server-side timeout)."""
    events: list[Any] = []
    for event in w.stream(func, *args, timeout_seconds=5, **kwargs):
        events.append(event)
        if len(events) == count:
            w.stop()
    return events


# ---------------------------------------------------------------------------- reading


def test_kubeconfig_points_the_client_at_the_fake(
    fake: FakeKubernetes, api_client: client.ApiClient, tmp_path: Path
) -> None:
    kubeconfig = json.loads((tmp_path / "kubeconfig").read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == fake.base_url
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"
    assert kubeconfig["contexts"][0]["context"]["namespace"] == "default"
    version = client.VersionApi(api_client).get_code()
    assert version.git_version.startswith("v1.")
    assert fake.recorded("GET", "/version")


def test_read_deployment_is_complete(apps: client.AppsV1Api, fake: FakeKubernetes) -> None:
    dep = apps.read_namespaced_deployment("api", NS)

    assert (dep.api_version, dep.kind) == ("apps/v1", "Deployment")
    meta = dep.metadata
    assert (meta.name, meta.namespace, meta.generation) == ("api", NS, 1)
    assert meta.uid and meta.resource_version.isdigit() and meta.creation_timestamp is not None
    assert meta.labels == {"app": "api"}
    assert meta.annotations["deployment.kubernetes.io/revision"] == "1"
    pod_spec = dep.spec.template.spec
    assert [(c.name, c.image) for c in pod_spec.containers] == [
        ("api", OLD_IMAGE),
        ("sidecar", SIDECAR),
    ]
    assert pod_spec.containers[0].env[0].name == "DJANGO_SETTINGS_MODULE"
    assert pod_spec.containers[1].env is None
    assert pod_spec.service_account_name == "api"
    assert dep.spec.selector.match_labels == {"app": "api"}
    assert dep.spec.progress_deadline_seconds == 600
    status = dep.status
    assert status.observed_generation == 1
    assert (status.replicas, status.updated_replicas, status.ready_replicas) == (3, 3, 3)
    assert status.available_replicas == 3 and status.unavailable_replicas is None
    assert [c.type for c in status.conditions] == ["Available", "Progressing"]
    progressing = condition(dep, "Progressing")
    assert progressing is not None and progressing.reason == "NewReplicaSetAvailable"
    assert progressing.last_update_time is not None
    assert fake.deployment(NS, "api")["metadata"]["uid"] == meta.uid


def test_timestamps_and_the_date_header_come_from_the_fakes_clock(tmp_path: Path) -> None:
    now = [datetime(2025, 3, 4, 10, 0, 7, 500000, tzinfo=UTC)]
    with FakeKubernetes(tick=0.01, clock=lambda: now[0]) as k8s:
        k8s.add_deployment(NS, "api", containers=[{"name": "api", "image": OLD_IMAGE}])
        configuration = client.Configuration()
        config.load_kube_config(config_file=k8s.write_kubeconfig(tmp_path / "kubeconfig"),
                                client_configuration=configuration)
        with client.ApiClient(configuration) as api:
            apps = client.AppsV1Api(api)
            dep = apps.read_namespaced_deployment("api", NS)
            assert dep.metadata.creation_timestamp == now[0].replace(microsecond=0)
            assert {c.last_update_time for c in dep.status.conditions} == {
                now[0].replace(microsecond=0)}
            now[0] += timedelta(minutes=10)
            raw: Any = apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE),
                                                        _preload_content=False)
            assert raw.headers["Date"] == "Tue, 04 Mar 2025 10:10:07 GMT"


def test_missing_deployment_is_404(apps: client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as info:
        apps.read_namespaced_deployment("nope", NS)
    assert info.value.status == 404
    body = status_body(info.value)
    assert body["reason"] == "NotFound"
    assert body["message"] == 'deployments.apps "nope" not found'


def test_list_by_label_selector(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    fake.add_deployment(
        NS,
        "worker",
        containers=[{"name": "worker", "image": "ghcr.io/acme/worker:v1"}],
        replicas=2,
        labels={"app": "worker", "tier": "jobs"},
    )
    api_pods = core.list_namespaced_pod(NS, label_selector="app=api").items
    assert len(api_pods) == 3
    assert {p.metadata.labels["app"] for p in api_pods} == {"api"}
    for pod in api_pods:
        assert pod.status.phase == "Running"
        statuses = {s.name: s for s in pod.status.container_statuses}
        assert statuses["api"].ready and statuses["api"].restart_count == 0
        assert statuses["api"].state.running.started_at is not None
        assert statuses["sidecar"].image == SIDECAR
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"

    worker_pods = core.list_namespaced_pod(NS, label_selector="app=worker,tier=jobs").items
    assert len(worker_pods) == 2
    both = core.list_namespaced_pod(NS, label_selector="app in (api,worker)").items
    assert len(both) == 5
    assert core.list_namespaced_pod(NS, label_selector="app=worker,tier!=jobs").items == []
    assert core.list_namespaced_pod("staging", label_selector="app=api").items == []

    deps = apps.list_namespaced_deployment(NS, label_selector="tier=jobs").items
    assert [d.metadata.name for d in deps] == ["worker"]

    rs_list = apps.list_namespaced_replica_set(NS, label_selector="app=api").items
    assert len(rs_list) == 1
    rs = rs_list[0]
    template_hash = rs.metadata.labels["pod-template-hash"]
    assert rs.metadata.name == f"api-{template_hash}"
    assert rs.spec.selector.match_labels == {"app": "api", "pod-template-hash": template_hash}
    owner = rs.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.controller) == ("Deployment", "api", True)
    assert owner.uid == apps.read_namespaced_deployment("api", NS).metadata.uid
    assert (rs.status.replicas, rs.status.ready_replicas) == (3, 3)
    pod = core.read_namespaced_pod(api_pods[0].metadata.name, NS)
    assert pod.metadata.labels["pod-template-hash"] == template_hash

    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod(NS, label_selector="app in (api")
    assert info.value.status == 400


# ---------------------------------------------------------------------------- writes


def test_strategic_merge_patch_of_one_container_leaves_the_sidecar(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    patch = image_patch(NEW_IMAGE)
    patch["metadata"] = {"annotations": {"kubernetes.io/change-cause": "deploybot #42"}}
    dep = apps.patch_namespaced_deployment("api", NS, patch)

    containers = {c.name: c for c in dep.spec.template.spec.containers}
    assert containers["api"].image == NEW_IMAGE
    assert containers["sidecar"].image == SIDECAR
    assert containers["api"].env[0].value == "acme.settings.production"  # merged, not replaced
    assert dep.metadata.generation == 2
    assert dep.metadata.annotations["kubernetes.io/change-cause"] == "deploybot #42"
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert dep.status.observed_generation == 1  # the controller has not seen it yet

    (request,) = fake.recorded("PATCH", "/deployments/api")
    assert request.content_type == "application/strategic-merge-patch+json"
    assert request.body == patch
    assert request.path == f"/apis/apps/v1/namespaces/{NS}/deployments/api"

    # env is merged by name too; a null deletes a key.
    env_patch = {
        "metadata": {"annotations": {"kubernetes.io/change-cause": None}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "api", "env": [{"name": "FEATURE_X", "value": "1"}]}]
                }
            }
        },
    }
    dep = apps.patch_namespaced_deployment("api", NS, env_patch)
    api = dep.spec.template.spec.containers[0]
    assert [e.name for e in api.env] == ["DJANGO_SETTINGS_MODULE", "FEATURE_X"]
    assert api.image == NEW_IMAGE
    assert "kubernetes.io/change-cause" not in dep.metadata.annotations
    assert fake.deployment(NS, "api")["spec"]["template"]["spec"]["containers"][1] == {
        "name": "sidecar",
        "image": SIDECAR,
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


def test_merge_patch_and_json_patch(fake: FakeKubernetes, apps: client.AppsV1Api) -> None:
    dep = apps.patch_namespaced_deployment(
        "api",
        NS,
        {"metadata": {"annotations": {"deploybot/id": "7"}}},
        _content_type="application/merge-patch+json",
    )
    assert dep.metadata.annotations["deploybot/id"] == "7"
    assert dep.metadata.generation == 1  # metadata only: no new generation

    ops = [
        {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "sidecar"},
        {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "envoy:1.31"},
        {"op": "add", "path": "/metadata/labels/team", "value": "payments"},
    ]
    dep = apps.patch_namespaced_deployment("api", NS, ops)
    assert [c.image for c in dep.spec.template.spec.containers] == [OLD_IMAGE, "envoy:1.31"]
    assert dep.metadata.labels == {"app": "api", "team": "payments"}
    assert dep.metadata.generation == 2
    content_types = [r.content_type for r in fake.recorded("PATCH")]
    assert content_types == ["application/merge-patch+json", "application/json-patch+json"]

    with pytest.raises(ApiException) as info:
        apps.patch_namespaced_deployment(
            "api", NS, [{"op": "test", "path": "/spec/replicas", "value": 99}]
        )
    assert info.value.status == 422


def test_put_replaces_and_rejects_a_stale_resource_version(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    dep = apps.read_namespaced_deployment("api", NS)
    dep.spec.replicas = 4
    dep.status.replicas = 99  # status is ignored on the main resource
    replaced = apps.replace_namespaced_deployment("api", NS, dep)
    assert replaced.spec.replicas == 4
    assert replaced.metadata.generation == 2
    assert int(replaced.metadata.resource_version) > int(dep.metadata.resource_version)
    assert replaced.status.replicas == 3

    dep.spec.replicas = 5  # still carries the old resourceVersion
    with pytest.raises(ApiException) as info:
        apps.replace_namespaced_deployment("api", NS, dep)
    assert info.value.status == 409
    assert "the object has been modified" in status_body(info.value)["message"]

    # The controller scales to the new replica count.
    eventually(lambda: fake.deployment(NS, "api")["status"].get("readyReplicas") == 4)
    assert fake.deployment(NS, "api")["status"]["observedGeneration"] == 2


# ---------------------------------------------------------------------------- the controller


def test_controller_completes_a_rollout_seen_through_a_watch(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    before = apps.read_namespaced_deployment("api", NS)
    patched = apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))

    updated: list[int] = []
    reasons: list[str] = []
    w = watch.Watch()
    for event in w.stream(
        apps.list_namespaced_deployment,
        NS,
        field_selector="metadata.name=api",
        resource_version=patched.metadata.resource_version,
        timeout_seconds=5,
    ):
        assert event["type"] == "MODIFIED"
        dep = event["object"]
        assert isinstance(dep, client.V1Deployment)
        if dep.status.observed_generation != 2:
            continue
        updated.append(dep.status.updated_replicas or 0)
        progressing = condition(dep, "Progressing")
        assert progressing is not None
        reasons.append(progressing.reason)
        if progressing.reason == "NewReplicaSetAvailable":
            w.stop()

    assert updated == sorted(updated) and updated[-1] == 3
    assert {1, 2, 3} <= set(updated)
    # The first pass after the patch creates the ReplicaSet (getNewReplicaSet sets
    # NewReplicaSetCreated); the pods it scales up are progress on the passes after it.
    assert reasons[0] == "NewReplicaSetCreated" and reasons[-1] == "NewReplicaSetAvailable"
    assert "ReplicaSetUpdated" in reasons
    final = apps.read_namespaced_deployment("api", NS)
    assert (final.status.replicas, final.status.ready_replicas) == (3, 3)
    assert final.metadata.annotations["deployment.kubernetes.io/revision"] == "2"

    pods = core.list_namespaced_pod(NS, label_selector="app=api").items
    assert len(pods) == 3
    assert {p.spec.containers[0].image for p in pods} == {NEW_IMAGE}
    assert {p.spec.containers[1].image for p in pods} == {SIDECAR}
    assert all(p.status.container_statuses[0].image == NEW_IMAGE for p in pods)

    rs_by_replicas = {
        rs.spec.replicas: rs
        for rs in apps.list_namespaced_replica_set(NS, label_selector="app=api").items
    }
    assert set(rs_by_replicas) == {0, 3}
    assert rs_by_replicas[3].metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    old_hash = apps.list_namespaced_replica_set(NS).items
    assert len(old_hash) == 2
    assert before.metadata.uid == final.metadata.uid


def test_image_pull_failure(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    bad = "ghcr.io/acme/api:v9.9.9"
    fake.fail_next_rollout(NS, "api", "image_pull")
    apps.patch_namespaced_deployment("api", NS, image_patch(bad))

    (pod,) = eventually(lambda: new_pods(core, bad))
    statuses = {s.name: s for s in pod.status.container_statuses}
    waiting = statuses["api"].state.waiting
    assert waiting.reason == "ImagePullBackOff"
    assert waiting.message == f'Back-off pulling image "{bad}"'
    assert not statuses["api"].ready and statuses["sidecar"].ready
    assert pod.status.phase == "Pending"

    time.sleep(0.15)  # many ticks: the rollout must not progress
    dep = apps.read_namespaced_deployment("api", NS)
    assert dep.status.observed_generation == 2
    assert dep.status.updated_replicas == 1
    assert dep.status.ready_replicas == 3  # the old pods keep serving
    assert dep.status.unavailable_replicas == 1
    progressing = condition(dep, "Progressing")
    assert progressing is not None and progressing.reason == "ReplicaSetUpdated"
    assert len(new_pods(core, OLD_IMAGE)) == 3

    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log(pod.metadata.name, NS, container="api")
    assert info.value.status == 400
    assert "waiting to start" in status_body(info.value)["message"]


def test_a_standing_rule_fails_every_rollout_to_a_matching_image_and_no_other(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    fake.fail_rollouts_to(NS, "api", lambda image: image.endswith("-bad"), "image_pull")

    def waiting_reason(image: str) -> str | None:
        pods = new_pods(core, image)
        state = pods[0].status.container_statuses[0].state if pods else None
        return state.waiting.reason if state is not None and state.waiting else None

    for bad in ("ghcr.io/acme/api:v1.2.3-bad", "ghcr.io/acme/api:v1.2.4-bad"):  # not one-shot
        apps.patch_namespaced_deployment("api", NS, image_patch(bad))
        assert eventually(lambda bad=bad: waiting_reason(bad)) == "ImagePullBackOff"

    apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))
    done = eventually(lambda: condition(apps.read_namespaced_deployment("api", NS),
                                        "Progressing").reason == "NewReplicaSetAvailable")
    assert done
    assert len(new_pods(core, NEW_IMAGE)) == 3
    assert all(p.status.container_statuses[0].ready for p in new_pods(core, NEW_IMAGE))

    # The rollout that creates a Deployment is exempt: it starts healthy.
    fake.fail_rollouts_to("staging", "web", lambda image: True, "image_pull")
    fake.add_deployment("staging", "web", containers=[{"name": "web", "image": "web:v1-bad"}])
    assert fake.deployment("staging", "web")["status"]["readyReplicas"] == 3
    with pytest.raises(ValueError, match="unknown failure mode"):
        fake.fail_rollouts_to(NS, "api", lambda image: True, "typo")  # type: ignore[arg-type]


def test_crash_loop_failure_then_rollback(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    fake.fail_next_rollout(NS, "api", "crash_loop")
    apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))

    def crashing() -> client.V1ContainerStatus | None:
        pods = new_pods(core, NEW_IMAGE)
        if not pods:
            return None
        status: client.V1ContainerStatus = pods[0].status.container_statuses[0]
        return status if status.restart_count >= 3 else None

    status = eventually(crashing)
    assert status.name == "api" and not status.ready
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert "restarting failed container=api" in status.state.waiting.message
    terminated = status.last_state.terminated
    assert (terminated.exit_code, terminated.reason) == (1, "Error")
    pod = new_pods(core, NEW_IMAGE)[0]
    assert pod.status.phase == "Running"
    assert "RuntimeError" in core.read_namespaced_pod_log(pod.metadata.name, NS, container="api")
    later = eventually(
        lambda: (s := crashing()) is not None and s.restart_count > status.restart_count
    )
    assert later
    dep = apps.read_namespaced_deployment("api", NS)
    assert dep.status.updated_replicas == 1 and dep.status.ready_replicas == 3

    # Roll back to the previous template: no failure unless armed again.
    apps.patch_namespaced_deployment("api", NS, image_patch(OLD_IMAGE))

    def rolled_back() -> bool:
        d = apps.read_namespaced_deployment("api", NS)
        c = condition(d, "Progressing")
        return (
            d.status.observed_generation == 3
            and c is not None
            and c.reason == "NewReplicaSetAvailable"
        )

    eventually(rolled_back)
    pods = core.list_namespaced_pod(NS, label_selector="app=api").items
    assert len(pods) == 3 and {p.spec.containers[0].image for p in pods} == {OLD_IMAGE}
    assert all(p.status.container_statuses[0].ready for p in pods)
    replicasets = apps.list_namespaced_replica_set(NS, label_selector="app=api").items
    revisions = {
        rs.spec.template.spec.containers[0].image: (
            rs.spec.replicas,
            rs.metadata.annotations["deployment.kubernetes.io/revision"],
        )
        for rs in replicasets
    }
    assert revisions == {OLD_IMAGE: (3, "3"), NEW_IMAGE: (0, "2")}


def test_progress_deadline_exceeded(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    fake.fail_next_rollout(NS, "api", "deadline")
    apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))

    def exceeded() -> client.V1DeploymentCondition | None:
        c = condition(apps.read_namespaced_deployment("api", NS), "Progressing")
        return c if c is not None and c.reason == "ProgressDeadlineExceeded" else None

    progressing = eventually(exceeded)
    assert progressing.status == "False"
    assert progressing.message.endswith("has timed out progressing.")
    (pod,) = new_pods(core, NEW_IMAGE)
    assert pod.status.phase == "Pending"
    scheduled = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    assert apps.read_namespaced_deployment("api", NS).status.ready_replicas == 3


def test_a_rollback_after_a_stuck_rollout_keeps_the_stale_deadline_on_its_first_pass(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    """kube-controller-manager's first sync after a patch back to a template whose ReplicaSet
    exists (getNewReplicaSet, existing RS: no condition of its own) ends in syncRolloutStatus
    with no progress yet, so SetDeploymentCondition keeps the ProgressDeadlineExceeded
    condition naming the stuck ReplicaSet while observedGeneration moves on. The condition is
    reset (fresh timestamps) only on a later pass that sees progress or completion."""
    fake.fail_next_rollout(NS, "api", "deadline")
    apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))

    def exceeded() -> client.V1DeploymentCondition | None:
        c = condition(apps.read_namespaced_deployment("api", NS), "Progressing")
        return c if c is not None and c.reason == "ProgressDeadlineExceeded" else None

    stale = eventually(exceeded)
    replicasets = {rs.spec.template.spec.containers[0].image: rs.metadata
                   for rs in apps.list_namespaced_replica_set(NS).items}
    bad, old = replicasets[NEW_IMAGE].name, replicasets[OLD_IMAGE].name
    assert stale.message == f'ReplicaSet "{bad}" has timed out progressing.'

    patched = apps.patch_namespaced_deployment("api", NS, image_patch(OLD_IMAGE))
    seen: list[tuple[int, str, str, Any, Any]] = []
    w = watch.Watch()
    for event in w.stream(apps.list_namespaced_deployment, NS, field_selector="metadata.name=api",
                          resource_version=patched.metadata.resource_version,
                          timeout_seconds=5):
        dep = event["object"]
        c = condition(dep, "Progressing")
        seen.append((dep.status.observed_generation, c.reason, c.message,
                     c.last_update_time, c.last_transition_time))
        if c.reason == "NewReplicaSetAvailable":
            w.stop()

    generation = patched.metadata.generation
    first = next(s for s in seen if s[0] == generation)
    assert first[1:] == ("ProgressDeadlineExceeded", stale.message, stale.last_update_time,
                         stale.last_transition_time)
    # The ReplicaSet rolled back to still ran every pod: once the stuck pod is gone the
    # rollout is complete, and the condition says so (DeploymentComplete comes first).
    reset = next(s for s in seen if s[0] == generation and s[1] != "ProgressDeadlineExceeded")
    assert reset[1:3] == ("NewReplicaSetAvailable",
                          f'ReplicaSet "{old}" has successfully progressed.')
    assert reset[3] >= stale.last_update_time and reset[4] >= stale.last_transition_time
    # Rolled back to: a new revision, the old one kept in revision-history
    # (SetNewReplicaSetAnnotations).
    reused = apps.read_namespaced_replica_set(old, NS).metadata.annotations
    assert (reused["deployment.kubernetes.io/revision"],
            reused["deployment.kubernetes.io/revision-history"]) == ("3", "1")


def test_crash_after_ready(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    fake.crash_after_ready(NS, "api", restarts=2)
    apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))

    def completed() -> bool:
        d = apps.read_namespaced_deployment("api", NS)
        c = condition(d, "Progressing")
        return (
            d.status.observed_generation == 2
            and c is not None
            and (c.reason == "NewReplicaSetAvailable")
        )

    eventually(completed)

    def all_crashed() -> list[client.V1Pod]:
        pods = new_pods(core, NEW_IMAGE)
        statuses = [p.status.container_statuses[0] for p in pods]
        return pods if len(pods) == 3 and all(s.restart_count == 2 for s in statuses) else []

    pods = eventually(all_crashed)
    for pod in pods:
        api, sidecar = list(pod.status.container_statuses or [])
        assert not api.ready and api.state.waiting.reason == "CrashLoopBackOff"
        assert api.last_state.terminated.exit_code == 1
        assert sidecar.ready and sidecar.restart_count == 0
        ready = next(c for c in pod.status.conditions if c.type == "Ready")
        assert ready.status == "False"
    dep = apps.read_namespaced_deployment("api", NS)
    assert dep.status.ready_replicas is None and dep.status.updated_replicas == 3
    available = condition(dep, "Available")
    assert available is not None and available.status == "False"
    time.sleep(0.1)  # restarts stop at the requested count
    assert {p.status.container_statuses[0].restart_count for p in new_pods(core, NEW_IMAGE)} == {2}


# ---------------------------------------------------------------------------- watches


def test_watch_resumes_from_a_resource_version_and_gets_410_after_compact(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    start = apps.read_namespaced_deployment("api", NS).metadata.resource_version
    for n in (1, 2):
        apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"n": str(n)}}})

    events = take(
        2,
        watch.Watch(),
        apps.list_namespaced_deployment,
        NS,
        field_selector="metadata.name=api",
        resource_version=start,
    )
    assert [(e["type"], e["object"].metadata.annotations["n"]) for e in events] == [
        ("MODIFIED", "1"),
        ("MODIFIED", "2"),
    ]
    latest = events[-1]["object"].metadata.resource_version

    fake.compact()

    # On the wire: an ERROR event carrying a 410 Status.
    raw: Any = apps.list_namespaced_deployment(
        NS, watch=True, resource_version=start, timeout_seconds=1, _preload_content=False
    )
    line = json.loads(raw.data.decode().splitlines()[0])
    assert line["type"] == "ERROR"
    assert line["object"]["kind"] == "Status"
    assert (line["object"]["code"], line["object"]["reason"]) == (410, "Expired")

    # The client raises ApiException(410) (after its one automatic retry when unbounded).
    fake.clear_requests()
    with pytest.raises(ApiException) as info:
        list(watch.Watch().stream(apps.list_namespaced_deployment, NS, resource_version=start))
    assert info.value.status == 410
    assert len([r for r in fake.requests if r.is_watch]) == 2

    # Watching from a current resourceVersion still works.
    apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"n": "3"}}})
    events = take(1, watch.Watch(), apps.list_namespaced_deployment, NS, resource_version=latest)
    assert [e["object"].metadata.annotations["n"] for e in events] == ["3"]


def test_watch_without_resource_version_lists_then_follows(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    w = watch.Watch()
    seen: list[tuple[str, str]] = []
    for event in w.stream(apps.list_namespaced_deployment, NS, timeout_seconds=3):
        seen.append((event["type"], event["object"].metadata.annotations.get("n", "-")))
        if len(seen) == 1:
            apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"n": "1"}}})
        else:
            w.stop()
    assert seen == [("ADDED", "-"), ("MODIFIED", "1")]


def test_dropped_watch_is_resumed_by_the_client(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    start = apps.read_namespaced_deployment("api", NS).metadata.resource_version
    for n in (1, 2, 3):
        apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"n": str(n)}}})
    fake.drop_watches(after_events=1)  # no watch open: applies to the next one
    fake.clear_requests()

    w = watch.Watch()
    seen: list[str] = []
    resource_versions: list[str] = []
    for event in w.stream(apps.list_namespaced_deployment, NS, resource_version=start):
        seen.append(event["object"].metadata.annotations["n"])
        resource_versions.append(event["object"].metadata.resource_version)
        if len(seen) == 3:
            w.stop()
    assert seen == ["1", "2", "3"]
    watches = [r for r in fake.requests if r.is_watch]
    assert len(watches) == 2
    assert watches[0].query["resourceVersion"] == start
    assert watches[1].query["resourceVersion"] == resource_versions[0]


def test_drop_applies_to_an_open_watch_and_can_be_abrupt(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    fake.clear_requests()
    w = watch.Watch()
    seen: list[str] = []
    for event in w.stream(apps.list_namespaced_deployment, NS):
        seen.append(event["type"])
        if len(seen) == 1:
            fake.drop_watches(after_events=1)  # the open stream ends after one more event
            apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"n": "1"}}})
        elif len(seen) == 2:
            apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"n": "2"}}})
        else:
            w.stop()
    assert seen == ["ADDED", "MODIFIED", "MODIFIED"]
    assert len([r for r in fake.requests if r.is_watch]) == 2
    assert fake.open_watches == 0

    fake.drop_watches(after_events=1, abrupt=True)  # no watch open: applies to the next one
    received: list[str] = []
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in watch.Watch().stream(apps.list_namespaced_deployment, NS):
            received.append(event["type"])
            apps.patch_namespaced_deployment("api", NS, {"metadata": {"annotations": {"n": "x"}}})
    assert received == ["ADDED"]


# ---------------------------------------------------------------------------- injected errors


def test_fail_requests_surfaces_as_api_exception(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    fake.fail_requests("PATCH", r"/deployments/api$", status=500)
    with pytest.raises(ApiException) as info:
        apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))
    assert info.value.status == 500
    assert status_body(info.value)["reason"] == "InternalError"
    assert fake.deployment(NS, "api")["spec"]["template"]["spec"]["containers"][0]["image"] == (
        OLD_IMAGE
    )
    # Only once: the retry goes through.
    apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))
    assert len(fake.recorded("PATCH")) == 2

    fake.fail_requests("GET", "/deployments/api", status=503, times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as info:
            apps.read_namespaced_deployment("api", NS)
        assert info.value.status == 503
    assert apps.read_namespaced_deployment("api", NS).metadata.name == "api"

    fake.fail_requests("WATCH", "/deployments", status=500)
    assert apps.list_namespaced_deployment(NS).items  # a plain list is not a watch
    with pytest.raises(ApiException) as info:
        list(watch.Watch().stream(apps.list_namespaced_deployment, NS, timeout_seconds=1))
    assert info.value.status == 500


def test_forbid_answers_403_with_an_rbac_message(
    fake: FakeKubernetes, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    fake.forbid("patch", "deployments", NS)
    fake.forbid("list", "pods", NS)
    with pytest.raises(ApiException) as info:
        apps.patch_namespaced_deployment("api", NS, image_patch(NEW_IMAGE))
    assert info.value.status == 403
    body = status_body(info.value)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        'deployments.apps "api" is forbidden: User "system:serviceaccount:deploybot:deploybot" '
        'cannot patch resource "deployments" in API group "apps" in the namespace "production"'
    )
    assert body["details"] == {"name": "api", "group": "apps", "kind": "deployments"}
    assert FAKE_USER in body["message"]

    with pytest.raises(ApiException) as info:
        core.list_namespaced_pod(NS)
    assert status_body(info.value)["message"] == (
        f'pods is forbidden: User "{FAKE_USER}" cannot list resource "pods" in API group "" '
        'in the namespace "production"'
    )
    # Other verbs and namespaces are unaffected.
    assert apps.read_namespaced_deployment("api", NS).metadata.name == "api"
    assert core.list_namespaced_pod("staging").items == []


def test_unreachable_refuses_connections_then_recovers(
    fake: FakeKubernetes, apps: client.AppsV1Api
) -> None:
    port = fake.port
    fake.set_unreachable(True)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as info:
        apps.read_namespaced_deployment("api", NS)
    assert "Connection refused" in str(info.value.reason)
    fake.set_unreachable(False)
    assert fake.port == port
    assert apps.read_namespaced_deployment("api", NS).metadata.name == "api"


def test_stop_ends_open_watches(fake: FakeKubernetes, apps: client.AppsV1Api) -> None:
    outcome: list[BaseException | None] = []

    def follow() -> None:
        try:
            for _ in watch.Watch().stream(apps.list_namespaced_deployment, NS):
                pass
            outcome.append(None)
        except BaseException as exc:  # the reset surfaces as a protocol/connection error
            outcome.append(exc)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    eventually(lambda: any(r.is_watch for r in fake.requests))
    fake.stop()
    # The watch has no timeout of its own: only stop() cutting it ends it (the join's bound
    # is against a hang), with an error, not a clean end of stream.
    thread.join(timeout=30)
    assert not thread.is_alive(), "stop() left the watch open"
    assert outcome and outcome[0] is not None


# ---------------------------------------------------------------------------- jobs


def migration_job(name: str, *, backoff_limit: int = 0) -> client.V1Job:
    return client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(name=name, labels={"app": "api", "deploybot/kind": "migrate"}),
        spec=client.V1JobSpec(
            backoff_limit=backoff_limit,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    service_account_name="api",
                    containers=[
                        client.V1Container(
                            name="migrate",
                            image=NEW_IMAGE,
                            command=["python", "manage.py", "migrate"],
                        )
                    ],
                )
            ),
        ),
    )


def test_job_succeeds_with_logs(
    fake: FakeKubernetes, batch: client.BatchV1Api, core: client.CoreV1Api
) -> None:
    logs = "Operations to perform:\n  Apply all migrations: orders\nRunning migrations:\n" + (
        "  Applying orders.0042_add_index... OK\n"
    )
    fake.set_job_outcome(NS, "api-migrate", succeed=True, logs=logs)
    created = batch.create_namespaced_job(NS, migration_job("api-migrate-42"))
    assert created.metadata.uid and created.spec.backoff_limit == 0
    assert created.spec.template.metadata.labels["job-name"] == "api-migrate-42"

    w = watch.Watch()
    final: client.V1Job | None = None
    for event in w.stream(
        batch.list_namespaced_job,
        NS,
        field_selector="metadata.name=api-migrate-42",
        resource_version=created.metadata.resource_version,
        timeout_seconds=5,
    ):
        job = event["object"]
        if job.status.succeeded:
            final = job
            w.stop()
    assert final is not None
    complete = next(c for c in final.status.conditions if c.type == "Complete")
    assert complete.status == "True"
    assert final.status.completion_time is not None and not final.status.active

    (pod,) = core.list_namespaced_pod(NS, label_selector="job-name=api-migrate-42").items
    assert pod.status.phase == "Succeeded"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 0
    assert pod.spec.service_account_name == "api"
    assert core.read_namespaced_pod_log(pod.metadata.name, NS) == logs
    assert core.read_namespaced_pod_log(pod.metadata.name, NS, tail_lines=1) == (
        "  Applying orders.0042_add_index... OK\n"
    )
    assert batch.read_namespaced_job("api-migrate-42", NS).status.succeeded == 1


def test_job_failure_and_delete(
    fake: FakeKubernetes, batch: client.BatchV1Api, core: client.CoreV1Api
) -> None:
    fake.set_job_outcome(NS, "api-migrate", succeed=True, logs="ok")
    fake.set_job_outcome(
        NS, "api-migrate-bad", succeed=False, logs="django.db.utils.ProgrammingError: boom"
    )
    batch.create_namespaced_job(NS, migration_job("api-migrate-bad-1", backoff_limit=1))

    def failed() -> client.V1Job | None:
        job = batch.read_namespaced_job("api-migrate-bad-1", NS)
        done = any(c.type == "Failed" for c in job.status.conditions or [])
        return job if done else None

    job = eventually(failed)
    assert job.status.failed == 2 and not job.status.succeeded
    cond = next(c for c in job.status.conditions if c.type == "Failed")
    assert (cond.status, cond.reason) == ("True", "BackoffLimitExceeded")
    pods = core.list_namespaced_pod(NS, label_selector="job-name=api-migrate-bad-1").items
    assert [p.status.phase for p in pods] == ["Failed", "Failed"]
    terminated = pods[0].status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (1, "Error")
    assert "ProgrammingError" in core.read_namespaced_pod_log(pods[0].metadata.name, NS)

    batch.delete_namespaced_job("api-migrate-bad-1", NS, propagation_policy="Background")
    with pytest.raises(ApiException) as info:
        batch.read_namespaced_job("api-migrate-bad-1", NS)
    assert info.value.status == 404
    assert core.list_namespaced_pod(NS, label_selector="job-name=api-migrate-bad-1").items == []
    assert fake.recorded("DELETE")[0].query["propagationPolicy"] == "Background"

    # generateName, and a default (orphaning) delete that leaves the pods behind.
    job = batch.create_namespaced_job(
        NS,
        {
            "metadata": {"generateName": "api-showmigrations-"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "m", "image": NEW_IMAGE}],
                    }
                }
            },
        },
    )
    name = job.metadata.name
    assert name.startswith("api-showmigrations-") and len(name) > len("api-showmigrations-")
    eventually(lambda: batch.read_namespaced_job(name, NS).status.succeeded == 1)
    batch.delete_namespaced_job(name, NS)
    (orphan,) = core.list_namespaced_pod(NS, label_selector=f"job-name={name}").items
    assert not orphan.metadata.owner_references


def test_job_validation(batch: client.BatchV1Api) -> None:
    bad = migration_job("api-migrate-x")
    bad.spec.template.spec.restart_policy = "Always"
    with pytest.raises(ApiException) as info:
        batch.create_namespaced_job(NS, bad)
    assert info.value.status == 422
    assert "restartPolicy" in status_body(info.value)["message"]

    batch.create_namespaced_job(NS, migration_job("api-migrate-y"))
    with pytest.raises(ApiException) as info:
        batch.create_namespaced_job(NS, migration_job("api-migrate-y"))
    assert info.value.status == 409
    assert status_body(info.value)["reason"] == "AlreadyExists"


def test_a_held_job_keeps_running_until_released(
    fake: FakeKubernetes, batch: client.BatchV1Api, core: client.CoreV1Api
) -> None:
    fake.set_job_outcome(NS, "api-migrate", succeed=True, logs="migrated\n")
    fake.hold_jobs(NS, "api-migrate-held")
    batch.create_namespaced_job(NS, migration_job("api-migrate-held-1"))
    batch.create_namespaced_job(NS, migration_job("api-migrate-free-1"))

    # Created together: the free one finishes, the held one is still running then.
    eventually(lambda: batch.read_namespaced_job("api-migrate-free-1", NS).status.succeeded)
    held = batch.read_namespaced_job("api-migrate-held-1", NS)
    assert held.status.active == 1 and not held.status.succeeded and not held.status.conditions
    (pod,) = core.list_namespaced_pod(NS, label_selector="job-name=api-migrate-held-1").items
    assert pod.status.phase == "Running"

    fake.release_jobs(NS, "api-migrate-held")
    done = eventually(
        lambda: batch.read_namespaced_job("api-migrate-held-1", NS).status.succeeded
    )
    assert done == 1
    (pod,) = core.list_namespaced_pod(NS, label_selector="job-name=api-migrate-held-1").items
    assert pod.status.phase == "Succeeded"  # the same pod, not a second attempt
    assert core.read_namespaced_pod_log(pod.metadata.name, NS) == "migrated\n"
