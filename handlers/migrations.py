"""`/migrations <environment> [service]`: the database migration status of a service (the
guide's `showmigrations`), from a one-off Job of the version running there. `/migrate
<environment> [service] <target>`: the guide's migration rollback, requested like a deploy
(same approvals) and run by the deployment runner.

The listener parses (pure, in memory) and acks at once with what is about to run; the Job
takes a minute or more, so the service call runs on the container's `jobs` pool, never on
the listener pool that every other command shares. Its answer goes back through `respond`
(a response_url stays valid for 30 minutes).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.migration_commands import (
    MIGRATE_USAGE,
    MIGRATIONS_USAGE,
    MigrateArgs,
    MigrateHelpArgs,
    MigrationsHelpArgs,
    MigrationsStatusArgs,
)
from bot.presentation import ids
from bot.presentation.blocks import request_accepted
from bot.presentation.migration_views import migration_status_view, running_notice
from handlers.listeners import Answer, slash_command
from handlers.payloads import Command
from handlers.replies import ephemeral


def register(app: App, container: Container) -> None:
    service = container.migrations
    zone = container.config.zone

    def status_running(args: MigrationsStatusArgs) -> str:
        return running_notice(service.status_command(args.service), service=args.service,
                              environment=args.environment,
                              check=service.check_command(args.service))

    def status(args: MigrationsStatusArgs, invoked: Command) -> Answer:
        return ephemeral(migration_status_view(service.status(args, user_id=invoked.user_id),
                                               zone))

    def migrate_requested(args: MigrateArgs) -> str:
        return (f"⏳ Requesting the migrations of `{args.service}` → "
                f"`{' '.join(args.target)}` in *{args.environment}*…")

    def migrate(args: MigrateArgs, invoked: Command) -> Answer:
        d = container.deployments.request_migration(
            args.environment, args.service, args.target, user_id=invoked.user_id,
            slack_channel=invoked.channel_id)
        return ephemeral(request_accepted(d, zone))

    slash_command(app, container, ids.MIGRATIONS_COMMAND, parse=service.parse,
                  help=MigrationsHelpArgs, usage=MIGRATIONS_USAGE, acked=status_running,
                  answer=status, pool=container.jobs)
    slash_command(app, container, ids.MIGRATE_COMMAND, parse=service.parse_migrate,
                  help=MigrateHelpArgs, usage=MIGRATE_USAGE, acked=migrate_requested,
                  answer=migrate)
