"""The `deploybot` command: run, shell, db upgrade, check-config, doctor, policy, audit export.

Configuration or secret problems print one line naming the file/variable, the key and the
reason, and exit with code 2 — never a traceback.

Why one module: argparse's tree and one small `cmd_*` function per command; each imports its
heavy pieces (the container, the web stack, migrations) only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from types import ModuleType
from zoneinfo import ZoneInfo

from bot.config import AppConfig, ConfigError, load_config
from bot.drain import Drain
from bot.errors import RetryableError
from bot.logs import LOG_FORMATS, configure_logging, log_format_from
from bot.presentation.audit_export import COLUMNS as AUDIT_COLUMNS
from bot.presentation.audit_export import FORMATS as AUDIT_FORMATS
from bot.roles import ROLES
from bot.settings import Settings, SettingsError

EXIT_USAGE = 2


def _fail(message: str) -> int:
    print(f"deploybot: {message}", file=sys.stderr)
    return EXIT_USAGE


def _check_holiday(country: str, subdivision: str | None, names: Sequence[str] | None,
                   language: str | None) -> None:
    """app.yaml's holidays checked against the calendar (bot.config's `HolidayCheck`); the
    `holidays` library is imported only when the file names some."""
    from bot.backends.holiday_calendar import check_holiday

    check_holiday(country, subdivision, names, language)


def _settings_and_config(path: str | None = None) -> tuple[Settings, AppConfig]:
    settings = Settings.from_env()
    return settings, load_config(path or settings.config_path, holidays=_check_holiday)


def cmd_check_config(ns: argparse.Namespace) -> int:
    settings = Settings.from_env()
    path = ns.path or settings.config_path
    cfg = load_config(path, holidays=_check_holiday)
    print(f"{path}: OK")
    print(f"  time zone: {cfg.timezone}")
    print(f"  deployments channel: {cfg.slack.deployments_channel}")
    for role, members in cfg.roles.items():
        print(f"  role {role}: {', '.join(members) or '(nobody)'}")
    for name, env in cfg.environments.items():
        a = env.approval
        rule = (f"{a.required} approval(s) from {', '.join(a.approvers)}; self-approval "
                f"{'allowed' if a.allow_self_approval else 'not allowed'}; expires after "
                f"{a.expires_after}") if a else "no approval needed"
        print(f"  environment {name}: deployers {', '.join(env.deployers)}; {rule}")
    for name, svc in cfg.services.items():
        envs = ", ".join(svc.environments or cfg.environments.keys())
        print(f"  service {name}: executor {svc.executor}; versions match "
              f"{svc.version_pattern}; deploys to {envs}")
    ann = cfg.announcements
    production = ", ".join(sorted(cfg.production_environments()))
    print(f"  production environments: {production or '(none)'}")
    print("  result severity: " + ", ".join(f"{outcome} {level}" for outcome, level
                                            in ann.severity.mapping.items()))
    print("  mentions: " + (", ".join(f"{level} {m}" for level, m in ann.mentions.items())
                            or "(none)"))
    routes = cfg.alerts.routes
    print("  alert routes: " + ("; ".join(f"{level} → {', '.join(ds) or 'nowhere'}"
                                          for level, ds in routes.items())
                                or "(none: alerts go to the deployments channel only)"))
    mail = cfg.alerts.email
    print("  daily summary: " + (f"to {', '.join(mail.to)} at {mail.send_at:%H:%M} "
                                 f"{cfg.timezone}" if mail else "(off)"))
    print(f"  audit viewers (/audit): {', '.join(cfg.audit.viewers)}")
    print(f"  locks: a timed lock lasts at most {cfg.locks.max_duration}")
    return 0


def cmd_doctor(ns: argparse.Namespace) -> int:
    """Check the setup (config, database, Slack, Kubernetes, GitHub); exit 1 if anything fails."""
    from bot.doctor import run_doctor

    settings = Settings.from_env()
    return run_doctor(settings, config_path=ns.path or settings.config_path, out=sys.stdout)


def cmd_db(ns: argparse.Namespace) -> int:
    from bot.store.db import make_engine
    from bot.store.schema import current, downgrade_schema, head, upgrade_schema

    settings = Settings.from_env()
    if ns.db_command == "upgrade":
        upgrade_schema(settings.database_url, ns.revision)
        print(f"database upgraded to {ns.revision}")
    elif ns.db_command == "downgrade":
        downgrade_schema(settings.database_url, ns.revision)
        print(f"database downgraded to {ns.revision}")
    else:
        engine = make_engine(settings.database_url)
        try:
            print(f"current: {current(engine) or 'none'}; head: {head()}")
        finally:
            engine.dispose()
    return 0


def cmd_run(ns: argparse.Namespace) -> int:
    """Serve as one role (bot.roles): web answers Slack and GitHub, worker runs the runner
    and the scheduler, all (the default) does both."""
    from bot.container import build_container
    from bot.roles import database_problem, role_of
    from bot.scheduling.leader import LeaderElection
    from bot.scheduling.scheduler import build_scheduler
    from bot.store.leadership import DatabaseLeadership
    from bot.store.schema import SchemaOutdated, ensure_schema
    from bot.web import build_asgi, serve
    from handlers import build_app

    try:
        role = role_of(ns.role, os.environ)
    except ValueError as e:
        return _fail(str(e))
    settings, config = _settings_and_config()
    problem = database_problem(role, settings.database_url)
    if problem is not None:
        return _fail(problem)
    settings.require_slack(answers=role.answers_slack)
    socket_url = None  # Socket Mode: Slack takes the app token, or one line and exit 2
    if role.answers_slack and settings.slack_app_token:
        from bot.socket_mode import open_connection

        socket_url = open_connection(settings.slack_app_token, settings.slack_api_url)
    try:
        ensure_schema(settings.database_url, auto=ns.migrate)
    except SchemaOutdated as e:
        return _fail(str(e))
    assert settings.slack_bot_token is not None
    container = build_container(config, database_url=settings.database_url,
                                slack_token=settings.slack_bot_token,
                                slack_api_url=settings.slack_api_url,
                                github_token=settings.github_token,
                                github_api_url=settings.github_api_url,
                                github_webhook_secret=settings.github_webhook_secret,
                                socket_mode=bool(settings.slack_app_token)
                                and role.answers_slack,
                                github_app=settings.github_app)
    logging.getLogger("bot.cli").info("deploybot run: role %s, instance %s", role.value,
                                      container.instance)
    # Slack's app only where Slack is answered; a worker's routes say it is a worker.
    app = (build_app(container, signing_secret=settings.slack_signing_secret)
           if role.answers_slack else None)
    scheduler = None
    election = None
    if role.runs_deployments:
        # Every worker's scheduler writes its jobs to the shared store, paused; only the
        # leader (bot.scheduling.leader) runs them.
        scheduler = build_scheduler(container)
        scheduler.start(paused=True)
        election = LeaderElection(DatabaseLeadership(container.database.engine),
                                  elected=scheduler.resume, deposed=scheduler.pause,
                                  every=config.runner.poll_every.total_seconds()).start()
        container.runner.resume()
    else:  # queued work waits for a worker's resume poll
        container.runner.refuse_work()
    hand_back_within = max(1.0, config.runner.drain.total_seconds())

    def hand_back() -> None:
        """Stopping (bot.drain): no more scheduled work here (the lead goes to another
        worker at once), running deployments back."""
        if election is not None:
            election.stop()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        container.runner.hand_back(timeout=hand_back_within)

    drain = Drain(hand_back)
    try:
        if app is not None and settings.slack_app_token:
            from bot.socket_mode import serve as serve_socket_mode

            serve_socket_mode(app, settings.slack_app_token, drain=drain, url=socket_url,
                              drain_for=config.runner.drain.total_seconds())
        else:
            # A worker has no Slack requests to finish: it stops serving at once and waits
            # for its hand-back below.
            serve(build_asgi(app, background=container.background,
                             github=container.webhooks if app is not None else None,
                             metrics=container.metrics,
                             readiness=container.readiness, drain=drain),
                  host=ns.host, port=settings.port, drain=drain,
                  drain_for=config.runner.drain.total_seconds() if app is not None else 0.0)
    finally:
        drain.begin()  # however serving ended
        drain.wait(hand_back_within + 5)
        container.close()
    return 0


#: What `deploybot shell` says where the demo tools are not installed (the Docker image).
SHELL_NEEDS_DEVTOOLS = ("deploybot shell needs the demo tools (the devtools package): "
                        "pip install -e '.[demo]' from a checkout")


def _devtools_shell() -> ModuleType | None:
    """devtools.shell, or None where the demo tools are not installed. Imported by name: the
    shell drives the bot against the fakes (FakeSlack, the fake Kubernetes API), which live
    outside the product, and no module of bot/ imports devtools (import-linter)."""
    try:
        return importlib.import_module("devtools.shell")
    except ModuleNotFoundError as e:
        if e.name is not None and (e.name == "devtools" or e.name.startswith("devtools.")):
            return None
        raise


def cmd_shell(ns: argparse.Namespace) -> int:
    shell = _devtools_shell()
    if shell is None:
        print(SHELL_NEEDS_DEVTOOLS, file=sys.stderr)
        return EXIT_USAGE
    settings, config = _settings_and_config(ns.config)
    clock = None
    if ns.at is not None:
        from bot.clock import OffsetClock, SystemClock

        try:
            start = datetime.fromisoformat(ns.at)
        except ValueError:
            return _fail(f"--at {ns.at!r} is not an ISO 8601 time (e.g. 2026-12-02T10:00)")
        if start.tzinfo is None:
            start = start.replace(tzinfo=config.zone)
        clock = OffsetClock(start, SystemClock())
    return int(shell.run_shell(
        config, database_url=ns.database_url or "sqlite:///deploybot-shell.db",
        script=ns.script, config_path=ns.config or settings.config_path, clock=clock,
        cluster=ns.cluster))


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

    settings, config = _settings_and_config()
    zone = config.zone
    env = ns.environment
    if env not in config.environments:
        return _fail(f"unknown environment {env!r} (known: {', '.join(config.environments)})")
    deployable = config.services_in(env)
    if ns.service is None:  # the only service, or any service (service-limited freezes aside)
        service = deployable[0] if len(deployable) == 1 else "*"
    elif ns.service not in config.services:
        return _fail(f"unknown service {ns.service!r} (known: {', '.join(config.services)})")
    elif ns.service not in deployable:
        return _fail(f"service {ns.service!r} does not deploy to {env} "
                     f"(it deploys to {', '.join(config.services[ns.service].environments or [])})")
    else:
        service = ns.service
    try:
        at = _policy_time(ns.at, zone)
    except ValueError as e:
        return _fail(str(e))

    url = settings.database_url
    try:
        runtime = "freezes" in existing_tables(url)
    except DatabaseUnavailable as e:
        return _fail(str(e))
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
        return _fail(f"cannot read the freezes from the database: {e}")
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


def cmd_audit(ns: argparse.Namespace) -> int:
    """`deploybot audit export`: the audit log as CSV or JSON Lines, streamed a batch at a
    time (stdout or --output). Exit 0 done, 2 bad input or an unreachable database."""
    from bot.clock import SystemClock
    from bot.domain.audit import parse_since
    from bot.presentation.audit_export import write_csv, write_jsonl
    from bot.services.audit import export_events
    from bot.store.db import Database
    from bot.store.schema import DatabaseUnavailable, existing_tables

    settings, config = _settings_and_config()
    since = None
    if ns.since is not None:
        try:
            since = parse_since(ns.since, at=SystemClock().now(), zone=config.zone)
        except ValueError as e:
            return _fail(f"--since: {e}")
    if ns.environment is not None and ns.environment not in config.environments:
        print(f"deploybot: note: {ns.environment!r} is not an environment in the "
              "configuration now; exporting its events anyway", file=sys.stderr)
    url = settings.database_url
    try:
        if "audit_events" not in existing_tables(url):
            return _fail("the database has no audit log yet (run `deploybot db upgrade`)")
    except DatabaseUnavailable as e:
        return _fail(str(e))
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
        return _fail(f"cannot read the audit log: {e}")
    finally:
        database.dispose()
    print(f"deploybot: exported {count} audit event(s)"
          + (f" to {ns.output}" if ns.output else ""), file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deploybot", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve Slack (HTTP on $PORT, or Socket Mode with "
                                     "SLACK_APP_TOKEN)")
    run.add_argument("--host", default="0.0.0.0")
    run.add_argument("--role", choices=ROLES, default=None,
                     help="web: answer Slack and GitHub only; worker: run deployments and "
                          "scheduled jobs only (HTTP for probes and /metrics); all (default): "
                          "both. web and worker need PostgreSQL. Default $DEPLOYBOT_ROLE")
    run.add_argument("--migrate", action="store_true",
                     help="upgrade a server database at start (SQLite always is)")
    run.add_argument("--log-format", choices=LOG_FORMATS, default=None,
                     help="text (default) or json: one JSON object per line (time, level, "
                          "logger, message, deployment_id, exception); default $LOG_FORMAT")
    run.set_defaults(func=cmd_run)
    sh = sub.add_parser("shell", help="try the bot locally: type commands, click buttons")
    sh.add_argument("--config", help="app.yaml to use (default $DEPLOYBOT_CONFIG or ./app.yaml)")
    sh.add_argument("--database-url", help="default: sqlite:///deploybot-shell.db")
    sh.add_argument("--script", help="read commands from this file ('-' for stdin) and exit")
    sh.add_argument("--at", help="pretend the time is this (ISO 8601; no offset = the team's "
                                 "zone) and let it run on from there: try the deploy windows")
    sh.add_argument("--cluster", choices=("simulated", "fake"), default="simulated",
                    help="where the services run: the simulated cluster (default), or 'fake': "
                         "every service on the Kubernetes executor against a local fake "
                         "Kubernetes API server started for the session (one Deployment per "
                         "environment and service; versions matching simulated.fail_versions "
                         "cannot be pulled)")
    sh.set_defaults(func=cmd_shell)
    db = sub.add_parser("db", help="database schema (Alembic)")
    dbs = db.add_subparsers(dest="db_command", required=True)
    up = dbs.add_parser("upgrade")
    up.add_argument("revision", nargs="?", default="head")
    down = dbs.add_parser("downgrade")
    down.add_argument("revision")
    dbs.add_parser("current")
    db.set_defaults(func=cmd_db)
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
    cc = sub.add_parser("check-config", help="validate app.yaml and print what it says")
    cc.add_argument("path", nargs="?")
    cc.set_defaults(func=cmd_check_config)
    doc = sub.add_parser(
        "doctor", help="check the setup: app.yaml, database, Slack token, scopes and channel, "
                       "Kubernetes RBAC, GitHub; exit 1 if anything fails",
        description="Check, with the environment's secrets, everything deploybot needs: app.yaml "
                    "loads; the database is reachable and migrated; the Slack token is valid, "
                    "has every scope of slack-manifest.yaml, and the bot is in the deployments "
                    "channel; each Kubernetes environment grants the executor's verbs "
                    "(SelfSubjectAccessReview); each GitHub repository is visible. Prints each "
                    "check as ✅ or ❌ with the fix.")
    doc.add_argument("path", nargs="?", help="app.yaml to check (default $DEPLOYBOT_CONFIG "
                                             "or ./app.yaml)")
    doc.set_defaults(func=cmd_doctor)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    try:  # --log-format, else LOG_FORMAT, else text; secrets are masked in either
        log_format = getattr(ns, "log_format", None) or log_format_from(
            os.environ.get("LOG_FORMAT")) or "text"
    except ValueError as e:
        return _fail(f"LOG_FORMAT: {e}")
    configure_logging(log_format, level=logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code: int = ns.func(ns)
        return code
    except (ConfigError, SettingsError) as e:
        return _fail(str(e))
    except RetryableError as e:  # e.g. the database is down at start
        print(f"deploybot: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
