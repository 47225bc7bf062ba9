"""GitHub's Deployments API: the DeploymentMirror port."""

from __future__ import annotations

from typing import Any

from bot.backends.github.client import GitHubClient
from bot.ports import GitHubDeploymentState

#: GitHub refuses a deployment status description longer than this.
MAX_DESCRIPTION = 140


class GitHubDeploymentMirror:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def create_deployment(self, repository: str, ref: str, environment: str,
                          description: str, payload: dict[str, Any]) -> int:
        def ask() -> int:
            # POST /repos/{repo}/deployments. No merge of the default branch into `ref` and
            # no required status contexts: deploybot has checked the version already.
            made = self._client.repo(repository).create_deployment(
                ref, auto_merge=False, required_contexts=[], payload=payload,
                environment=environment, description=description[:MAX_DESCRIPTION],
                task="deploy")
            return int(made.id)

        return self._client.call(repository, ask)

    def set_status(self, repository: str, github_deployment_id: int,
                   state: GitHubDeploymentState, *, log_url: str | None, description: str,
                   environment: str) -> None:
        def ask() -> None:
            # POST /repos/{repo}/deployments/{id}/statuses. Through the requester, not
            # Deployment.create_status: that one cannot send `log_url`.
            body: dict[str, Any] = {"state": state, "environment": environment,
                                    "description": description[:MAX_DESCRIPTION]}
            if log_url:
                body["log_url"] = log_url
            if state == "success":
                body["auto_inactive"] = True  # the deployment it replaces: inactive
            url = f"{self._client.repo(repository).url}/deployments/{github_deployment_id}/statuses"
            self._client.gh.requester.requestJsonAndCheck("POST", url, input=body)

        self._client.call(repository, ask)
