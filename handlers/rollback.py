"""`/rollback <environment> [service] [version]` and its confirmation button; the Roll back
/ Keep buttons on the card of a deployment whose watch failed.

The listener parses (pure) and acks; the plan (history, the cluster's running version) is
looked up on the background pool and answered with a confirmation to click. The click queues
the rollback (checked again: the running version may have moved meanwhile) and replaces the
confirmation, so it cannot be clicked twice. Roll back / Keep record the verdict on a failed
deployment (one RollbackService call) and tell the clicker what follows.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from bot.container import Container
from bot.domain.rollback_commands import USAGE, RollbackArgs, RollbackHelpArgs
from bot.presentation import ids
from bot.presentation.blocks import request_accepted, verdict_reply
from bot.presentation.rollback_views import rollback_confirmation
from bot.services.rollbacks import Choice
from handlers.listeners import Answer, on_click, slash_command
from handlers.payloads import Click, Command
from handlers.replies import deployment_id_of, ephemeral, replacing


def register(app: App, container: Container) -> None:
    service = container.rollbacks
    zone = container.config.zone

    def looking_up(args: RollbackArgs) -> str:
        return (f"⏳ Looking up what `{args.service}` in *{args.environment}* "
                "can roll back to…")

    def plan(args: RollbackArgs, invoked: Command) -> Answer:
        return ephemeral(rollback_confirmation(service.plan(args, user_id=invoked.user_id)))

    def confirm(clicked: Click) -> Answer:
        d = service.start(clicked.action.value or "", user_id=clicked.user_id,
                          slack_channel=clicked.channel_id)
        return replacing(request_accepted(d, zone))

    def verdict(choice: Choice) -> Callable[[Click], Answer]:
        def decided(clicked: Click) -> Answer:
            done = service.decide(deployment_id_of(clicked.action.value), choice,
                                  user_id=clicked.user_id)
            return ephemeral(verdict_reply(done.failed, done.rollback))
        return decided

    slash_command(app, container, ids.ROLLBACK_COMMAND, parse=service.parse,
                  help=RollbackHelpArgs, usage=USAGE, acked=looking_up, answer=plan)
    on_click(app, container, ids.ROLLBACK_CONFIRM, confirm)
    on_click(app, container, ids.ROLL_BACK, verdict("rollback"))
    on_click(app, container, ids.KEEP, verdict("keep"))
