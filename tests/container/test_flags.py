"""bot.container.flags: app.yaml's `flags:` built into one FlagStore and one FlagEvaluator
per environment — the FeatureFlag resource and the ConfigMap through the Kubernetes clients
(the executors' when there are, else their own, closed with the flags), OFREP with the token
from the variable the config names — and each working against the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.kubernetes import KubeClients
from bot.backends.kubernetes.flags import ConfigMapFlagStore, FeatureFlagStore
from bot.backends.ofrep import OfrepEvaluator
from bot.config import parse_config
from bot.container.flags import build_flags
from bot.domain.flags import FlagChange
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_ofrep import FakeOfrep
from tests.conftest import base_config
from tests.domain.test_flags import document


@pytest.fixture
def k8s() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.05) as f:
        f.seed("featureflags", "production", {"metadata": {"name": "app-flags"},
                                              "spec": {"flagSpec": document()}})
        f.seed("configmaps", "staging", {"metadata": {"name": "flagd"},
                                         "data": {"flags.json": json.dumps(document())}})
        yield f


@pytest.fixture
def ofrep() -> Iterator[FakeOfrep]:
    with FakeOfrep() as fake:
        fake.load_flagd(document())
        fake.require_token("prod-token")
        yield fake


def config(ofrep_url: str) -> Any:
    return parse_config(base_config(flags={
        "production": {"flagd": {"feature_flag": {"name": "app-flags",
                                                  "namespace": "production"}},
                       "ofrep": {"url": ofrep_url, "token_env": "FLAGS_PROD_TOKEN"}},
        "staging": {"flagd": {"configmap": {"name": "flagd", "namespace": "staging"}}},
    }, kubernetes={"contexts": {"production": "fake", "staging": "fake"}}))


def test_each_environment_gets_its_store_and_evaluator(
        k8s: FakeKubernetes, ofrep: FakeOfrep, tmp_path: Path) -> None:
    kubeconfig = k8s.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
    flags = build_flags(config(ofrep.url), kube_clients=None, kubeconfig=kubeconfig,
                        environ={"FLAGS_PROD_TOKEN": "prod-token", "OFREP_TOKEN": "other"})
    try:
        production, staging = flags.store("production"), flags.store("staging")
        assert isinstance(production, FeatureFlagStore)
        assert isinstance(staging, ConfigMapFlagStore) and staging.key == "flags.json"
        assert flags.store("qa") is None and flags.evaluator("staging") is None
        assert flags.own_clients is not None  # no executor built any: the flags' own

        production.change(FlagChange("new-checkout", "off"))
        staging.change(FlagChange("simple", "off"))
        assert k8s.get("featureflags", "production", "app-flags")["spec"]["flagSpec"][
            "flags"]["new-checkout"]["defaultVariant"] == "off"
        assert json.loads(k8s.get("configmaps", "staging", "flagd")["data"]["flags.json"])[
            "flags"]["simple"]["defaultVariant"] == "no"

        evaluator = flags.evaluator("production")
        assert isinstance(evaluator, OfrepEvaluator)
        assert evaluator.evaluate("new-checkout").value is True  # the token was accepted
        assert ofrep.requests[-1].authorization == "Bearer prod-token"
    finally:
        flags.close()


def test_the_executors_clients_are_shared(k8s: FakeKubernetes, tmp_path: Path) -> None:
    kubeconfig = k8s.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
    cfg = config("https://flags.acme.test")
    shared = KubeClients(cfg.kubernetes, kubeconfig=kubeconfig)
    try:
        flags = build_flags(cfg, kube_clients=shared, kubeconfig=None, environ={})
        assert flags.own_clients is None
        store = flags.store("production")
        assert store is not None and "simple" in store.read().names
    finally:
        shared.close()


def test_no_flags_configured_builds_nothing() -> None:
    flags = build_flags(parse_config(base_config()), kube_clients=None, kubeconfig=None,
                        environ={})
    assert (flags.stores, flags.evaluators, flags.own_clients) == ({}, {}, None)
