"""The GitHub backend against a local fake GitHub API (pytest-httpserver), over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from bot.backends.github import GitHubSourceControl
from bot.errors import NotFound, PermanentError, RetryableError
from tests.backends.fake_github import TOKEN, FakeGitHub

TAGS = ["v1.3.0", "v1.2.4", "v1.2.3", "v1.1.0", "v0.9.0"]


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver, {"acme/api": TAGS})


@pytest.fixture
def github(fake: FakeGitHub) -> Iterator[GitHubSourceControl]:
    gh = GitHubSourceControl(token=TOKEN, api_url=fake.url, timeout=5)
    yield gh
    gh.close()


def test_an_existing_tag_is_found_with_one_request(github: GitHubSourceControl,
                                                   fake: FakeGitHub) -> None:
    assert github.tag_exists("acme/api", "v1.2.3") is True
    assert fake.calls() == ["/repos/acme/api/git/ref/tags/v1.2.3"]


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
    gh = GitHubSourceControl(token="wrong", api_url=fake.url)
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
    started = time.monotonic()
    with pytest.raises(RetryableError, match="answered 500"):
        github.tag_exists("acme/api", "v1.2.3")
    assert time.monotonic() - started < 2
    assert len(fake.calls()) == 1  # no retries behind a Slack command


def test_an_unreachable_github_is_retryable() -> None:
    gh = GitHubSourceControl(token=TOKEN, api_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(RetryableError, match="unreachable"):
        gh.tags("acme/api")


def test_a_deployment_is_created_with_its_ref_environment_and_payload(
        github: GitHubSourceControl, fake: FakeGitHub) -> None:
    gh_id = github.create_deployment("acme/api", "v1.2.3", "staging", "deploybot #7",
                                     {"deploybot_deployment_id": 7})
    assert gh_id == 1
    assert fake.calls() == ["/repos/acme/api/deployments"]
    assert fake.deployments == [{
        "ref": "v1.2.3", "environment": "staging", "description": "deploybot #7",
        "payload": {"deploybot_deployment_id": 7}, "auto_merge": False,
        "required_contexts": [], "task": "deploy"}]


def test_a_status_carries_the_log_url_and_success_marks_earlier_ones_inactive(
        github: GitHubSourceControl, fake: FakeGitHub) -> None:
    gh_id = github.create_deployment("acme/api", "v1.2.3", "staging", "d", {})
    github.set_status("acme/api", gh_id, "in_progress", log_url="https://slack/thread",
                      description="x" * 200, environment="staging")
    github.set_status("acme/api", gh_id, "success", log_url=None, description="done",
                      environment="staging")
    assert fake.calls()[1:] == ["/repos/acme/api/deployments/1/statuses"] * 2
    assert fake.statuses == [
        (1, {"state": "in_progress", "environment": "staging", "description": "x" * 140,
             "log_url": "https://slack/thread"}),
        (1, {"state": "success", "environment": "staging", "description": "done",
             "auto_inactive": True}),
    ]


def test_deployments_api_errors_are_deploybot_errors(github: GitHubSourceControl,
                                                     fake: FakeGitHub) -> None:
    fake.deployments_status = 500
    with pytest.raises(RetryableError, match="answered 500"):
        github.create_deployment("acme/api", "v1.2.3", "staging", "d", {})
    fake.deployments_status = 422
    with pytest.raises(PermanentError, match="422"):
        github.set_status("acme/api", 1, "failure", log_url=None, description="d",
                          environment="staging")
