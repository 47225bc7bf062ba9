"""Fixtures for the end-to-end tests: the staging `api` Deployment on a fake Kubernetes
cluster, behind KUBECONFIG (a test module may define its own `fake_k8s`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from bot.devtools.fake_k8s import FakeKubernetes
from tests.handlers.kube import SIDECAR


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as fake:
        fake.add_deployment("staging", "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}, dict(SIDECAR)], replicas=3)
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def kubectl() -> Iterator[k8s.AppsV1Api]:
    """Someone else's client on the same cluster (KUBECONFIG), as kubectl would use it."""
    api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=os.environ["KUBECONFIG"], persist_config=False)
    try:
        yield k8s.AppsV1Api(api)
    finally:
        api.close()
