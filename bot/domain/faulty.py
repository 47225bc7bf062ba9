"""Versions marked faulty: rolled back from in an environment, so deploying them there again
needs `--force` with a reason (Shipit's "faulty" marking). Plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FaultyMark:
    environment: str
    service: str
    version: str
    reason: str
    marked_by: str  # Slack user id
    marked_at: datetime
    deployment_id: int | None = None  # the deployment whose version was rolled back
