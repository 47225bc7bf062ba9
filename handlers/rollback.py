"""`/rollback <environment> [service] [version]` and its confirmation button.

The listener parses (pure) and acks; the plan (history, the cluster's running version) is
looked up on the background pool and answered with a confirmation to click. The click queues
the rollback (checked again: the running version may have moved meanwhile) and replaces the
confirmation, so it cannot be clicked twice.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.rollback_commands import USAGE, RollbackArgs
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import request_accepted
from bot.presentation.rollback_views import rollback_confirmation
from handlers.payloads import click_of, command_of
from handlers.replies import (
    ephemeral,
    ephemeral_ack,
    refusal,
    replacing,
    replying,
    reporting,
)


def register(app: App, container: Container) -> None:
    service = container.rollbacks
    zone = container.config.zone

    def rollback(ack: Ack, body: dict[str, Any], context: BoltContext,
                 respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if not isinstance(args, RollbackArgs):
            ack(**ephemeral_ack(USAGE))
            return
        ack(**ephemeral_ack(f"⏳ Looking up what `{args.service}` in *{args.environment}* "
                            "can roll back to…"))
        user_id = invoked.user_id
        container.background.submit(lambda: run_plan(args, user_id, respond))

    def run_plan(args: RollbackArgs, user_id: str, respond: Respond) -> None:
        with reporting(respond, zone):
            plan = service.plan(args, user_id=user_id)
            respond(**ephemeral(rollback_confirmation(plan)))

    def confirm(ack: Ack, body: dict[str, Any], context: BoltContext,
                respond: Respond) -> None:
        ack()
        clicked = click_of(body, context)  # well-formed: handlers.payloads refused it otherwise
        value, user_id = clicked.action.value or "", clicked.user_id
        channel = clicked.channel_id
        reply = replying(respond, clicked, container.notifier)  # no response_url: a DM
        container.background.submit(lambda: run_start(value, user_id, channel, reply))

    def run_start(value: str, user_id: str, channel: str | None, respond: Respond) -> None:
        with reporting(respond, zone):
            d = service.start(value, user_id=user_id, slack_channel=channel)
            respond(**replacing(request_accepted(d, zone)))

    app.command(ids.ROLLBACK_COMMAND)(rollback)
    app.action(ids.ROLLBACK_CONFIRM)(confirm)
