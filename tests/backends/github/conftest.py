"""Fixtures for the GitHub backend tests: a local fake GitHub API and a client talking to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from bot.backends.github import GitHubClient
from devtools.fake_github import TOKEN, FakeGitHub

TAGS = ["v1.3.0", "v1.2.4", "v1.2.3", "v1.1.0", "v0.9.0"]


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver, {"acme/api": TAGS})


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[GitHubClient]:
    gh = GitHubClient(token=TOKEN, api_url=fake.url, timeout=5)
    yield gh
    gh.close()
