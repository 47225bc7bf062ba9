"""Can deploybot's GitHub token see a repository? The RepositoryAccess port, for
`deploybot doctor`: GET /repos/{owner}/{name}, with the client's error kinds (a bad token is
a PermanentError, a repository the token cannot see a NotFound)."""

from __future__ import annotations

from bot.backends.github.client import GitHubClient


class GitHubRepositoryAccess:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def check(self, repository: str) -> None:
        def ask() -> None:
            self._client.repo(repository).complete()  # lazy: GET /repos/{owner}/{name}

        self._client.call(repository, ask)
