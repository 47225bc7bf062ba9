"""`deploybot audit export`: the audit log as CSV or JSON Lines, streamed a batch at a time
(stdout or --output)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import fail, settings_and_config
from bot.errors import RetryableError
from bot.presentation.audit_export import COLUMNS as AUDIT_COLUMNS
from bot.presentation.audit_export import FORMATS as AUDIT_FORMATS


def cmd_audit(ns: argparse.Namespace) -> int:
    """`deploybot audit export`: the audit log as CSV or JSON Lines, streamed a batch at a
    time (stdout or --output). Exit 0 done, 2 bad input or an unreachable database."""
    from bot.clock import SystemClock
    from bot.domain.audit import parse_since
    from bot.presentation.audit_export import write_csv, write_jsonl
    from bot.services.audit import export_events
    from bot.store.db import Database
    from bot.store.schema import DatabaseUnavailable, existing_tables

    settings, config = settings_and_config()
    since = None
    if ns.since is not None:
        try:
            since = parse_since(ns.since, at=SystemClock().now(), zone=config.zone)
        except ValueError as e:
            return fail(f"--since: {e}")
    if ns.environment is not None and ns.environment not in config.environments:
        print(f"deploybot: note: {ns.environment!r} is not an environment in the "
              "configuration now; exporting its events anyway", file=sys.stderr)
    url = settings.database_url
    try:
        if "audit_events" not in existing_tables(url):
            return fail("the database has no audit log yet (run `deploybot db upgrade`)")
    except DatabaseUnavailable as e:
        return fail(str(e))
    write = write_csv if ns.format == "csv" else write_jsonl
    database = Database.from_url(url)
    try:
        events = export_events(database, since=since, environment=ns.environment)
        if ns.output is None:
            count = write(events, sys.stdout)
        else:
            with open(ns.output, "w", encoding="utf-8", newline="") as out:
                count = write(events, out)
    except RetryableError as e:
        return fail(f"cannot read the audit log: {e}")
    finally:
        database.dispose()
    print(f"deploybot: exported {count} audit event(s)"
          + (f" to {ns.output}" if ns.output else ""), file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    aud = sub.add_parser("audit", help="the audit log (export)")
    auds = aud.add_subparsers(dest="audit_command", required=True)
    exp = auds.add_parser(
        "export", help="write the audit log as CSV or JSON Lines",
        description="Write every audit event (Slack commands, clicks, refusals and state "
                    "changes) from $DATABASE_URL, oldest first, one per row or line; "
                    "columns in a fixed order: " + ", ".join(AUDIT_COLUMNS)
                    + "; times in UTC ISO 8601.")
    exp.add_argument("--format", choices=AUDIT_FORMATS, default="csv")
    exp.add_argument("--since", help="7d, 24h, 30m, 2w (back from now), a date (2026-11-01: "
                                     "from its start in the team's time zone) or ISO 8601 "
                                     "(without an offset: the team's time zone)")
    exp.add_argument("--environment", help="only the events of this environment")
    exp.add_argument("--output", "-o", help="write to this file (default: standard output)")
    aud.set_defaults(func=cmd_audit)
