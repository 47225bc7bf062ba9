"""Fixtures for the end-to-end tests: the staging `api` Deployment on a fake Kubernetes
cluster, behind KUBECONFIG (a test module may define its own `fake_k8s`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from pytest_httpserver import HTTPServer

from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_k8s import FakeKubernetes
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


@pytest.fixture
def local_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """A local fake GitHub API for tests whose services name a repository without being
    about GitHub's answers (the Deployments mirror posts to it): no test reaches the real
    api.github.com. Point app.yaml's github.api_url at its `url`."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": []})
