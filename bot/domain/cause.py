"""Why an automatic deploy started (pure): what moved on GitHub, as the webhook delivery or the
poll that saw it said it — a branch moved to a commit (whose, and its message's first line),
or a pull request (its number, head branch, who, its title). Kept with the deployment
(`deployments.cause`, schema revision 0020) and shown on its card, record, result
announcement and `/deploys` history (bot/presentation/cause_views.py).

Every text here is someone's (a commit message, a title, a git author name): it is kept as
GitHub gave it, bounded (`MAX_*`, cut at a word), and escaped only where it is shown. What
GitHub did not give (a push without its head commit, a branch read without the commit's
details) is None: the deploy then says only what is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.text import clip

PUSH = "push"
PULL_REQUEST = "pull_request"
#: The longest first line of a commit message (or pull request title) kept.
MAX_MESSAGE = 200
#: The longest author kept (a GitHub login is at most 39 characters; a git author name is
#: anything).
MAX_AUTHOR = 100
#: The longest branch kept (GitHub's refs are at most 255 bytes).
MAX_BRANCH = 255


def first_line(message: object) -> str | None:
    """The first line of a commit message with text on it, trimmed and cut at a word to
    `MAX_MESSAGE`; None when there is none (or it is no string)."""
    if not isinstance(message, str):
        return None
    line = next((x.strip() for x in message.splitlines() if x.strip()), "")
    return clip(line, MAX_MESSAGE) or None


def _text(value: object, limit: int) -> str | None:
    return clip(value.strip(), limit) if isinstance(value, str) and value.strip() else None


def author_name(value: object) -> str | None:
    """An author as GitHub gave it (a login, or the name git has), trimmed and cut to
    `MAX_AUTHOR`; None when it is not one."""
    return _text(value, MAX_AUTHOR)


@dataclass(frozen=True)
class Cause:
    """What moved: `event` PUSH (`branch` moved to `sha`) or PULL_REQUEST (number
    `pull_request`, head `branch` at `sha`). `author`: a push's head commit's author (their
    GitHub login, else the name git has); a pull request's opener (`opened`) or who acted
    (`synchronize`: pushed to it, `reopened`), or, polled, its opener. `message`: the head
    commit's first line, or the pull request's title. `action`: the pull request's
    (`opened`, `synchronize`, `reopened`); None when polled (a poll sees only a new head)."""

    event: str
    branch: str
    sha: str
    author: str | None = None
    message: str | None = None
    pull_request: int | None = None
    action: str | None = None

    @property
    def commit(self) -> str:
        """The commit as deploys show it (its first 12 characters)."""
        return self.sha[:12]

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"event": self.event, "branch": self.branch, "sha": self.sha}
        for key, value in (("author", self.author), ("message", self.message),
                           ("pull_request", self.pull_request), ("action", self.action)):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cause | None:
        """The cause kept in a row; None when it is not one (what is not, is left out)."""
        event, branch, sha = data.get("event"), data.get("branch"), data.get("sha")
        if event not in (PUSH, PULL_REQUEST) or not isinstance(branch, str) \
                or not isinstance(sha, str) or not sha:
            return None
        number = data.get("pull_request")
        action = data.get("action")
        return cls(event, clip(branch, MAX_BRANCH), sha[:40],
                   author=_text(data.get("author"), MAX_AUTHOR),
                   message=_text(data.get("message"), MAX_MESSAGE),
                   pull_request=number if isinstance(number, int)
                   and not isinstance(number, bool) else None,
                   action=action if isinstance(action, str) and action else None)
