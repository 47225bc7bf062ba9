"""GitHub through PyGithub: the SourceControl port (tags of a service's repository) and the
DeploymentMirror port (GitHub deployments and their statuses).

The only module that imports PyGithub (`github`); an import-linter contract keeps it so.
Every PyGithub or network error becomes one of deploybot's error kinds here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.Repository import Repository

from bot.errors import NotFound, PermanentError, RetryableError
from bot.ports import GitHubDeploymentState

DEFAULT_API_URL = "https://api.github.com"

T = TypeVar("T")

#: GitHub refuses a deployment status description longer than this.
MAX_DESCRIPTION = 140


class GitHubSourceControl:
    """`retry` is PyGithub's (an int or urllib3 Retry); None (the default) asks once, so a
    Slack command never waits behind retries or a rate-limit sleep."""

    def __init__(self, *, token: str | None, api_url: str = DEFAULT_API_URL,
                 timeout: int = 10, retry: Any = None) -> None:
        self._api_url = api_url.rstrip("/")
        self._token = token
        self._gh = Github(
            base_url=self._api_url, auth=Auth.Token(token) if token else None,
            timeout=timeout, retry=retry, per_page=100,
            seconds_between_requests=None, seconds_between_writes=None, lazy=True,
        )

    def close(self) -> None:
        self._gh.close()

    def _repo(self, repository: str) -> Repository:
        return self._gh.get_repo(repository)  # lazy (Github(lazy=True)): no request

    def tag_exists(self, repository: str, tag: str) -> bool:
        def ask() -> bool:
            try:
                ref = self._repo(repository).get_git_ref(f"tags/{tag}")
                ref.complete()  # lazy: GET /repos/{repo}/git/ref/tags/{tag}
            except UnknownObjectException:
                # No such tag, or no such repository: listing the tags tells them apart.
                self._repo(repository).get_tags().get_page(0)
                return False
            return ref.ref == f"refs/tags/{tag}"

        return self._call(repository, ask)

    def tags(self, repository: str, limit: int = 100) -> list[str]:
        def ask() -> list[str]:
            listed = self._repo(repository).get_tags()  # GET /repos/{repo}/tags, newest first
            return [t.name for t in itertools.islice(listed, max(limit, 0))]

        return self._call(repository, ask)

    def create_deployment(self, repository: str, ref: str, environment: str,
                          description: str, payload: dict[str, Any]) -> int:
        def ask() -> int:
            # POST /repos/{repo}/deployments. No merge of the default branch into `ref` and
            # no required status contexts: deploybot has checked the version already.
            made = self._repo(repository).create_deployment(
                ref, auto_merge=False, required_contexts=[], payload=payload,
                environment=environment, description=description[:MAX_DESCRIPTION],
                task="deploy")
            return int(made.id)

        return self._call(repository, ask)

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
            url = f"{self._repo(repository).url}/deployments/{github_deployment_id}/statuses"
            self._gh.requester.requestJsonAndCheck("POST", url, input=body)

        self._call(repository, ask)

    def _call(self, repository: str, fn: Callable[[], T]) -> T:
        where = f"GitHub ({self._api_url})"
        try:
            return fn()
        except RateLimitExceededException as e:
            raise RetryableError(f"{where} rate limit exceeded{_reset(e.headers)}") from e
        except BadCredentialsException as e:
            raise PermanentError(
                f"{where} refused the token (401 Bad credentials): set GITHUB_TOKEN to a "
                "valid token") from e
        except UnknownObjectException as e:
            raise NotFound(f"GitHub repository `{repository}` not found (or GITHUB_TOKEN "
                           "cannot see it); check services.<name>.github.repository in "
                           "app.yaml") from e
        except GithubException as e:
            if e.status == 403:
                headers = e.headers or {}
                if headers.get("x-ratelimit-remaining") == "0" or "rate limit" in str(e).lower():
                    raise RetryableError(f"{where} rate limit exceeded{_reset(headers)}") from e
                scopes = headers.get("x-accepted-oauth-scopes") or headers.get(
                    "x-accepted-github-permissions")
                need = (f"it needs {scopes}" if scopes else
                        "it needs read access to the repository's contents (classic token: "
                        "`repo` scope; fine-grained: Contents: read)")
                raise PermanentError(f"{where} refused access to `{repository}` (403): {need}"
                                     ) from e
            if e.status >= 500 or e.status in (408, 429):
                raise RetryableError(f"{where} answered {e.status}; try again shortly") from e
            raise PermanentError(f"{where} answered {e.status} for `{repository}`: "
                                 f"{_message(e)}") from e
        except requests.RequestException as e:
            raise RetryableError(f"{where} is unreachable: {type(e).__name__}") from e


def _message(e: GithubException) -> str:
    data = e.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return str(data)[:200]


def _reset(headers: dict[str, str] | None) -> str:
    raw = (headers or {}).get("x-ratelimit-reset")
    if raw is None or not raw.isdigit():
        return ""
    when = datetime.fromtimestamp(int(raw), tz=UTC)
    return f" (it resets at {when:%H:%M} UTC)"
