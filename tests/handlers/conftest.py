"""Fixtures for the end-to-end tests: the staging `api` Deployment on a fake Kubernetes
cluster, behind KUBECONFIG (a test module may define its own `fake_k8s`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
