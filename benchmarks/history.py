"""History benchmark: `/deploys`, `/deploys stats`, `/audit` and the App Home's queries on a
database holding 100,000 deployments over 200 services and 3 environments.

Issue 5 asks that `/deploys` and the App Home stay fast with that much history: the history
query under 50 ms on SQLite and on PostgreSQL. For each database the benchmark

* creates a fresh database — a temporary SQLite file; on PostgreSQL (``--postgres URL`` or
  ``TEST_DATABASE_URL``) a dedicated database ``deploybot_history_bench_<pid>`` created on
  that server and dropped at the end — and migrates it with Alembic (``upgrade head``);
* seeds it in bulk (SQLite ``executemany`` on the raw connection, PostgreSQL ``COPY``):
  deployments spread over 365 days (a few services much busier than the rest; deploys,
  rollbacks and migration runs; successes, failed rollouts, failed watches, automatic
  rollbacks, rejections, expiries), the approval decisions of production, and the audit
  events the bot writes for each (the request trail and the state changes);
* times each query through the code the bot runs for it (the services and repositories,
  one transaction per call, as a Slack request would), ``--repeat`` times after a warm-up,
  cycling through environments and services, and prints p50/p95/max in milliseconds.

PostgreSQL gets ``ANALYZE`` after seeding (autovacuum would do it on a live database);
SQLite gets nothing (deploybot never runs ``ANALYZE`` there).

Run it from the repository root::

    .venv/bin/python -m benchmarks.history                    # SQLite; and PostgreSQL if
                                                              # TEST_DATABASE_URL is set
    .venv/bin/python -m benchmarks.history --quick            # 20,000 deployments, 30 runs
    .venv/bin/python -m benchmarks.history --postgres postgresql+psycopg://postgres@127.0.0.1/postgres

The last line says ``TARGET MET`` when the p95 of every history query (`/deploys` with and
without filters) stayed under 50 ms on every database, ``TARGET MISSED`` otherwise. The exit
code is 0 either way (1 if a query returned something other than expected).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks.scratch_database import ScratchDatabase
from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.domain.audit_commands import AuditArgs
from bot.domain.history_commands import HistoryArgs, StatsArgs
from bot.services.access import Access
from bot.services.audit import AuditService, export_events
from bot.services.history import HistoryService
from bot.store.db import Database
from bot.store.schema import upgrade_schema

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
SPAN = timedelta(days=365)
ENVIRONMENTS = ("development", "staging", "production")
ENV_WEIGHTS = (0.40, 0.35, 0.25)
DEFAULT_DEPLOYMENTS, QUICK_DEPLOYMENTS = 100_000, 20_000
DEFAULT_REPEAT, QUICK_REPEAT = 200, 30
SERVICES = 200
TARGET_MS = 50.0
AUDITOR = "U0AUDIT"
USERS = ("U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN", "U0FRANK")
APPROVERS = ("U0BOB", "U0CAROL", "U0DAVE")


# --------------------------------------------------------------------------- configuration

def service_names(n: int) -> list[str]:
    return [f"svc-{i:03d}" for i in range(n)]


def bench_config(services: Sequence[str]) -> AppConfig:
    return parse_config({
        "timezone": "America/New_York",
        "slack": {"deployments_channel": "C0DEPLOYS"},
        "roles": {"deployers": list(USERS), "approvers": list(APPROVERS),
                  "auditors": [AUDITOR]},
        "environments": {"development": {}, "staging": {},
                         "production": {"approval": {"required": 1,
                                                     "approvers": ["approvers"]}}},
        "services": {name: {} for name in services},
        "audit": {"viewers": ["auditors"]},
    }, source="benchmark config")


class NoGroups:
    def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset()


# --------------------------------------------------------------------------- the data

@dataclass
class Seed:
    deployments: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


def generate(count: int, services: Sequence[str], rng: random.Random) -> Seed:
    """`count` deployments over the last year, ids in request order, and what goes with them.

    Service popularity is skewed (weight 1/rank^0.9), as in a real organisation."""
    seed = Seed()
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(services))]
    times = sorted(NOW - SPAN + SPAN * rng.random() for _ in range(count))
    envs = rng.choices(ENVIRONMENTS, ENV_WEIGHTS, k=count)
    svcs = rng.choices(services, weights, k=count)
    versions: dict[tuple[str, str], int] = {}
    last_deploy: dict[tuple[str, str], int] = {}
    audit_id = 0

    def event(at: datetime, actor: str, action: str, deployment_id: int | None,
              environment: str, details: dict[str, Any], ts: str | None = None) -> None:
        nonlocal audit_id
        audit_id += 1
        seed.audit.append({"id": audit_id, "at": at, "actor": actor, "action": action,
                           "deployment_id": deployment_id, "details": details,
                           "slack_channel": "C0DEPLOYS", "slack_ts": ts,
                           "environment": environment})

    for i in range(count):
        d_id = i + 1
        at, env, svc = times[i], envs[i], svcs[i]
        key = (env, svc)
        user = rng.choice(USERS)
        n = versions.get(key, 0)
        roll = rng.random()
        kind = "deploy"
        if roll < 0.02 and key in last_deploy:
            kind = "rollback"
        elif roll < 0.04 and n:
            kind = "migrate"
        previous = f"v1.{n}.0" if n else None
        if kind == "deploy":
            versions[key] = n + 1
            version = f"v1.{n + 1}.0"
        else:
            version = previous or "v1.0.0"
        production = env == "production"
        needs = 1 if production and kind != "rollback" else 0
        outcome = rng.random()
        if needs and outcome < 0.02:
            state = "rejected"
        elif needs and outcome < 0.04:
            state = "expired"
        elif outcome < 0.055:
            state = "cancelled"
        elif outcome < 0.085:
            state = "failed"  # the rollout failed
        elif outcome < 0.10 and kind == "deploy":
            state = "failed_verification"
        elif outcome < 0.115 and kind == "deploy":
            state = "auto_rolled_back"
        else:
            state = "succeeded"
        if at > NOW - timedelta(hours=2) and needs and rng.random() < 0.5:
            state = "awaiting_approval"
        wait = timedelta(minutes=rng.uniform(5, 60)) if needs else timedelta(seconds=5)
        took = timedelta(minutes=rng.uniform(1, 10))
        started = finished = error = None
        final = state
        if state in ("succeeded", "failed", "failed_verification", "auto_rolled_back"):
            started = at + wait
            finished = started + took
        if state == "failed":
            error = "rollout failed: image pull error"
        elif state == "failed_verification":
            final, error = "failed", "failed verification: pods restarting; still live"
        elif state == "auto_rolled_back":
            final = "rolled_back"
            error = f"failed verification: error rate 0.09; rolled back to {previous}"
        elif state in ("rejected", "expired", "cancelled"):
            finished = at + wait
        seed.deployments.append({
            "id": d_id, "service": svc, "environment": env, "version": version,
            "previous_version": previous, "state": final, "requested_by": user,
            "requested_at": at, "approvals_required": needs,
            "expires_at": at + timedelta(hours=2) if needs else None,
            "channel": "C0DEPLOYS", "message_ts": f"{1_700_000_000 + d_id}.000100",
            "started_at": started, "finished_at": finished, "error": error,
            "updated_at": finished or at, "row_version": 3, "kind": kind,
            "target": "orders 0042" if kind == "migrate" else None,
            "rollback_of": last_deploy.get(key) if kind == "rollback" else None,
        })
        text_ = f"{svc} {env} {version}"
        event(at, user, "slack.command", None, env, {"command": "/deploy", "text": text_})
        requested = {"deploy": "deploy.requested", "rollback": "deploy.rollback_requested",
                     "migrate": "migrate.requested"}[kind]
        event(at, user, requested, d_id, env,
              {"service": svc, "environment": env, "version": version})
        if needs and state != "expired" and state != "awaiting_approval":
            approver = rng.choice(APPROVERS)
            approve = state != "rejected"
            seed.decisions.append({"deployment_id": d_id, "user_id": approver,
                                   "approve": approve, "at": at + wait})
            ts = f"{1_700_000_000 + d_id}.000100"
            event(at + wait, approver, "slack.click", None, env,
                  {"action_id": "deploy.approve" if approve else "deploy.reject",
                   "value": str(d_id), "deployment_id": d_id}, ts)
            event(at + wait, approver, "deploy.approved" if approve else "deploy.rejected",
                  d_id, env, {}, ts)
        if started is not None:
            event(started, "deploybot", "deploy.started", d_id, env, {"owner": "bench"})
            if state in ("failed_verification", "auto_rolled_back"):
                event(started + took / 2, "deploybot", "deploy.failed", d_id, env, {})
            if finished is not None and final != "failed":
                event(finished, "deploybot", f"deploy.{final}", d_id, env, {})
        if kind == "deploy" and final in ("succeeded", "failed", "rolled_back"):
            last_deploy[key] = d_id
    return seed


# --------------------------------------------------------------------------- seeding

DEPLOYMENT_COLUMNS = ("id", "service", "environment", "version", "previous_version", "state",
                      "requested_by", "requested_at", "approvals_required", "expires_at",
                      "channel", "message_ts", "started_at", "finished_at", "error",
                      "updated_at", "row_version", "kind", "target", "rollback_of")
DECISION_COLUMNS = ("deployment_id", "user_id", "approve", "at")
AUDIT_COLUMNS = ("id", "at", "actor", "action", "deployment_id", "details", "slack_channel",
                 "slack_ts", "environment")


def _sqlite_value(v: Any) -> Any:
    """What SQLAlchemy's SQLite dialect stores: UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff',
    JSON as text, booleans as 0/1."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, dict):
        return json.dumps(v)
    if isinstance(v, bool):
        return int(v)
    return v


