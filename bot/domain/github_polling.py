"""GitHub polling, pure: what one look at a repository saw, as the events webhooks would have
delivered, and the claim keys that make each new head commit count once.

A poll sees the head commit of each watched branch and of each open pull request. Each
(repository, branch or pull request, commit) has one claim key (`github-poll:...`): whoever
claims it first handles that commit, in any process. A "baseline" key per branch (and one
per repository for its pull requests) marks that it has been looked at before: the first
look ever claims what it sees without deploying it (it is already there), every later look
deploys only heads whose key is new. Both live in the announcements claim table, so they
survive restarts: a head seen before a restart is not deployed again after it; one that
appeared while the bot was down is deployed at the first poll.

For repositories with per-PR previews, each pull request seen open also holds a key
(`github-poll-open:<repository>:pr<n>`) while it is open; one that is no longer in the open
list has been closed (or merged): whoever deletes its key hands on the close, as the
`pull_request` `closed` delivery a webhook would have made.

A head whose deploy of a service was refused only because another deployment of it is in
flight there waits (`github-poll-wait:<look>:<head>:<service>:<version>`, the look's
baseline and the head's claim key each as a short digest): every later look hands it on
again for that service, by the one process that deletes the key first; a look whose heads no
longer include it (the branch or pull request moved on) drops it, superseded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.domain.cause import author_name, first_line
from bot.domain.github_events import PR_CLOSED, GitHubEvent

#: The claim table's key column holds at most this many characters.
MAX_KEY = 255


@dataclass(frozen=True)
class PullHead:
    """An open pull request: its number, head branch and head commit; who opened it and its
    title, as GitHub gave them (None: not given)."""

    number: int
    branch: str
    sha: str
    author: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class BranchHead:
    """A branch's head commit: its sha, its author (their GitHub login, else the name git
    has) and its whole message, as GitHub gave them (None: not given)."""

    sha: str
    author: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Seen:
    """One head commit a poll saw, as the event it stands for, and its claim key."""

    key: str
    event: GitHubEvent


def _key(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[:MAX_KEY - len(digest) - 1]}:{digest}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The start of every waiting key (of every look).
WAITING_KEYS = "github-poll-wait:"


def waiting_prefix(baseline: str) -> str:
    """The start of the waiting keys of one look (by its baseline key)."""
    return f"{WAITING_KEYS}{_digest(baseline)}:"


def waiting_key(baseline: str, seen: Seen, service: str) -> str:
    """`seen` waits to be deployed for `service` (another deployment was in flight)."""
    return _key(f"{waiting_prefix(baseline)}{_digest(seen.key)}", service,
                seen.event.version or "")


@dataclass(frozen=True)
class Waiting:
    """A waiting key read back: the head it stands for (None: superseded, not among the
    look's heads now), the service and the version that waits."""

    key: str
    seen: Seen | None
    service: str
    version: str


def waiting(baseline: str, key: str, heads: tuple[Seen, ...]) -> Waiting:
    head, *service, version = key.removeprefix(waiting_prefix(baseline)).split(":")
    seen = next((s for s in heads if _digest(s.key) == head), None)
    return Waiting(key, seen, ":".join(service), version)


def look_of(event: GitHubEvent) -> tuple[str, Seen] | None:
    """The look a delivered push or pull request head belongs to (its baseline key) and the
    head as polling sees it; None for anything else (a close, a tag, no commit)."""
    if event.repository is None or event.branch is None or event.sha is None:
        return None
    if event.name == "push":
        return (branch_baseline_key(event.repository, event.branch),
                branch_head(event.repository, event.branch,
                            BranchHead(event.sha, event.author, event.message)))
    if event.name == "pull_request" and event.pull_request is not None:
        return (pulls_baseline_key(event.repository),
                pull_head(event.repository,
                          PullHead(event.pull_request, event.branch, event.sha, event.author,
                                   event.message)))
    return None


def branch_baseline_key(repository: str, branch: str) -> str:
    return _key("github-poll-baseline", repository.lower(), "branch", branch)


def pulls_baseline_key(repository: str) -> str:
    return _key("github-poll-baseline", repository.lower(), "pulls")


def branch_head(repository: str, branch: str, head: BranchHead) -> Seen:
    """The head of `branch` as a push to it would have said it (its head commit's author
    and message's first line, when GitHub gave them)."""
    event = GitHubEvent("push", repository, f"refs/heads/{branch}", branch, head.sha,
                        author=author_name(head.author), message=first_line(head.message))
    return Seen(_key("github-poll", repository.lower(), "branch", branch, head.sha), event)


def open_pulls_prefix(repository: str) -> str:
    """The start of the keys of a repository's pull requests seen open."""
    return f"github-poll-open:{repository.lower()}:pr"


def open_pull_key(repository: str, number: int) -> str:
    return f"{open_pulls_prefix(repository)}{number}"


def open_pull_number(repository: str, key: str) -> int | None:
    """The pull request number of an open pull request's key (None: not one)."""
    rest = key.removeprefix(open_pulls_prefix(repository))
    return int(rest) if rest != key and rest.isdigit() else None


def pull_closed(repository: str, number: int) -> Seen:
    """A pull request seen open before and no longer, as a `closed` delivery would have
    said it (its key names it in the delivery's audit record)."""
    event = GitHubEvent("pull_request", repository, None, None, None, action=PR_CLOSED,
                        pull_request=number)
    return Seen(_key("github-poll-closed", repository.lower(), f"pr{number}"), event)


def pull_head(repository: str, pull: PullHead) -> Seen:
    """An open pull request's head as a pull_request delivery (opened or synchronized) would
    have said it — but without its action: a poll sees a new head, not what made it."""
    event = GitHubEvent("pull_request", repository, pull.branch, pull.branch, pull.sha,
                        pull_request=pull.number, author=author_name(pull.author),
                        message=first_line(pull.title))
    return Seen(_key("github-poll", repository.lower(), f"pr{pull.number}", pull.sha), event)
