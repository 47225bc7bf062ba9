"""Tags through the GitHub backend, and its error mapping (the client), against a local fake
GitHub API (pytest-httpserver) over HTTP."""

from __future__ import annotations

import pytest

from bot.backends.github import GitHubClient, GitHubSourceControl
from bot.errors import NotFound, PermanentError, RetryableError
from devtools.fake_github import TOKEN, FakeGitHub, sha_of
from devtools.fake_github.runs import FakeRuns
from tests.backends.github.conftest import TAGS


@pytest.fixture
def github(client: GitHubClient) -> GitHubSourceControl:
    return GitHubSourceControl(client)


def test_an_existing_tag_is_found_with_one_request(github: GitHubSourceControl,
                                                   fake: FakeGitHub) -> None:
    assert github.tag_exists("acme/api", "v1.2.3") is True
    assert fake.calls() == ["/repos/acme/api/git/ref/tags/v1.2.3"]


def test_a_tags_commit_in_one_request_an_annotated_one_peeled_a_missing_one_none(
        github: GitHubSourceControl, fake: FakeGitHub) -> None:
    fake.tag("acme/api", "v2.0.0", "ab" * 20)  # `git tag v2.0.0 abab…`
    assert github.tag_commit("acme/api", "v2.0.0") == "ab" * 20
    assert fake.calls() == ["/repos/acme/api/git/ref/tags/v2.0.0"]
    FakeRuns(fake).annotated[("acme/api", "v2.1.0")] = "cd" * 20  # `git tag -a`
    assert github.tag_commit("acme/api", "v2.1.0") == "cd" * 20
    assert fake.calls()[1:] == ["/repos/acme/api/git/ref/tags/v2.1.0",
                                f"/repos/acme/api/git/tags/{sha_of('tag object v2.1.0')}"]
    assert github.tag_commit("acme/api", "v9.9.9") is None
    with pytest.raises(NotFound):
        github.tag_commit("acme/nope", "v1.2.3")


def test_a_missing_tag_is_not_found_and_the_tags_are_listed_newest_first(
        github: GitHubSourceControl, fake: FakeGitHub) -> None:
    assert github.tag_exists("acme/api", "v9.9.9") is False
    assert github.tags("acme/api") == TAGS
    assert github.tags("acme/api", limit=2) == TAGS[:2]
    assert "/repos/acme/api/tags" in fake.calls()


def test_an_unknown_repository_is_a_clear_not_found(github: GitHubSourceControl) -> None:
    with pytest.raises(NotFound, match=r"`acme/nope` not found"):
        github.tag_exists("acme/nope", "v1.2.3")
    with pytest.raises(NotFound, match=r"services.<name>.github.repository"):
        github.tags("acme/nope")


def test_a_bad_token_is_a_permanent_error_naming_github_token(fake: FakeGitHub) -> None:
    gh = GitHubSourceControl(GitHubClient(token="wrong", api_url=fake.url))
    with pytest.raises(PermanentError, match=r"401.*GITHUB_TOKEN"):
        gh.tag_exists("acme/api", "v1.2.3")


def test_a_forbidden_token_says_which_scopes_are_needed(github: GitHubSourceControl,
                                                        fake: FakeGitHub) -> None:
    fake.status = 403
    fake.headers = {"X-Accepted-OAuth-Scopes": "repo"}
    with pytest.raises(PermanentError, match=r"403.*needs repo"):
        github.tag_exists("acme/api", "v1.2.3")


def test_rate_limited_is_retryable_and_says_when_it_resets(github: GitHubSourceControl,
                                                           fake: FakeGitHub) -> None:
    fake.status = 403
    fake.headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1893456000"}
    with pytest.raises(RetryableError, match=r"rate limit.*resets at 00:00 UTC"):
        github.tags("acme/api")


def test_a_server_error_is_retryable_at_once(github: GitHubSourceControl,
                                            fake: FakeGitHub) -> None:
    fake.status = 500
    with pytest.raises(RetryableError, match="answered 500"):
        github.tag_exists("acme/api", "v1.2.3")
    assert len(fake.calls()) == 1  # no retries (nor their backoff) behind a Slack command


def test_an_unreachable_github_is_retryable() -> None:
    gh = GitHubSourceControl(GitHubClient(token=TOKEN, api_url="http://127.0.0.1:9", timeout=2))
    with pytest.raises(RetryableError, match="unreachable"):
        gh.tags("acme/api")


def test_too_many_requests_is_retryable_and_says_when_to_retry(github: GitHubSourceControl,
                                                               fake: FakeGitHub) -> None:
    fake.status = 429
    fake.headers = {"Retry-After": "30"}
    with pytest.raises(RetryableError, match=r"rate limit exceeded \(429\).*retry after 30 s"):
        github.tag_exists("acme/api", "v1.2.3")
