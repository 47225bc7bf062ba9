"""GitHub's Deployments API through the GitHub backend, against a local fake GitHub API."""

from __future__ import annotations

import pytest

from bot.backends.github import GitHubClient, GitHubDeploymentMirror
from bot.errors import PermanentError, RetryableError
from devtools.fake_github import FakeGitHub


@pytest.fixture
def github(client: GitHubClient) -> GitHubDeploymentMirror:
    return GitHubDeploymentMirror(client)


def test_a_deployment_is_created_with_its_ref_environment_and_payload(
        github: GitHubDeploymentMirror, fake: FakeGitHub) -> None:
    gh_id = github.create_deployment("acme/api", "v1.2.3", "staging", "deploybot #7",
                                     {"deploybot_deployment_id": 7})
    assert gh_id == 1
    assert fake.calls() == ["/repos/acme/api/deployments"]
    assert fake.deployments == [{
        "ref": "v1.2.3", "environment": "staging", "description": "deploybot #7",
        "payload": {"deploybot_deployment_id": 7}, "auto_merge": False,
        "required_contexts": [], "task": "deploy"}]


def test_a_status_carries_the_log_url_and_success_marks_earlier_ones_inactive(
        github: GitHubDeploymentMirror, fake: FakeGitHub) -> None:
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


def test_deployments_api_errors_are_deploybot_errors(github: GitHubDeploymentMirror,
                                                     fake: FakeGitHub) -> None:
    fake.deployments_status = 500
    with pytest.raises(RetryableError, match="answered 500"):
        github.create_deployment("acme/api", "v1.2.3", "staging", "d", {})
    fake.deployments_status = 422
    with pytest.raises(PermanentError, match="422"):
        github.set_status("acme/api", 1, "failure", log_url=None, description="d",
                          environment="staging")
