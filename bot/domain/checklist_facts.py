"""What GitHub says about a version, as the pre-deployment checklist reads it (pure values):
its commit's CI checks, the commits and changed files since the running version with their
pull requests, and why it could not be asked (`Facts`); bot.domain.checklist evaluates them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.flag_status import FlagReading

CheckState = Literal["success", "failure", "pending"]


@dataclass(frozen=True)
class CheckStatus:
    """One CI check of the commit (a check run or a commit status), by its name/context."""

    name: str
    state: CheckState


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    author: str
    url: str
    merged: bool
    approved: bool  # at least one approving review


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str  # the first line of its message
    author: str
    url: str
    pulls: tuple[PullRequest, ...] = ()

    @property
    def reviewed(self) -> bool:
        """It came in through a merged pull request with an approving review."""
        return any(p.merged and p.approved for p in self.pulls)


@dataclass(frozen=True)
class Comparison:
    """What changed from the running version (`base`) to the new one (`head`)."""

    base: str
    head: str
    url: str  # GitHub's compare page
    commits: tuple[Commit, ...]  # oldest first, as GitHub lists them
    total_commits: int
    files: tuple[str, ...]  # paths of the changed files


@dataclass(frozen=True)
class Facts:
    """What GitHub said about a version, as of `checked_at`. `problem` is why it could not
    be asked (then `checks`/`comparison` may be None: unknown)."""

    checks: tuple[CheckStatus, ...] | None = None
    comparison: Comparison | None = None
    problem: str | None = None
    checked_at: datetime | None = None
    no_base: bool = False  # no running version to compare with
    #: The flags the service declares, read where the environment's flags live (None: it
    #: declares none, or they are not read): "Feature flags configured" is evaluated then.
    flags: FlagReading | None = None
