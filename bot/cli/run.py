"""`deploybot run`: serve as one role (bot.roles) — the HTTP app or Socket Mode for Slack and
GitHub, the runner and the scheduler under a leader election — and, when stopping, hand the
running work back (bot.drain). The container, the database and the web stack are imported
only here, once the role, app.yaml and the secrets have been checked: a refusal (one line,
exit 2) loads none of them."""

from __future__ import annotations

import argparse
import logging
import os

from bot.cli.common import fail, settings_and_config
from bot.drain import Drain
from bot.logs import LOG_FORMATS
from bot.roles import ROLES, database_problem, role_of


def cmd_run(ns: argparse.Namespace) -> int:
    """Serve as one role (bot.roles): web answers Slack and GitHub, worker runs the runner
    and the scheduler, all (the default) does both."""
    try:
        role = role_of(ns.role, os.environ)
    except ValueError as e:
        return fail(str(e))
    settings, config = settings_and_config()
    problem = database_problem(role, settings.database_url)
    if problem is not None:
        return fail(problem)
    settings.require_slack(answers=role.answers_slack)

    # Everything it serves with (most of its start-up), imported once nothing refuses it.
    from bot.container import build_container
    from bot.scheduling.leader import LeaderElection
    from bot.scheduling.scheduler import build_scheduler
    from bot.store.leadership import DatabaseLeadership
    from bot.store.schema import ForeignKeysBroken, SchemaOutdated, ensure_schema
    from bot.web import build_asgi, serve
    from handlers import build_app

    socket_url = None  # Socket Mode: Slack takes the app token, or one line and exit 2
    if role.answers_slack and settings.slack_app_token:
        from bot.socket_mode import open_connection

        socket_url = open_connection(settings.slack_app_token, settings.slack_api_url)
    try:
        ensure_schema(settings.database_url, auto=ns.migrate)
    except (SchemaOutdated, ForeignKeysBroken) as e:
        return fail(str(e))
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
