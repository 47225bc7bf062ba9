"""devtools.fake_k8s's pod logs and events, through the real ``kubernetes`` client: the API
server's and the kubelet's answers (devtools/fake_k8s/logs.py and events.py cite them)."""

# The client's generated models type every field Optional; these tests read fields the fake
# always fills. mypy: disable-error-code="union-attr, index, arg-type"

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devtools.fake_k8s import FakeKubernetes

NS = "production"
START = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.01, clock=clock) as k8s:
        k8s.add_deployment(NS, "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"},
            {"name": "sidecar", "image": "envoy:1.30"}], replicas=2)
        yield k8s


@pytest.fixture
def core(fake: FakeKubernetes, tmp_path: Path) -> Iterator[client.CoreV1Api]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=fake.write_kubeconfig(tmp_path / "kubeconfig"),
                            client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        yield client.CoreV1Api(api)


def status(e: ApiException) -> tuple[int, str]:
    return int(e.status or 0), str(json.loads(e.body)["message"])


def a_pod(fake: FakeKubernetes) -> str:
    return str(fake.pods(NS, "app=api")[0]["metadata"]["name"])


def test_log_requests_the_api_server_refuses(fake: FakeKubernetes,
                                             core: client.CoreV1Api) -> None:
    pod = a_pod(fake)
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log(pod, NS)
    assert status(info.value) == (400, f"a container name must be specified for pod {pod}, "
                                       "choose one of: [api sidecar]")
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log(pod, NS, container="web")
    assert status(info.value) == (400, f"container web is not valid for pod {pod}")
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log(pod, NS, container="api", limit_bytes=0)
    assert status(info.value) == (422, f'PodLogOptions "{pod}" is invalid: limitBytes: '
                                       "Invalid value: 0: must be greater than 0")
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log("api-gone-xxxxx", NS, container="api")
    assert status(info.value) == (404, 'pods "api-gone-xxxxx" not found')
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log(pod, NS, container="api", previous=True)
    assert status(info.value) == (400, f'previous terminated container "api" in pod "{pod}" '
                                       "not found")


def test_log_options_on_the_fake_clock(fake: FakeKubernetes, clock: Clock,
                                       core: client.CoreV1Api) -> None:
    pod = a_pod(fake)
    fake.set_logs(NS, "api", lines=[(START - timedelta(minutes=30), "a\nb"), "c\nd"])
    assert core.read_namespaced_pod_log(pod, NS, container="api") == "a\nb\nc\nd\n"
    assert core.read_namespaced_pod_log(pod, NS, container="api", tail_lines=3) == "b\nc\nd\n"
    assert core.read_namespaced_pod_log(pod, NS, container="api",
                                        since_seconds=600) == "c\nd\n"
    clock.now = START + timedelta(hours=1)
    assert core.read_namespaced_pod_log(pod, NS, container="api", since_seconds=600) == ""
    # limitBytes cuts the tail's first bytes, mid-line (the kubelet's LimitWriter)
    assert core.read_namespaced_pod_log(pod, NS, container="api", tail_lines=2,
                                        limit_bytes=3) == "c\nd"
    # the sidecar logs what the fake says it logs, not the first container's lines
    assert "sidecar ready" in core.read_namespaced_pod_log(pod, NS, container="sidecar")


def test_an_unscheduled_pod_has_an_empty_log_and_a_failed_scheduling_event(
    fake: FakeKubernetes, core: client.CoreV1Api,
) -> None:
    fake.fail_next_rollout(NS, "api", "deadline")
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "api", "image": "ghcr.io/acme/api:v1.2.3"}]}}}}
    client.AppsV1Api(core.api_client).patch_namespaced_deployment("api", NS, patch)
    fake.wait_until(lambda f: any(not p["spec"].get("nodeName") for p in f.pods(NS, "app=api")))
    pod = next(p for p in fake.pods(NS, "app=api") if not p["spec"].get("nodeName"))
    name = pod["metadata"]["name"]
    assert core.read_namespaced_pod_log(name, NS, container="api") == ""
    events = core.list_namespaced_event(
        NS, field_selector=f"involvedObject.kind=Pod,involvedObject.name={name}").items
    failed = [e for e in events if e.reason == "FailedScheduling"]
    assert failed and failed[0].type == "Warning"
    assert failed[0].reporting_component == "default-scheduler"
    assert failed[0].event_time is not None and failed[0].last_timestamp is None
    assert failed[0].message.startswith("0/3 nodes are available")


def test_events_list_with_field_selectors_limit_and_continue(
    fake: FakeKubernetes, core: client.CoreV1Api,
) -> None:
    scaling = core.list_namespaced_event(
        NS, field_selector="involvedObject.kind=Deployment,involvedObject.name=api").items
    rs = fake.objects("replicasets", NS)[0]["metadata"]["name"]
    assert {e.message for e in scaling} == {f"Scaled up replica set {rs} to 1 from 0",
                                           f"Scaled up replica set {rs} to 2 from 1"}
    assert all(e.source.component == "deployment-controller" and e.count == 1
               and e.last_timestamp is not None for e in scaling)
    every = core.list_namespaced_event(NS).items
    first = core.list_namespaced_event(NS, limit=2)
    assert len(first.items) == 2 and first.metadata._continue
    assert first.metadata.remaining_item_count == len(every) - 2
    rest = core.list_namespaced_event(NS, _continue=first.metadata._continue)
    assert [e.metadata.name for e in first.items + rest.items] == [
        e.metadata.name for e in every]


def test_a_crash_loops_back_offs_are_counted_on_one_event(
    fake: FakeKubernetes, core: client.CoreV1Api,
) -> None:
    fake.fail_next_rollout(NS, "api", "crash_loop")
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "api", "image": "ghcr.io/acme/api:v1.2.3"}]}}}}
    client.AppsV1Api(core.api_client).patch_namespaced_deployment("api", NS, patch)

    def counted(f: FakeKubernetes) -> bool:
        return any(e["reason"] == "BackOff" and e["count"] >= 2 for e in f.recorded_events(NS))
    fake.wait_until(counted, timeout=10)
    backoff = [e for e in core.list_namespaced_event(
        NS, field_selector="involvedObject.kind=Pod").items if e.reason == "BackOff"]
    pod = backoff[0].involved_object
    assert backoff[0].type == "Warning"
    assert backoff[0].message == (f"Back-off restarting failed container api in pod "
                                  f"{pod.name}_{NS}({pod.uid})")
    assert pod.field_path == "spec.containers{api}"
    assert backoff[0].last_timestamp >= backoff[0].first_timestamp


def test_forbidden_events_and_logs_answer_403(fake: FakeKubernetes,
                                              core: client.CoreV1Api) -> None:
    fake.forbid("list", "events", NS)
    with pytest.raises(ApiException) as info:
        core.list_namespaced_event(NS)
    assert status(info.value)[0] == 403
    assert 'cannot list resource "events" in API group ""' in status(info.value)[1]
    fake.forbid("get", "pods/log", NS)
    with pytest.raises(ApiException) as info:
        core.read_namespaced_pod_log(a_pod(fake), NS, container="api")
    assert 'cannot get resource "pods/log"' in status(info.value)[1]
