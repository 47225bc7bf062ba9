"""Slash commands: `/deploy` (and `/deploy status`, the status view; `/deploys` is in
handlers.history).

The listener parses (pure, in memory) and acks, so the 3-second deadline is never at risk;
the one service call and its rendering run on the container's background pool.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.commands import (
    USAGE,
    AbortArgs,
    CancelArgs,
    DeployArgs,
    HelpArgs,
    Parsed,
    StatusArgs,
)
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.abort_views import abort_accepted
from bot.presentation.blocks import request_accepted, status_view
from bot.presentation.freeze_views import window_lines
from handlers.payloads import command_of
from handlers.replies import ephemeral, ephemeral_ack, refusal, reporting


def register(app: App, container: Container) -> None:
    service = container.deployments
    background = container.background
    zone = container.config.zone

    def deploy(ack: Ack, body: dict[str, Any], context: BoltContext,
               respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if isinstance(args, HelpArgs):
            ack(**ephemeral_ack(USAGE))
            return
        if isinstance(args, DeployArgs):
            ack(**ephemeral_ack(f"⏳ Requesting `{args.service}` `{args.version}` → "
                                f"*{args.environment}*…"))
        else:
            ack()
        user_id, channel_id = invoked.user_id, invoked.channel_id
        background.submit(lambda: run_deploy(args, user_id, channel_id, respond))

    def run_deploy(args: Parsed, user_id: str, channel_id: str | None,
                   respond: Respond) -> None:
        with reporting(respond, zone):
            if isinstance(args, StatusArgs):
                respond(**ephemeral(_status(container)))
            elif isinstance(args, CancelArgs):
                d = service.cancel(args.deployment_id, user_id=user_id)
                respond(**ephemeral(f"✖️ Deployment #{d.id} is cancelled."))
            elif isinstance(args, AbortArgs):
                d = container.abort.abort(args.deployment_id, user_id=user_id)
                respond(**ephemeral(abort_accepted(d)))
            elif isinstance(args, DeployArgs):
                d = service.request(args, user_id=user_id, slack_channel=channel_id)
                respond(**ephemeral(request_accepted(d, zone)))

    app.command(ids.DEPLOY_COMMAND)(deploy)


def _status(container: Container) -> Any:
    st = container.deployments.status()
    windows = window_lines(container.freezes.status(st.at).environments, container.config.zone)
    return status_view(list(st.running), list(st.recent), container.config.zone, windows)
