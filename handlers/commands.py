"""Slash commands: `/deploy` (and `/deploy status`, the status view; `/deploy` with no text
opens the form, whose submission handlers.deploy_form reads; `/deploys` is in
handlers.history).

The listener parses (pure, in memory) and acks, so the 3-second deadline is never at risk;
the one service call and its rendering run on the container's background pool
(handlers.listeners.slash_command).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.commands import (
    USAGE,
    AbortArgs,
    CancelArgs,
    DeployArgs,
    FormArgs,
    HelpArgs,
    StatusArgs,
)
from bot.presentation import ids
from bot.presentation.abort_views import abort_accepted
from bot.presentation.blocks import Message, request_accepted
from bot.presentation.status_views import status_view
from handlers.listeners import Answer, slash_command
from handlers.payloads import Command
from handlers.replies import ephemeral

DeployCommand = DeployArgs | StatusArgs | CancelArgs | AbortArgs | FormArgs


def register(app: App, container: Container) -> None:
    service = container.deployments
    zone = container.config.zone

    def acked(args: DeployCommand) -> str | None:
        if isinstance(args, DeployArgs):
            return (f"⏳ Requesting `{args.service}` `{args.version}` → "
                    f"*{args.environment}*…")
        return None

    def answer(args: DeployCommand, invoked: Command) -> Answer:
        user_id = invoked.user_id
        if isinstance(args, FormArgs):  # the modal is the answer (handlers.deploy_form)
            container.deploy_form.open(invoked.trigger_id, channel_id=invoked.channel_id)
            return {}
        if isinstance(args, StatusArgs):
            return ephemeral(_status(container))
        if isinstance(args, CancelArgs):
            d = service.cancel(args.deployment_id, user_id=user_id)
            return ephemeral(f"✖️ Deployment #{d.id} is cancelled.")
        if isinstance(args, AbortArgs):
            return ephemeral(abort_accepted(container.abort.abort(args.deployment_id,
                                                                  user_id=user_id)))
        d = service.request(args, user_id=user_id, slack_channel=invoked.channel_id)
        return ephemeral(request_accepted(d, zone))

    slash_command(app, container, ids.DEPLOY_COMMAND, parse=service.parse, help=HelpArgs,
                  usage=USAGE, acked=acked, answer=answer)


def _status(container: Container) -> Message:
    st = container.deployments.status()
    return status_view(st.running, st.recent, container.config.zone, st.windows, st.locks)
