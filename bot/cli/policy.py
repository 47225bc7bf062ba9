"""`deploybot policy`: may a deploy go to an environment at a time? The bot's own decision
(app.yaml's windows and freezes, with the database's when it has a schema), printed as text
or JSON; exit 0 allowed, 1 not, 2 bad input."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.cli.common import fail, settings_and_config
from bot.errors import RetryableError


def _policy_time(value: str | None, zone: ZoneInfo) -> datetime:
    """--at: ISO 8601 with any offset; without one, a wall time in the team's zone."""
    from bot.domain.schedule import first_instant

    if value is None:
        return datetime.now(UTC)
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--at {value!r} is not an ISO 8601 time "
                         "(e.g. 2026-11-20T14:05-05:00 or 2026-11-20T14:05)") from None
    return first_instant(t, zone) if t.tzinfo is None else t


def cmd_policy(ns: argparse.Namespace) -> int:
    """May a deploy go to an environment at a time? Exit 0 allowed, 1 not, 2 bad input."""
    import json

    from bot.backends.holiday_calendar import HolidayLibrary
    from bot.domain.policy import decide, local
    from bot.services.policy import HORIZON, PolicyService
    from bot.store.db import Database
    from bot.store.schema import DatabaseUnavailable, existing_tables

    settings, config = settings_and_config()
    zone = config.zone
    env = ns.environment
    if env not in config.environments:
        return fail(f"unknown environment {env!r} (known: {', '.join(config.environments)})")
    deployable = config.services_in(env)
    if ns.service is None:  # the only service, or any service (service-limited freezes aside)
        service = deployable[0] if len(deployable) == 1 else "*"
    elif ns.service not in config.services:
        return fail(f"unknown service {ns.service!r} (known: {', '.join(config.services)})")
    elif ns.service not in deployable:
        return fail(f"service {ns.service!r} does not deploy to {env} "
                     f"(it deploys to {', '.join(config.services[ns.service].environments or [])})")
    else:
        service = ns.service
    try:
        at = _policy_time(ns.at, zone)
    except ValueError as e:
        return fail(str(e))

    url = settings.database_url
    try:
        runtime = "freezes" in existing_tables(url)
    except DatabaseUnavailable as e:
        return fail(str(e))
    if not runtime:
        print("deploybot: note: the database has no schema yet, so freezes added from Slack "
              "are not included", file=sys.stderr)
    database = Database.from_url(url)
    try:
        policy = PolicyService(config=config, store=database, holidays=HolidayLibrary())
        if runtime:
            decision = policy.check(env, service, at=at, emergency=ns.emergency)
        else:
            decision = decide(environment=env, service=service, at=at, emergency=ns.emergency,
                              schedule=policy.schedule(env), horizon=HORIZON, zone=zone,
                              freezes=policy.freezes(at=at, include_runtime=False))
    except RetryableError as e:
        return fail(f"cannot read the freezes from the database: {e}")
    finally:
        database.dispose()

    nxt = decision.next_allowed_at
    if ns.json:
        print(json.dumps({
            "allowed": decision.allowed,
            "reasons": list(decision.reasons),
            "next_allowed_at": nxt.astimezone(zone).isoformat() if nxt else None,
        }))
        return 0 if decision.allowed else 1
    what = env if service == "*" else f"{service} to {env}"
    head = f"{what} at {local(at, zone)}: "
    if decision.allowed and decision.emergency:
        print(head + "allowed as an emergency (needs emergency approval); it overrides:")
    elif decision.allowed:
        print(head + "allowed")
    else:
        print(head + "not allowed:")
    for reason in decision.reasons:
        print(f"  - {reason}")
    if decision.blocked:
        later = local(nxt, zone) if nxt else f"none in the next {HORIZON.days} days"
        label = "without --emergency" if decision.emergency else ""
        print(f"next allowed{' ' + label if label else ''}: {later}")
    return 0 if decision.allowed else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pol = sub.add_parser(
        "policy", help="may a deploy go out now (or --at a time)? exit 0 yes, 1 no, 2 bad input",
        description="Decide, as the bot would, whether a normal (or --emergency) deploy to "
                    "ENVIRONMENT is allowed: every reason that blocks it, and the next allowed "
                    "time in the team's zone. Freezes added from Slack are read from "
                    "$DATABASE_URL (skipped when it has no schema yet); no Slack token is needed.")
    pol.add_argument("environment")
    pol.add_argument("--service", help="the service (default: the environment's only service, "
                                       "else any service)")
    pol.add_argument("--at", help="ISO 8601 time with any offset, e.g. 2026-11-20T14:05-05:00 "
                                  "or 2026-11-20T19:05Z; without an offset it is read in the "
                                  "team's time zone (app.yaml timezone). Default: now")
    pol.add_argument("--emergency", action="store_true",
                     help="the emergency lane: allowed anyway, with what it overrides")
    pol.add_argument("--json", action="store_true",
                     help='print {"allowed": bool, "reasons": [...], "next_allowed_at": '
                          '"<ISO 8601>" or null}')
    pol.set_defaults(func=cmd_policy)
