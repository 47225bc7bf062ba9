"""`/rollback <environment> [service] [version]` and its confirmation button.

The listener parses (pure) and acks; the plan (history, the cluster's running version) is
looked up on the background pool and answered with a confirmation to click. The click queues
the rollback (checked again: the running version may have moved meanwhile) and replaces the
confirmation, so it cannot be clicked twice.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.container import Container
from bot.domain.rollback_commands import USAGE, RollbackArgs
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import request_accepted
from bot.presentation.rollback_views import rollback_confirmation
from handlers.replies import ephemeral, ephemeral_ack, refusal, replacing, reporting


def register(app: App, container: Container) -> None:
    service = container.rollbacks
    zone = container.config.zone

    def rollback(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        try:
            args = service.parse(command.get("text") or "")
        except UserError as e:
            ack(**refusal(e))
            return
        if not isinstance(args, RollbackArgs):
            ack(**ephemeral_ack(USAGE))
            return
        ack(**ephemeral_ack(f"⏳ Looking up what `{args.service}` in *{args.environment}* "
                            "can roll back to…"))
        user_id = command["user_id"]
        container.background.submit(lambda: run_plan(args, user_id, respond))

    def run_plan(args: RollbackArgs, user_id: str, respond: Respond) -> None:
        with reporting(respond, zone):
            plan = service.plan(args, user_id=user_id)
            respond(**ephemeral(rollback_confirmation(plan)))

    def confirm(ack: Ack, body: dict[str, Any], action: dict[str, Any],
                respond: Respond) -> None:
        ack()
        value, user_id = str(action.get("value", "")), body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        container.background.submit(lambda: run_start(value, user_id, channel, respond))

    def run_start(value: str, user_id: str, channel: str | None, respond: Respond) -> None:
        with reporting(respond, zone):
            d = service.start(value, user_id=user_id, slack_channel=channel)
            respond(**replacing(request_accepted(d, zone)))

    app.command(ids.ROLLBACK_COMMAND)(rollback)
    app.action(ids.ROLLBACK_CONFIRM)(confirm)
