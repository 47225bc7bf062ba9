"""Branch heads and open pull requests of a repository: the RepositoryHeads port (GitHub
polling, when webhooks are off).

Every look is a conditional GET (bot/backends/github/conditional.py): a poll that finds
nothing changed costs 304s, which do not count against the rate limit."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from github.GithubException import GithubException

from bot.backends.github.client import GitHubClient
from bot.domain.github_polling import PullHead

_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubRepositoryHeads:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def branch_head(self, repository: str, branch: str) -> str | None:
        def ask() -> str | None:
            try:  # GET /repos/{repo}/branches/{branch}
                data = self._client.get(
                    f"/repos/{repository}/branches/{quote(branch)}").data
            except GithubException as e:
                # 404 "Branch not found" (the repository exists: a missing one fails below).
                if e.status != 404 or "branch" not in str(e.data).lower():
                    raise
                return None
            return str(data["commit"]["sha"])

        return self._client.call(repository, ask)

    def open_pulls(self, repository: str) -> list[PullHead]:
        def ask() -> list[PullHead]:
            # GET /repos/{repo}/pulls?state=open, 100 a page (each page conditional).
            answer = self._client.get(f"/repos/{repository}/pulls",
                                      {"state": "open", "per_page": 100})
            pulls: list[Any] = list(answer.data or [])
            for _ in range(50):  # 5,000 open pull requests at most
                found = _NEXT.search(answer.headers.get("link") or "")
                if found is None:
                    break
                answer = self._client.get(found[1])
                pulls.extend(answer.data or [])
            return [PullHead(int(p["number"]), str(p["head"]["ref"]), str(p["head"]["sha"]))
                    for p in pulls]

        return self._client.call(repository, ask)
