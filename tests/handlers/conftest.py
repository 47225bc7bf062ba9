"""Fixtures for the end-to-end tests: the staging `api` Deployment on a fake Kubernetes
cluster, behind KUBECONFIG (a test module may define its own `fake_k8s`); a fake GitHub
for the tests of automatic deploys found by polling (`polled_github`, and `gh`: main of
GITHUB_REPO at GITHUB_MAIN_HEAD on the module's `fake_github`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from pytest_httpserver import HTTPServer

from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.repo import RepoState
from devtools.fake_k8s import FakeKubernetes
from tests.handlers.kube import SIDECAR

#: The repository the GitHub polling tests deploy api from, and main's head at their start.
GITHUB_REPO = "acme/api"
GITHUB_MAIN_HEAD = "1111111111111111111111111111111111111111"


def polled_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch,
                  tags: list[str] | None = None) -> FakeGitHub:
    """A fake GitHub serving GITHUB_REPO (with `tags`) to a bot that finds its heads by
    polling: the token set, no API URL or webhook secret from the environment."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
    return FakeGitHub(httpserver, {GITHUB_REPO: list(tags or [])})


@pytest.fixture
def gh(fake_github: FakeGitHub) -> RepoState:
    """main of GITHUB_REPO at GITHUB_MAIN_HEAD, on the test module's `fake_github`."""
    state = RepoState(fake_github)
    state.set_branch(GITHUB_REPO, "main", GITHUB_MAIN_HEAD)
    return state


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
