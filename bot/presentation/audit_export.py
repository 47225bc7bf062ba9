"""The audit log as CSV or JSON Lines (`deploybot audit export`): one event per row or line,
the columns always in the same order, times in UTC ISO 8601. Written as it is read."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.domain.audit import AuditEvent

COLUMNS = ("id", "at", "actor", "action", "environment", "deployment_id", "slack_channel",
           "slack_ts", "details")
FORMATS = ("csv", "jsonl")


def utc_iso(at: datetime) -> str:
    """2026-11-18T15:00:00.000000Z"""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_record(e: AuditEvent) -> dict[str, Any]:
    """The event's columns, in COLUMNS order."""
    return {"id": e.id, "at": utc_iso(e.at), "actor": e.actor, "action": e.action,
            "environment": e.environment, "deployment_id": e.deployment_id,
            "slack_channel": e.slack_channel, "slack_ts": e.slack_ts,
            "details": dict(e.details)}


def _details(details: dict[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write_csv(events: Iterable[AuditEvent], out: TextIO) -> int:
    """A header, then one row per event (details as compact JSON); how many rows."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for e in events:
        rec = as_record(e)
        rec["details"] = _details(rec["details"])
        w.writerow(["" if rec[c] is None else rec[c] for c in COLUMNS])
        n += 1
    return n


def write_jsonl(events: Iterable[AuditEvent], out: TextIO) -> int:
    """One JSON object per line, keys in COLUMNS order; how many lines."""
    n = 0
    for e in events:
        out.write(json.dumps(as_record(e), ensure_ascii=False) + "\n")
        n += 1
    return n
