"""Releases through the GitHub backend: a release's name resolves to its tag."""

from __future__ import annotations

import pytest

from bot.backends.github import GitHubClient, GitHubSourceControl
from bot.errors import NotFound
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import RepoState


@pytest.fixture
def source(client: GitHubClient) -> GitHubSourceControl:
    return GitHubSourceControl(client)


def test_a_release_name_resolves_to_its_tag(source: GitHubSourceControl,
                                           fake: FakeGitHub) -> None:
    repo = RepoState(fake)
    repo.release("acme/api", "v1.2.3", "1.2.3-spring")
    repo.release("acme/api", "v1.3.0", "1.3.0-summer")
    assert source.release_tag("acme/api", "1.2.3-spring") == "v1.2.3"
    assert source.release_tag("acme/api", "1.3.0-summer") == "v1.3.0"
    assert source.release_tag("acme/api", "1.4.0-autumn") is None
    assert fake.reads() == ["/repos/acme/api/releases"] * 3


def test_no_releases_is_none_and_an_unknown_repository_not_found(
        source: GitHubSourceControl) -> None:
    assert source.release_tag("acme/api", "v1.2.3") is None
    with pytest.raises(NotFound):
        source.release_tag("acme/nope", "v1.2.3")
