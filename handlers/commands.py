"""Slash commands: `/deploy` (and `/deploys`, the status view).

The ack listener only parses (pure, in memory) so the 3-second deadline is never at risk;
the lazy listener makes the one service call and renders the answer.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.container import Container
from bot.domain.commands import USAGE, CancelArgs, DeployArgs, HelpArgs, StatusArgs
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import request_accepted, status_view
from bot.presentation.freeze_views import window_lines
from handlers.replies import ephemeral, ephemeral_ack, reporting


def register(app: App, container: Container) -> None:
    service = container.deployments
    zone = container.config.zone

    def ack_deploy(ack: Ack, command: dict[str, Any]) -> None:
        try:
            args = service.parse(command.get("text") or "")
        except UserError as e:
            ack(**ephemeral_ack(f"⚠️ {e.message}"))
            return
        if isinstance(args, HelpArgs):
            ack(**ephemeral_ack(USAGE))
        elif isinstance(args, DeployArgs):
            ack(**ephemeral_ack(f"⏳ Requesting `{args.service}` `{args.version}` → "
                            f"*{args.environment}*…"))
        else:
            ack()

    def run_deploy(command: dict[str, Any], respond: Respond) -> None:
        try:
            args = service.parse(command.get("text") or "")
        except UserError:
            return  # the ack already told the user what is wrong; say it once
        with reporting(respond, zone):
            if isinstance(args, StatusArgs):
                respond(**ephemeral(_status(container)))
            elif isinstance(args, CancelArgs):
                d = service.cancel(args.deployment_id, user_id=command["user_id"])
                respond(**ephemeral(f"✖️ Deployment #{d.id} is cancelled."))
            elif isinstance(args, DeployArgs):
                d = service.request(args, user_id=command["user_id"],
                                    slack_channel=command.get("channel_id"))
                respond(**ephemeral(request_accepted(d, zone)))

    def ack_status(ack: Ack) -> None:
        ack()

    def run_status(respond: Respond) -> None:
        with reporting(respond, zone):
            respond(**ephemeral(_status(container)))

    app.command(ids.DEPLOY_COMMAND)(ack=ack_deploy, lazy=[run_deploy])
    app.command(ids.DEPLOYS_COMMAND)(ack=ack_status, lazy=[run_status])


def _status(container: Container) -> Any:
    st = container.deployments.status()
    running = [(v.environment, v.service, v.version, v.since) for v in st.running]
    windows = window_lines(container.freezes.status(st.at).environments, container.config.zone)
    return status_view(running, list(st.recent), container.config.zone, windows)
