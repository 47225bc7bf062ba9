"""Branch heads and open pull requests of a repository: the RepositoryHeads port (GitHub
polling, when webhooks are off)."""

from __future__ import annotations

from github.GithubException import GithubException

from bot.backends.github.client import GitHubClient
from bot.domain.github_polling import PullHead


class GitHubRepositoryHeads:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def branch_head(self, repository: str, branch: str) -> str | None:
        def ask() -> str | None:
            try:
                found = self._client.repo(repository).get_branch(branch)  # GET .../branches/{b}
            except GithubException as e:
                # 404 "Branch not found" (the repository exists: a missing one fails below).
                if e.status != 404 or "branch" not in str(e.data).lower():
                    raise
                return None
            return str(found.commit.sha)

        return self._client.call(repository, ask)

    def open_pulls(self, repository: str) -> list[PullHead]:
        def ask() -> list[PullHead]:
            # GET /repos/{repo}/pulls?state=open, 100 a page.
            pulls = self._client.repo(repository).get_pulls(state="open")
            return [PullHead(p.number, p.head.ref, p.head.sha) for p in pulls]

        return self._client.call(repository, ask)
