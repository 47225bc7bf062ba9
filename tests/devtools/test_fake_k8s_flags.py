"""The fake Kubernetes API's ConfigMaps and OpenFeature FeatureFlags (devtools.fake_k8s), as
the API server serves any object: seeded, read, replaced and patched through the real client,
a stale resourceVersion answered 409 Conflict with the API server's message, and
`write_concurrently` making the next write lose a race to another writer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devtools.fake_k8s import FakeKubernetes

NS = "production"
GROUP, VERSION, PLURAL = "core.openfeature.dev", "v1beta1", "featureflags"
SPEC = {"flagSpec": {"flags": {"a": {"state": "ENABLED", "variants": {"on": True, "off": False},
                                     "defaultVariant": "on"}}}}


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.05) as f:
        f.seed(PLURAL, NS, {"metadata": {"name": "flags"}, "spec": SPEC})
        f.seed("configmaps", NS, {"metadata": {"name": "flagd"}, "data": {"flags.json": "{}"}})
        yield f


@pytest.fixture
def api(fake: FakeKubernetes, tmp_path: Path) -> Iterator[client.ApiClient]:
    cfg = client.Configuration()
    config.load_kube_config(config_file=fake.write_kubeconfig(tmp_path / "kc"),
                            client_configuration=cfg)
    with client.ApiClient(cfg) as c:
        yield c


def test_a_feature_flag_is_served_as_the_crd_says(api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    obj: dict[str, Any] = custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL,
                                                              "flags")
    assert (obj["apiVersion"], obj["kind"]) == ("core.openfeature.dev/v1beta1", "FeatureFlag")
    assert obj["spec"] == SPEC and obj["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, NS, PLURAL)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["flags"]
    groups = client.ApisApi(api).get_api_versions().groups
    assert "core.openfeature.dev/v1beta1" in [g.preferred_version.group_version for g in groups]


def test_a_put_at_a_stale_resource_version_is_409(fake: FakeKubernetes,
                                                  api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "flags")
    obj["spec"]["flagSpec"]["flags"]["a"]["defaultVariant"] = "off"
    updated = custom.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "flags", obj)
    assert updated["metadata"]["generation"] == 2  # a spec change, as for any CRD's object
    with pytest.raises(ApiException) as info:  # `obj` still carries the old resourceVersion
        custom.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "flags", obj)
    assert info.value.status == 409
    assert json.loads(info.value.body)["message"] == (
        'Operation cannot be fulfilled on featureflags.core.openfeature.dev "flags": the '
        "object has been modified; please apply your changes to the latest version and try "
        "again")


def test_another_writer_wins_the_next_configmap_write(fake: FakeKubernetes,
                                                      api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    cm = core.read_namespaced_config_map("flagd", NS)
    assert "generation" not in fake.get("configmaps", NS, "flagd")["metadata"]
    fake.write_concurrently("configmaps", NS, "flagd",
                            lambda obj: obj["data"].update({"other": "theirs"}))
    cm.data["flags.json"] = '{"flags": {}}'
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("flagd", NS, cm)
    assert info.value.status == 409
    assert fake.get("configmaps", NS, "flagd")["data"] == {"flags.json": "{}",
                                                           "other": "theirs"}
    fresh = core.read_namespaced_config_map("flagd", NS)
    fresh.data["flags.json"] = '{"flags": {}}'
    core.replace_namespaced_config_map("flagd", NS, fresh)  # the retry on the fresh object
    assert fake.get("configmaps", NS, "flagd")["data"] == {"flags.json": '{"flags": {}}',
                                                           "other": "theirs"}


def test_a_merge_patch_with_a_stale_resource_version_is_409_too(
        fake: FakeKubernetes, api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    fake.write_concurrently(PLURAL, NS, "flags", lambda obj: obj["metadata"]["labels"].update(
        {"touched": "yes"}))
    rv = fake.get(PLURAL, NS, "flags")["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as info:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, NS, PLURAL, "flags",
            {"metadata": {"resourceVersion": rv}, "spec": {"flagSpec": {"flags": {}}}})
    assert info.value.status == 409
