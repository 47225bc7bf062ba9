"""GitHub webhook deliveries, pure: the signature check and what a delivery asks for.

`X-Hub-Signature-256` is `sha256=` + the hex HMAC-SHA256 of the raw body keyed with the
webhook's secret; it is compared in constant time. A delivery is reduced to the few fields
an automatic deploy needs (repository, branch, commit); everything else is ignored.

A delivery also says why it asks (bot.domain.cause): a push's head commit (its author and its
message's first line; `head_commit` is another commit's or missing: neither), a pull
request's title and who opened it (`opened`) or acted on it (`synchronize`, `reopened`: the
sender).

A pull request's `number` names its preview instance (`pr-<n>`, bot.domain.previews): a
delivery whose number is not one GitHub gives (not a positive integer, or longer than an
instance holds) is ignored with the reason, and one log line; it never reaches a column.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from bot.domain.cause import PULL_REQUEST, PUSH, Cause, author_name, first_line
from bot.domain.versions import SHA_VERSION_LENGTH

log = logging.getLogger(__name__)

#: The pull request actions that deploy its head commit.
PR_ACTIONS = frozenset({"opened", "synchronize", "reopened"})
#: The pull request action that removes its preview (services with per-PR instances).
PR_CLOSED = "closed"
#: The largest pull request number taken: ten digits, what a preview instance `pr-<n>` is
#: read back with (bot.domain.previews); `pr-9999999999` fits its 32-character column.
#: GitHub numbers a repository's issues and pull requests from 1, one sequence.
MAX_PULL_REQUEST = 9_999_999_999


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """True only for `sha256=<hex HMAC-SHA256 of body keyed with secret>`."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


@dataclass(frozen=True)
class GitHubEvent:
    """What one delivery says: `kind` is "push" or "pull_request"; `branch` the pushed branch
    or the pull request's head branch; `sha` the commit to deploy (None: nothing to deploy,
    e.g. a deleted branch); `ignored` why nothing is asked for (None: something may be)."""

    name: str
    repository: str | None
    ref: str | None
    branch: str | None
    sha: str | None
    action: str | None = None
    pull_request: int | None = None
    sender: str | None = None
    ignored: str | None = None
    #: Who moved it (a push's head commit's author; a pull request's opener, or who acted)
    author: str | None = None
    #: The head commit's message's first line (a push), or the pull request's title
    message: str | None = None

    @property
    def cause(self) -> Cause | None:
        """Why a deploy of this event starts (None: it deploys nothing)."""
        if self.ignored is not None or self.branch is None or self.sha is None \
                or self.name not in (PUSH, PULL_REQUEST) or self.closes_pull_request:
            return None
        if self.name == PUSH:
            return Cause(PUSH, self.branch, self.sha, author=self.author,
                         message=self.message)
        return Cause(PULL_REQUEST, self.branch, self.sha, author=self.author,
                     message=self.message, pull_request=self.pull_request,
                     action=self.action)

    @property
    def version(self) -> str | None:
        return self.sha[:SHA_VERSION_LENGTH] if self.sha else None

    @property
    def closes_pull_request(self) -> bool:
        """A pull request was closed (merged or not): its previews are removed."""
        return (self.name == "pull_request" and self.action == PR_CLOSED
                and self.pull_request is not None)


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _field(d: Any, *path: str) -> Any:
    """`d[path[0]][path[1]]…`, or None where a step is not a dict."""
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _head_commit(payload: dict[str, Any], sha: str | None) -> tuple[str | None, str | None]:
    """(author, first line) of a push's head commit: its author's GitHub login (`username`,
    when GitHub matched the email to an account), else the name git has. Only when it is
    the pushed commit (`head_commit.id` is `after`): never another's, nor the pusher."""
    head = payload.get("head_commit")
    if sha is None or not isinstance(head, dict) or head.get("id") != sha:
        return None, None
    author = (author_name(_field(head, "author", "username"))
              or author_name(_field(head, "author", "name")))
    return author, first_line(head.get("message"))


def pull_request_number(value: Any) -> int | None:
    """`value` as a pull request number (1 to MAX_PULL_REQUEST); None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_PULL_REQUEST else None


def _shown(value: Any) -> str:
    """A value from a payload, short enough for a log line or an audit record."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 12:
        try:
            digits = str(abs(value))
        except ValueError:  # more digits than Python converts (JSON never gives one)
            return "a number of thousands of digits"
        return f"{'-' if value < 0 else ''}{digits[:6]}… ({len(digits)} digits)"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:39]}…"


def parse_event(name: str, payload: dict[str, Any]) -> GitHubEvent:
    repo = payload.get("repository")
    repository = _str(repo.get("full_name")) if isinstance(repo, dict) else None
    sender_d = payload.get("sender")
    sender = _str(sender_d.get("login")) if isinstance(sender_d, dict) else None
    if name == "push":
        ref = _str(payload.get("ref"))
        branch = ref[len("refs/heads/"):] if ref and ref.startswith("refs/heads/") else None
        sha = _str(payload.get("after"))
        ignored = None
        if branch is None:
            ignored = "not a branch push"
        elif payload.get("deleted") is True or sha is None or set(sha) == {"0"}:
            ignored, sha = "branch deleted", None
        author, message = _head_commit(payload, sha)
        return GitHubEvent(name, repository, ref, branch, sha, sender=sender, ignored=ignored,
                           author=author, message=message)
    if name == "pull_request":
        pr = payload.get("pull_request")
        pr = pr if isinstance(pr, dict) else {}
        head_d = pr.get("head")
        head: dict[str, Any] = head_d if isinstance(head_d, dict) else {}
        action = _str(payload.get("action"))
        number = pull_request_number(payload.get("number"))
        ignored = None if action in PR_ACTIONS or action == PR_CLOSED \
            else f"pull_request action {action!r}"
        if ignored is None and number is None:
            ignored = (f"pull request number {_shown(payload.get('number'))} is not one "
                       f"(1 to {MAX_PULL_REQUEST})")
            log.warning("GitHub pull_request delivery from %s ignored: %s",
                        (repository or "?")[:100], ignored)
        ref, sha = _str(head.get("ref")), _str(head.get("sha"))
        if ignored is None and action != PR_CLOSED and not (ref and sha):
            # GitHub always sends both; without them there is nothing to deploy.
            ignored = "the pull request names no head branch and commit"
            log.warning("GitHub pull_request delivery from %s ignored: %s",
                        (repository or "?")[:100], ignored)
        # Opened: its author (pull_request.user); new commits pushed, or reopened: who did.
        opener = author_name(_field(pr, "user", "login"))
        actor = author_name(sender)
        author = (opener or actor) if action == "opened" else (actor or opener)
        return GitHubEvent(
            name, repository, ref, ref, sha, action=action, pull_request=number,
            sender=sender, ignored=ignored, author=author,
            message=first_line(pr.get("title")))
    return GitHubEvent(name, repository, None, None, None, sender=sender,
                       ignored=f"event {name!r} is not used")
