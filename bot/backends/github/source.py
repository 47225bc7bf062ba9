"""Tags and releases of a service's repository: the SourceControl port; and the commit a tag
points at (`tag_commit`, shared with `/ci`'s workflow runs): GET /git/ref/tags/{tag}, whose
object is the commit (a lightweight tag) or a tag object (an annotated tag), peeled with GET
/git/tags/{sha} ("Get a reference", "Get a tag":
https://docs.github.com/rest/git/refs#get-a-reference,
https://docs.github.com/rest/git/tags#get-a-tag)."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote

from github.GithubException import UnknownObjectException

from bot.backends.github.client import GitHubClient

#: How many tag objects a tag is peeled through (a tag of a tag…) before giving up.
MAX_PEEL = 5


def tag_commit(client: GitHubClient, repository: str, tag: str) -> str | None:
    """The sha of the commit `tag` points at (through annotated tags); None when the
    repository has no such tag. Call it inside `client.call`."""
    def get(path: str, parameters: dict[str, Any] | None = None) -> Any:
        url = f"{client.repo(repository).url}{path}"
        _, data = client.gh.requester.requestJsonAndCheck("GET", url, parameters=parameters)
        return data

    try:
        ref = get(f"/git/ref/tags/{quote(tag, safe='/')}")
    except UnknownObjectException:
        # No such tag, or no such repository: listing its tags tells them apart (a missing
        # repository is the client's NotFound).
        get("/tags", {"per_page": 1})
        return None
    if ref.get("ref") not in (None, f"refs/tags/{tag}"):
        return None  # not this tag (GitHub matches refs exactly; kept as tag_exists does)
    obj = ref.get("object") or {}
    sha, kind = str(obj.get("sha") or ""), obj.get("type")
    for _ in range(MAX_PEEL):  # an annotated tag points at a tag object (maybe at another)
        if kind != "tag":
            break
        target = get(f"/git/tags/{sha}").get("object") or {}
        sha, kind = str(target.get("sha") or ""), target.get("type")
    return sha or None


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

    def tag_commit(self, repository: str, tag: str) -> str | None:
        return self._client.call(repository, lambda: tag_commit(self._client, repository, tag))

    def tags(self, repository: str, limit: int = 100) -> list[str]:
        def ask() -> list[str]:
            listed = self._client.repo(repository).get_tags()  # GET /repos/{repo}/tags
            return [t.name for t in itertools.islice(listed, max(limit, 0))]

        return self._client.call(repository, ask)

    def tagged(self, repository: str, limit: int = 100) -> list[tuple[str, str]]:
        def ask() -> list[tuple[str, str]]:
            # GET /repos/{repo}/tags: each tag's name and commit.sha, the commit it points
            # at ("List repository tags": https://docs.github.com/rest/repos/repos
            # #list-repository-tags), annotated tags peeled by GitHub.
            listed = self._client.repo(repository).get_tags()
            return [(t.name, t.commit.sha) for t in itertools.islice(listed, max(limit, 0))]

        return self._client.call(repository, ask)

    def release_tag(self, repository: str, name: str) -> str | None:
        def ask() -> str | None:
            listed = self._client.repo(repository).get_releases()  # GET /repos/{repo}/releases
            for release in itertools.islice(listed, 100):
                if release.name == name and not release.draft:
                    return str(release.tag_name)
            return None

        return self._client.call(repository, ask)
