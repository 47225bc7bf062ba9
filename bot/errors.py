"""Error classes. Every failure is one of three kinds, rendered in one place per adapter.

- `UserError`: the user asked for something the rules refuse; `message` says what and how
  to fix it, and is shown to them (ephemeral in Slack).
- `RetryableError`: a dependency is down or busy; the user is told to try again.
- `PermanentError`: a bug or misconfiguration; logged with a reference the user can quote.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class DeploybotError(Exception):
    """Base class for errors raised on purpose by deploybot."""


class UserError(DeploybotError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CommandUsageError(UserError):
    """Bad text of a slash command: the message names the problem, then shows the command's
    usage (`usage`, set by each command's subclass)."""

    usage = ""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem}\n\n{self.usage}" if self.usage else problem)
        self.problem = problem


class NotFound(UserError):
    pass


class Forbidden(UserError):
    pass


class Conflict(UserError):
    """The state changed under the user (already approved, expired, finished…)."""


class RetryableError(DeploybotError):
    pass


class PermanentError(DeploybotError):
    pass


class RateLimited(RetryableError):
    """A dependency's rate limit is used up: `reset_at` is when it resets (aware UTC), or
    `retry_after` how long to wait, when the dependency said (None: it did not)."""

    def __init__(self, message: str, *, reset_at: datetime | None = None,
                 retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at
        self.retry_after = retry_after
