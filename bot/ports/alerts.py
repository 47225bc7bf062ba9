"""What the alerts and the daily summary send through: an on-call pager and an email server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.alerts import PagerEvent


class Pager(Protocol):
    """An on-call paging service (PagerDuty Events API v2): trigger or resolve an incident.
    Raises RetryableError (down, 5xx, 429) or PermanentError (refused: a 4xx)."""

    def send(self, event: PagerEvent) -> None: ...


class Mailer(Protocol):
    """Sends one plain-text email (the daily summary). Raises RetryableError (the server
    is down or said try later) or PermanentError (refused: bad login, bad recipients)."""

    def send(self, *, sender: str, to: Sequence[str], subject: str, body: str) -> None: ...
