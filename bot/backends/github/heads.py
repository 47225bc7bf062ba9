"""Branch heads and open pull requests of a repository: the RepositoryHeads port (GitHub
polling, when webhooks are off).

Every look is a conditional GET (bot/backends/github/conditional.py): a poll that finds
nothing changed costs 304s, which do not count against the rate limit.

"Get a branch" answers with the head commit whole (GitHub REST docs: `commit` is a commit
object as "Get a commit" gives it: `commit.commit.message`, `commit.commit.author.name`, and
`commit.author`, the GitHub account of its author or null when its email matches none): its
author and message come with the look, no request more. "List pull requests" gives each
one's `user.login` (who opened it) and `title`. A field that is not there, or not of its
shape, is None: the deploy then says only what is known."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from github.GithubException import GithubException

from bot.backends.github.client import GitHubClient
from bot.domain.github_polling import BranchHead, PullHead

_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def _at(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]…`, or None where a step is not an object (`author` is null
    for a commit whose email is nobody's account)."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class GitHubRepositoryHeads:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def branch_head(self, repository: str, branch: str) -> BranchHead | None:
        def ask() -> BranchHead | None:
            try:  # GET /repos/{repo}/branches/{branch}
                data = self._client.get(
                    f"/repos/{repository}/branches/{quote(branch)}").data
            except GithubException as e:
                # 404 "Branch not found" (the repository exists: a missing one fails below).
                if e.status != 404 or "branch" not in str(e.data).lower():
                    raise
                return None
            commit = data["commit"]
            return BranchHead(str(commit["sha"]),
                              author=_text(_at(commit, "author", "login"))
                              or _text(_at(commit, "commit", "author", "name")),
                              message=_text(_at(commit, "commit", "message")))

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
            return [PullHead(int(p["number"]), str(p["head"]["ref"]), str(p["head"]["sha"]),
                             author=_text(_at(p, "user", "login")), title=_text(p.get("title")))
                    for p in pulls]

        return self._client.call(repository, ask)
