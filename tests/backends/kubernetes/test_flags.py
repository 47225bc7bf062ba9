"""flagd's flag definitions in the cluster (bot.backends.kubernetes.flags) through the real
kubernetes client against the fake API server: the OpenFeature Operator's FeatureFlag
resource and a ConfigMap key, read and changed with every other field kept, a write that
loses a race to another writer (409 Conflict on its stale resourceVersion) applied again to
the fresh object so neither change is lost, and the errors as the port says them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.kubernetes import KubeClients
from bot.backends.kubernetes.flags import (
    CONFLICT_ATTEMPTS,
    ConfigMapFlagStore,
    FeatureFlagStore,
)
from bot.config import KubernetesAccessConfig
from bot.domain.flags import FlagChange, FlagDocument, UnknownFlag
from bot.errors import PermanentError, RetryableError
from devtools.fake_k8s import FakeKubernetes
from tests.domain.test_flags import document
from tests.domain.test_flags_flagd import ANYONE, Flagd

ENV, NS = "production", "production"
FF_PATH = "/apis/core.openfeature.dev/v1beta1/namespaces/production/featureflags/app-flags"
CM_PATH = "/api/v1/namespaces/production/configmaps/flagd-flags"


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.05) as f:
        f.seed("featureflags", NS, {
            "metadata": {"name": "app-flags", "labels": {"team": "payments"}},
            "spec": {"flagSpec": document()}})
        f.seed("configmaps", NS, {
            "metadata": {"name": "flagd-flags", "annotations": {"owner": "payments"}},
            "data": {"flags.json": json.dumps(document()), "README": "managed by hand"}})
        yield f


@pytest.fixture
def clients(fake: FakeKubernetes, tmp_path: Path) -> Iterator[KubeClients]:
    kubeconfig = fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
    c = KubeClients(KubernetesAccessConfig(contexts={ENV: "fake"}), kubeconfig=kubeconfig)
    yield c
    c.close()


def feature_flag_store(clients: KubeClients, name: str = "app-flags") -> FeatureFlagStore:
    return FeatureFlagStore(clients, environment=ENV, name=name, namespace=NS,
                            setting="flags.production.flagd.feature_flag",
                            sleep=lambda _s: None)


def configmap_store(clients: KubeClients, key: str = "flags.json") -> ConfigMapFlagStore:
    return ConfigMapFlagStore(clients, key=key, environment=ENV, name="flagd-flags",
                              namespace=NS, setting="flags.production.flagd.configmap",
                              sleep=lambda _s: None)


def flag_spec(fake: FakeKubernetes) -> dict[str, Any]:
    spec: dict[str, Any] = fake.get("featureflags", NS, "app-flags")["spec"]["flagSpec"]
    return spec


def configmap_flags(fake: FakeKubernetes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fake.get("configmaps", NS, "flagd-flags")["data"]
                                      ["flags.json"])
    return data


def set_default(flag: str, variant: str, *, where: str) -> Any:
    """Another writer's change (kubectl edit, the team's own tooling), as it would write it."""
    def write(obj: dict[str, Any]) -> None:
        if where == "featureflags":
            obj["spec"]["flagSpec"]["flags"][flag]["defaultVariant"] = variant
        else:
            data = json.loads(obj["data"]["flags.json"])
            data["flags"][flag]["defaultVariant"] = variant
            obj["data"]["flags.json"] = json.dumps(data)
    return write


# -- FeatureFlag ------------------------------------------------------------------------------

def test_the_feature_flag_resource_is_read_and_one_flag_changed(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    store = feature_flag_store(clients)
    assert store.where == 'FeatureFlag "app-flags" in namespace "production"'
    views = {v.name: v for v in store.read().views()}
    assert views["new-checkout"].default_variant == "on"
    assert views["new-checkout"].targeting == "targeting: 2 rules (if, $ref, ends_with)"
    before = fake.get("featureflags", NS, "app-flags")

    changed = store.change(FlagChange("new-checkout", "off"))

    assert (changed.before.default_variant, changed.after.default_variant) == ("on", "off")
    after = fake.get("featureflags", NS, "app-flags")
    expected = document()
    expected["flags"]["new-checkout"]["defaultVariant"] = "off"
    assert after["spec"]["flagSpec"] == expected
    assert after["metadata"]["labels"] == {"team": "payments"}
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    [put] = fake.recorded("PUT", FF_PATH)
    assert put.body["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_conflicting_write_is_applied_again_and_neither_change_is_lost(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    fake.write_concurrently("featureflags", NS, "app-flags",
                            set_default("banner-color", "green", where="featureflags"))

    changed = feature_flag_store(clients).change(FlagChange("new-checkout", "off"))

    assert changed.after.default_variant == "off"
    flags = flag_spec(fake)["flags"]
    assert flags["new-checkout"]["defaultVariant"] == "off"  # deploybot's change
    assert flags["banner-color"]["defaultVariant"] == "green"  # the other writer's
    first, second = fake.recorded("PUT", FF_PATH)
    assert first.body["metadata"]["resourceVersion"] != second.body["metadata"][
        "resourceVersion"]
    assert second.body["spec"]["flagSpec"]["flags"]["banner-color"]["defaultVariant"] == "green"


def test_changes_from_two_threads_at_once_all_land(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    # two Slack users changing flags in the same moment: whichever write loses the race
    # (409) is applied again, so every change is in the final object
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(changes: list[FlagChange]) -> None:
        store = feature_flag_store(clients)
        try:
            start.wait(timeout=5)
            for change in changes:
                store.change(change)
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(changes,)) for changes in (
        [FlagChange("new-checkout", "off"), FlagChange("simple", "off")],
        [FlagChange("banner-color", "blue"), FlagChange("banner-color", "green")])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    flags = flag_spec(fake)["flags"]
    assert [flags[k]["defaultVariant"] for k in ("new-checkout", "simple", "banner-color")] \
        == ["off", "no", "green"]
    assert len(fake.recorded("PUT", FF_PATH)) >= 4


def test_a_flag_that_keeps_changing_under_deploybot_is_a_retryable_error(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    fake.write_concurrently("featureflags", NS, "app-flags",
                            set_default("banner-color", "green", where="featureflags"),
                            times=CONFLICT_ATTEMPTS)
    with pytest.raises(RetryableError, match=r"kept changing .*\(5 writes in a row lost"):
        feature_flag_store(clients).change(FlagChange("new-checkout", "off"))
    assert len(fake.recorded("PUT", FF_PATH)) == CONFLICT_ATTEMPTS
    assert flag_spec(fake)["flags"]["new-checkout"]["defaultVariant"] == "on"


def test_setting_what_is_set_writes_nothing(fake: FakeKubernetes, clients: KubeClients) -> None:
    changed = feature_flag_store(clients).change(FlagChange("new-checkout", "on"))
    assert not changed.changed
    assert fake.recorded("PUT", FF_PATH) == []


def test_an_unknown_flag_is_the_users_error_listing_the_flags(clients: KubeClients) -> None:
    with pytest.raises(UnknownFlag, match=r"no flag `nope` in FeatureFlag \"app-flags\""):
        feature_flag_store(clients).change(FlagChange("nope", "off"))


def test_a_missing_feature_flag_says_which_setting_names_it(clients: KubeClients) -> None:
    with pytest.raises(PermanentError) as info:
        feature_flag_store(clients, "gone").read()
    assert str(info.value).startswith(
        'FeatureFlag "gone" in namespace "production" does not exist in the cluster of '
        "production: create it, or correct flags.production.flagd.feature_flag in app.yaml")


def test_rbac_forbidding_the_update_says_what_to_grant(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    fake.forbid("update", "featureflags", NS)
    with pytest.raises(PermanentError) as info:
        feature_flag_store(clients).change(FlagChange("new-checkout", "off"))
    assert "not allowed to update featureflags.core.openfeature.dev" in str(info.value)
    assert "grant it in the Role" in str(info.value)


def test_an_api_server_5xx_is_retried_and_unreachable_is_retryable(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    fake.fail_requests("GET", "featureflags/app-flags", status=503, times=1)
    assert "simple" in feature_flag_store(clients).read().names
    fake.set_unreachable(True)
    with pytest.raises(RetryableError, match="unreachable"):
        feature_flag_store(clients).read()


# -- ConfigMap --------------------------------------------------------------------------------

def test_the_configmap_key_is_changed_and_the_rest_of_the_configmap_kept(
        fake: FakeKubernetes, clients: KubeClients, tmp_path: Path) -> None:
    store = configmap_store(clients)
    assert store.where == 'key "flags.json" of ConfigMap "flagd-flags" in namespace "production"'
    store.change(FlagChange("simple", "off"))
    cm = fake.get("configmaps", NS, "flagd-flags")
    assert cm["data"]["README"] == "managed by hand"
    assert cm["metadata"]["annotations"] == {"owner": "payments"}
    expected = document()
    expected["flags"]["simple"]["defaultVariant"] = "no"
    assert json.loads(cm["data"]["flags.json"]) == expected
    # what flagd's file sync would read from the mounted key: flagd's own evaluation
    path = tmp_path / "flags.json"
    path.write_text(cm["data"]["flags.json"], encoding="utf-8")
    flagd = Flagd(path)
    try:
        assert flagd.boolean("simple", True, ANYONE)[:2] == (False, "no")
    finally:
        flagd.provider.shutdown()


def test_a_configmap_write_that_loses_a_race_is_applied_again(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    fake.write_concurrently("configmaps", NS, "flagd-flags",
                            set_default("banner-color", "blue", where="configmaps"))
    configmap_store(clients).change(FlagChange("new-checkout", "off"))
    flags = configmap_flags(fake)["flags"]
    assert flags["new-checkout"]["defaultVariant"] == "off"
    assert flags["banner-color"]["defaultVariant"] == "blue"
    assert len(fake.recorded("PUT", CM_PATH)) == 2


def test_a_missing_key_or_json_that_is_not_flagd_is_a_permanent_error(
        fake: FakeKubernetes, clients: KubeClients) -> None:
    with pytest.raises(PermanentError, match=r"does not exist \(its keys: README, flags.json\)"):
        configmap_store(clients, key="flagd.json").read()
    with pytest.raises(PermanentError, match=r"is not valid JSON"):
        configmap_store(clients, key="README").read()


def test_the_document_read_is_flagd_s_own() -> None:
    assert FlagDocument.parse(document(), where="x").names == [
        "new-checkout", "banner-color", "simple"]
