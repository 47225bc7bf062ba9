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

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.migration_commands import (
    MIGRATE_USAGE,
    MIGRATIONS_USAGE,
    MigrateArgs,
    MigrationsStatusArgs,
)
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import request_accepted
from bot.presentation.migration_views import migration_status_view, running_notice
from handlers.payloads import command_of
from handlers.replies import ephemeral, ephemeral_ack, refusal, reporting


def register(app: App, container: Container) -> None:
    service = container.migrations
    zone = container.config.zone

    def migrations(ack: Ack, body: dict[str, Any], context: BoltContext,
                   respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if not isinstance(args, MigrationsStatusArgs):
            ack(**ephemeral_ack(MIGRATIONS_USAGE))
            return
        ack(**ephemeral_ack(running_notice(service.status_command(args.service),
                                           service=args.service,
                                           environment=args.environment)))
        user_id = invoked.user_id
        container.jobs.submit(lambda: run_status(args, user_id, respond))

    def run_status(args: MigrationsStatusArgs, user_id: str, respond: Respond) -> None:
        with reporting(respond, zone):
            status = service.status(args, user_id=user_id)
            respond(**ephemeral(migration_status_view(status, zone)))

    def migrate(ack: Ack, body: dict[str, Any], context: BoltContext,
                respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse_migrate(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if not isinstance(args, MigrateArgs):
            ack(**ephemeral_ack(MIGRATE_USAGE))
            return
        ack(**ephemeral_ack(f"⏳ Requesting the migrations of `{args.service}` → "
                            f"`{' '.join(args.target)}` in *{args.environment}*…"))
        user_id, channel_id = invoked.user_id, invoked.channel_id
        container.background.submit(lambda: run_migrate(args, user_id, channel_id, respond))

    def run_migrate(args: MigrateArgs, user_id: str, channel_id: str | None,
                    respond: Respond) -> None:
        with reporting(respond, zone):
            d = container.deployments.request_migration(
                args.environment, args.service, args.target, user_id=user_id,
                slack_channel=channel_id)
            respond(**ephemeral(request_accepted(d, zone)))

    app.command(ids.MIGRATIONS_COMMAND)(migrations)
    app.command(ids.MIGRATE_COMMAND)(migrate)
