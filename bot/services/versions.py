"""A version is a tag of the service's repository, or the name of one of its releases (then the
release's tag is what is deployed and recorded): refuse one that is neither, with the nearest
tags.

The commit a tag points at is learned with it (the same request; an annotated tag peeled to
its commit) and kept as long: the promotion gate looks for it too (`commit`), since an
automatic deploy of a push records the commit, not the tag, as its version. A tag believed
from a kept tag list (below) has its commit asked for only when the gate needs it.

Asked outside any database transaction (GitHub may be slow). Positive answers are kept for a
while (a tag does not move), so an approval or a repeated request does not ask GitHub again;
negative answers are never kept (the tag may be pushed a minute later).

A repository's tag list (`tags`: what the `/deploy` form offers, and a refusal's nearest
tags) is kept too, for a minute (TAGS_TTL, on the injected Clock): a tag it lists exists,
so picking one from the form asks GitHub nothing more. A failure or an empty list is not
kept. The list gives each tag's commit as well (one request): so a commit running (an
automatic deploy's version) is known by its tag (`commit_tag`), for the downgrade rule and
for display; `known_tag` answers from the last list alone, whatever its age, where no
request may be made (a card, `/deploy status`, App Home).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from bot.config import AppConfig
from bot.domain.commands import MAX_VERSION
from bot.domain.versions import CommitTag, TagCommit, is_commit, nearest_tags, tag_of
from bot.errors import Conflict, DeploybotError
from bot.ports import Clock, SourceControl

#: How long "this tag exists" is believed without asking again.
POSITIVE_TTL = timedelta(minutes=10)
#: How long a repository's tag list is offered without asking again (new tags show up late
#: by at most this much).
TAGS_TTL = timedelta(seconds=60)
#: Tags read in one list: one page of GET /repos/{repo}/tags (per_page=100), one request.
TAGS_READ = 100


class VersionCheck:
    def __init__(self, *, config: AppConfig, source: SourceControl, clock: Clock,
                 ttl: timedelta = POSITIVE_TTL, tags_ttl: timedelta = TAGS_TTL,
                 nearest: int = 3) -> None:
        self._config = config
        self._source = source
        self._clock = clock
        self._ttl = ttl
        self._tags_ttl = tags_ttl
        self._nearest = nearest
        # (repository, version) -> (its tag, seen at)
        self._known: dict[tuple[str, str], tuple[str, datetime]] = {}
        # (repository, tag) -> (the commit it points at, seen at)
        self._commits: dict[tuple[str, str], tuple[str, datetime]] = {}
        # repository -> (its newest tags, listed at)
        self._listed: dict[str, tuple[tuple[str, ...], datetime]] = {}
        # repository -> its newest tags with their commits, as last listed (at: `_listed`)
        self._tag_commits: dict[str, tuple[tuple[str, str], ...]] = {}
        self._mutex = threading.Lock()

    def check(self, service: str, version: str) -> str:
        """The tag to deploy for `version`: `version` itself for a service without `github:`
        or when it is a tag of its repository; the tag of its release named `version` (when
        the name is not a tag); else Conflict with the nearest tags
        (RetryableError/PermanentError/NotFound from the backend)."""
        gh = self._config.services[service].github
        if gh is None:
            return version
        repo, now = gh.repository, self._clock.now()
        with self._mutex:
            seen = self._known.get((repo, version))
        if seen is not None and now - seen[1] < self._ttl:
            return seen[0]
        if version in (self.kept_tags(repo) or ()):
            return version
        commit = self._source.tag_commit(repo, version)  # whether it is a tag, and its commit
        if commit is not None:
            with self._mutex:
                self._commits[(repo, version)] = (commit, now)
        tag = version if commit is not None else self._source.release_tag(repo, version)
        if tag is not None and len(tag) > MAX_VERSION:  # it is what the record would keep
            raise Conflict(f"The release `{version}` of {repo} is the tag `{tag[:40]}…`, "
                           f"{len(tag)} characters long; the limit is {MAX_VERSION}.")
        if tag is not None:
            with self._mutex:
                self._known[(repo, version)] = (tag, now)
            return tag
        near = nearest_tags(version, self.tags(repo), limit=self._nearest)
        hint = (" Nearest tags: " + ", ".join(f"`{t}`" for t in near) + "."
                if near else " It has no tags yet.")
        raise Conflict(f"`{version}` is not a tag of {repo}.{hint}")

    def tags(self, repository: str) -> tuple[str, ...]:
        """The newest tags of `repository` (at most TAGS_READ, newest first): as listed within
        `tags_ttl`, else asked of GitHub (its errors raised; a failure is not kept)."""
        kept = self.kept_tags(repository)
        if kept is not None:
            return kept
        return tuple(t for t, _ in self._tagged(repository))

    def _tagged(self, repository: str) -> tuple[tuple[str, str], ...]:
        """The newest tags with their commits: as listed within `tags_ttl`, else asked of
        GitHub in one request (the list gives each tag's commit), kept with the tags."""
        now = self._clock.now()
        with self._mutex:
            kept = self._listed.get(repository)
            commits = self._tag_commits.get(repository)
        if kept is not None and commits is not None and now - kept[1] < self._tags_ttl:
            return commits
        listed = tuple(self._source.tagged(repository, limit=TAGS_READ))
        if listed:  # none yet is a negative answer: the first tag may come any minute
            with self._mutex:
                self._listed[repository] = (tuple(t for t, _ in listed), now)
                self._tag_commits[repository] = listed
                for tag, sha in listed:  # the promotion gate's answer too
                    self._commits[(repository, tag)] = (sha, now)
        return listed

    def commit_tag(self, service: str, version: str) -> CommitTag | None:
        """What `version` is known as when it is a commit (an automatic deploy's version):
        the tag among the repository's newest that points at it (the tag list, kept for
        `tags_ttl`), or why GitHub could not be asked. None for a service without `github:`
        or a version that is no commit. Never raises for GitHub. Outside any transaction."""
        gh = self._config.services[service].github
        if gh is None or not is_commit(version):
            return None
        try:
            tagged = self._tagged(gh.repository)
        except DeploybotError as e:  # RetryableError (rate limits too), PermanentError, …
            return CommitTag(version, unknown=str(e))
        return CommitTag(version, tag=tag_of(version, tagged))

    def known_tag(self, service: str, version: str) -> str | None:
        """The tag of the commit `version` as GitHub last listed the repository's tags for
        this process, however long ago (tags seldom move; no request, never raises): for
        display where no GitHub call may be made, and when GitHub cannot be asked now.
        None: not a commit, no `github:`, not listed yet, or no tag for it then."""
        gh = self._config.services[service].github
        if gh is None or not is_commit(version):
            return None
        with self._mutex:
            listed = self._tag_commits.get(gh.repository)
        return tag_of(version, listed) if listed else None

    def kept_tags(self, repository: str) -> tuple[str, ...] | None:
        """The tags of `repository` as listed within `tags_ttl`; None when not (no request)."""
        with self._mutex:
            kept = self._listed.get(repository)
        if kept is None or self._clock.now() - kept[1] >= self._tags_ttl:
            return None
        return kept[0]

    def commit(self, service: str, tag: str) -> TagCommit | None:
        """The commit `tag` (a tag `check` returned) points at: known since `check` (kept as
        long as the tag), else asked now. Never raises for GitHub: when it cannot be asked,
        `unknown` says why. None for a service without `github:`."""
        gh = self._config.services[service].github
        if gh is None:
            return None
        repo, now = gh.repository, self._clock.now()
        with self._mutex:
            seen = self._commits.get((repo, tag))
        if seen is not None and now - seen[1] < self._ttl:
            return TagCommit(tag, sha=seen[0])
        try:
            sha = self._source.tag_commit(repo, tag)
        except DeploybotError as e:  # RetryableError (rate limits too), PermanentError, …
            return TagCommit(tag, unknown=str(e))
        if sha is not None:
            with self._mutex:
                self._commits[(repo, tag)] = (sha, now)
        return TagCommit(tag, sha=sha)
