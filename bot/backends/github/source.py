"""Tags and releases of a service's repository: the SourceControl port."""

from __future__ import annotations

import itertools

from github.GithubException import UnknownObjectException

from bot.backends.github.client import GitHubClient


class GitHubSourceControl:
    def __init__(self, client: GitHubClient) -> None:
        self._client = client

    def tag_exists(self, repository: str, tag: str) -> bool:
        def ask() -> bool:
            try:
                ref = self._client.repo(repository).get_git_ref(f"tags/{tag}")
                ref.complete()  # lazy: GET /repos/{repo}/git/ref/tags/{tag}
            except UnknownObjectException:
                # No such tag, or no such repository: listing the tags tells them apart.
                self._client.repo(repository).get_tags().get_page(0)
                return False
            return ref.ref == f"refs/tags/{tag}"

        return self._client.call(repository, ask)

    def tags(self, repository: str, limit: int = 100) -> list[str]:
        def ask() -> list[str]:
            listed = self._client.repo(repository).get_tags()  # GET /repos/{repo}/tags
            return [t.name for t in itertools.islice(listed, max(limit, 0))]

        return self._client.call(repository, ask)

    def release_tag(self, repository: str, name: str) -> str | None:
        def ask() -> str | None:
            listed = self._client.repo(repository).get_releases()  # GET /repos/{repo}/releases
            for release in itertools.islice(listed, 100):
                if release.name == name and not release.draft:
                    return str(release.tag_name)
            return None

        return self._client.call(repository, ask)