def seed_sqlite(path: str, data: Seed) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for table, columns, rows in (("deployments", DEPLOYMENT_COLUMNS, data.deployments),
                                     ("approval_decisions", DECISION_COLUMNS, data.decisions),
                                     ("audit_events", AUDIT_COLUMNS, data.audit)):
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                   f"({', '.join('?' for _ in columns)})")
            conn.executemany(sql, ([_sqlite_value(r[c]) for c in columns] for r in rows))
        conn.commit()
    finally:
        conn.close()


def seed_postgres(url: str, data: Seed) -> None:
    import psycopg

    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                         dbname=u.database) as conn:
        with conn.cursor() as cur:
            for table, columns, rows in (
                    ("deployments", DEPLOYMENT_COLUMNS, data.deployments),
                    ("approval_decisions", DECISION_COLUMNS, data.decisions),
                    ("audit_events", AUDIT_COLUMNS, data.audit)):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row([json.dumps(r[c]) if c == "details" else r[c]
                                        for c in columns])
            for table, column in (("deployments", "id"), ("audit_events", "id"),
                                  ("approval_decisions", "id")):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                            f"(SELECT coalesce(max({column}), 1) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")


# --------------------------------------------------------------------------- timing

@dataclass
class Timing:
    query: str
    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    rows: float  # rows returned per call, on average
    history: bool = False  # one of the queries the 50 ms target is about


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def measure(label: str, call: Callable[[int], int], *, repeat: int, warmup: int = 5,
            history: bool = False) -> Timing:
    for i in range(warmup):
        call(i)
    samples: list[float] = []
    rows = 0
    for i in range(repeat):
        started = time.perf_counter()
        rows += call(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return Timing(label, repeat, percentile(samples, 50), percentile(samples, 95), samples[-1],
                  rows / repeat, history)


class Failed(Exception):
    """A query returned something other than what the seed implies."""


def run_queries(url: str, config: AppConfig, services: Sequence[str], data: Seed, *,
                repeat: int) -> list[Timing]:
    database = Database.from_url(url)
    clock = ManualClock(NOW)
    history = HistoryService(config=config, store=database, clock=clock)
    audit = AuditService(config=config, store=database, access=Access(config, NoGroups()),
                         clock=clock)
    by_pair: dict[tuple[str, str], int] = {}
    for d in data.deployments:
        by_pair[(d["environment"], d["service"])] = by_pair.get(
            (d["environment"], d["service"]), 0) + 1
    busy = max(by_pair, key=lambda k: by_pair[k])

    def env(i: int) -> str:
        return ENVIRONMENTS[i % len(ENVIRONMENTS)]

    def svc(i: int) -> str:
        return services[(i * 37) % len(services)]

    def listed(args: HistoryArgs) -> int:
        found = history.history(args).deployments
        expected = min(20, sum(n for (e, s), n in by_pair.items()
                               if args.environment in (None, e) and args.service in (None, s)))
        if len(found) != expected:
            raise Failed(f"/deploys {args}: {len(found)} deployments, expected {expected}")
        return len(found)

    def stats(args: StatsArgs) -> int:
        return history.stats(args).overall.changes

    def repo(fn: Callable[[Any], Any]) -> int:
        with database.transaction() as r:
            out = fn(r)
        return len(out[0]) if isinstance(out, tuple) else len(out)

    def audit_page(args: AuditArgs) -> int:
        return len(audit.latest(args, user_id=AUDITOR).events)

    week = NOW - timedelta(days=7)
    queries: list[tuple[str, Callable[[int], int], bool]] = [
        ("/deploys (last 20, everything)", lambda i: listed(HistoryArgs()), True),
        ("/deploys <env>", lambda i: listed(HistoryArgs(environment=env(i))), True),
        ("/deploys <env> <service>",
         lambda i: listed(HistoryArgs(environment=env(i), service=svc(i))), True),
        ("/deploys <env> <busiest service>",
         lambda i: listed(HistoryArgs(environment=busy[0], service=busy[1])), True),
        ("/deploys <service>", lambda i: listed(HistoryArgs(service=svc(i))), True),
        ("/deploys stats (production, 30 d)", lambda i: stats(StatsArgs()), False),
        ("/deploys stats <env> <service>",
         lambda i: stats(StatsArgs(environment=env(i), service=svc(i))), False),
        ("App Home: running versions", lambda i: repo(
            lambda r: r.deployments.running_versions()), False),
        ("App Home: last 10 deployments", lambda i: repo(
            lambda r: r.deployments.recent(10)), False),
    ]
    with database.transaction() as r:
        has_pending = hasattr(r.deployments, "awaiting_approval")  # the App Home's query
    if has_pending:
        queries.append(("App Home: pending approvals", lambda i: repo(
            lambda r: r.deployments.awaiting_approval(10)), False))
    queries += [
        ("/audit (latest 25)", lambda i: audit_page(AuditArgs()), False),
        ("/audit <env> 7d", lambda i: audit_page(AuditArgs(environment=env(i), since=week)),
         False),
    ]
    try:
        timings = [measure(label, call, repeat=repeat, history=is_history)
                   for label, call, is_history in queries]
        started = time.perf_counter()
        exported = sum(1 for _ in export_events(database, since=NOW - timedelta(days=30),
                                                environment="production"))
        took = (time.perf_counter() - started) * 1000
        timings.append(Timing("audit export, production 30 d (once)", 1, took, took, took,
                              exported))
    finally:
        database.dispose()
    return timings


# --------------------------------------------------------------------------- main

def format_table(title: str, timings: Sequence[Timing]) -> str:
    lines = [title, f"{'query':<42}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'rows':>9}"]
    for t in timings:
        lines.append(f"{t.query:<42}{t.p50_ms:>9.2f}{t.p95_ms:>9.2f}{t.max_ms:>9.2f}"
                     f"{t.rows:>9.0f}")
    return "\n".join(lines)


def bench_database(name: str, url: str, seeder: Callable[[Seed], None], config: AppConfig,
                   services: Sequence[str], data: Seed, repeat: int) -> dict[str, Any]:
    print(f"  {name}: migrating …", file=sys.stderr, flush=True)
    upgrade_schema(url)
    started = time.perf_counter()
    seeder(data)
    seeded = time.perf_counter() - started
    print(f"  {name}: seeded in {seeded:.1f} s; timing …", file=sys.stderr, flush=True)
    timings = run_queries(url, config, services, data, repeat=repeat)
    print()
    print(format_table(f"{name} (seeded in {seeded:.1f} s, {repeat} runs per query)", timings),
          flush=True)
    return {"database": name, "seed_s": seeded, "timings": [asdict(t) for t in timings]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_DEPLOYMENTS:,} deployments, {QUICK_REPEAT} runs per query")
    parser.add_argument("--deployments", type=int, default=None,
                        help=f"default {DEFAULT_DEPLOYMENTS:,}")
    parser.add_argument("--services", type=int, default=SERVICES)
    parser.add_argument("--repeat", type=int, default=None,
                        help=f"runs per query (default {DEFAULT_REPEAT})")
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("TEST_DATABASE_URL"),
                        help="a PostgreSQL server to create the benchmark's own database on "
                             "(default $TEST_DATABASE_URL; none: SQLite only)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    ns = parser.parse_args(argv)
    count = ns.deployments or (QUICK_DEPLOYMENTS if ns.quick else DEFAULT_DEPLOYMENTS)
    repeat = ns.repeat or (QUICK_REPEAT if ns.quick else DEFAULT_REPEAT)
    services = service_names(ns.services)
    config = bench_config(services)

    started = time.perf_counter()
    data = generate(count, services, random.Random(5))
    print(f"history benchmark: {count:,} deployments over {len(services)} services and "
          f"{len(ENVIRONMENTS)} environments (+ {len(data.decisions):,} approval decisions, "
          f"{len(data.audit):,} audit events; generated in {time.perf_counter() - started:.1f} "
          f"s); {os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)

    results: list[dict[str, Any]] = []
    failed = False
    try:
        if not ns.no_sqlite:
            with tempfile.TemporaryDirectory(prefix="deploybot-history-") as tmp:
                path = str(Path(tmp) / "history.db")
                results.append(bench_database("sqlite", f"sqlite:///{path}",
                                              lambda d: seed_sqlite(path, d), config, services,
                                              data, repeat))
        if ns.postgres:
            pg = ScratchDatabase(ns.postgres, prefix="deploybot_history_bench")
            try:
                results.append(bench_database("postgresql", pg.url,
                                              lambda d: seed_postgres(pg.url, d), config,
                                              services, data, repeat))
            finally:
                pg.drop()
    except Failed as e:
        print(f"FAILED: {e}")
        failed = True
    if not results:
        return 1
    worst_ms, worst_db, worst_query = max((t["p95_ms"], r["database"], t["query"])
                                          for r in results for t in r["timings"]
                                          if t["history"])
    met = worst_ms < TARGET_MS and not failed
    dbs = " and ".join(r["database"] for r in results)
    print()
    print(f"{'TARGET MET' if met else 'TARGET MISSED'}: every history query's p95 on {dbs} "
          f"is {'under' if met else 'not under'} {TARGET_MS:.0f} ms (slowest: "
          f"`{worst_query}` on {worst_db}, p95 {worst_ms:.1f} ms)")
    if ns.json is not None:
        ns.json.write_text(json.dumps({"deployments": count, "services": len(services),
                                       "repeat": repeat, "results": results,
                                       "target_met": met}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
