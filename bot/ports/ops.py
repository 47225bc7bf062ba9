"""What running the bot needs around the services: the metrics they report, what GET /readyz
waits for, the database schema's revision (the doctor), and the public-holiday calendar the
deploy windows read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol


class Holidays(Protocol):
    def between(self, country: str, subdivision: str | None, names: Sequence[str] | None,
                language: str | None, first: date, last: date) -> list[tuple[date, str]]:
        """Public holidays (date, name) from `first` to `last` inclusive."""
        ...


class SchemaStatus(Protocol):
    def revisions(self) -> tuple[str | None, str]:
        """(the database's Alembic revision or None, the code's head); RetryableError when
        the database is unreachable."""
        ...


class Metrics(Protocol):
    """What the services report for /metrics (bot.metrics implements it). Label values are
    bounded: environments from app.yaml, results are deployment states."""

    def deployment_finished(self, environment: str, result: str) -> None: ...

    def approval_waited(self, environment: str, seconds: float) -> None:
        """From a deployment's request to the approval that released it."""
        ...

    def rollout_took(self, environment: str, result: str, seconds: float) -> None:
        """From the runner's start of a deployment to its result."""
        ...


class NoMetrics:
    """Metrics that go nowhere (a service built without them)."""

    def deployment_finished(self, environment: str, result: str) -> None:
        return None

    def approval_waited(self, environment: str, seconds: float) -> None:
        return None

    def rollout_took(self, environment: str, result: str, seconds: float) -> None:
        return None


class Dependency(Protocol):
    """Something the bot cannot serve without (the database, Slack), for GET /readyz."""

    name: str

    def check(self) -> None:
        """Return when it answers; raise RetryableError or PermanentError saying why not."""
        ...
