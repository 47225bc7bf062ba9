"""Slash commands: `/deploy` (and `/deploys`, the status view).

The ack listener only parses (pure, in memory) so the 3-second deadline is never at risk;
the lazy listener makes the one service call and renders the answer.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.container import Container
from bot.domain.commands import USAGE, DeployArgs, HelpArgs, StatusArgs
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import notice, status_view
from handlers.replies import ephemeral, ephemeral_ack, reporting


def register(app: App, container: Container) -> None:
    service = container.deployments
    channel = container.config.slack.deployments_channel

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
        with reporting(respond):
            if isinstance(args, StatusArgs):
                respond(**ephemeral(_status(container)))
            elif isinstance(args, DeployArgs):
                d = service.request(args, user_id=command["user_id"],
                                    slack_channel=command.get("channel_id"))
                where = f"<#{d.channel}>" if d.channel and d.channel[0] in "CG" else channel
                if d.needs_approval:
                    text = (f"📝 Deployment #{d.id} requested: `{d.service}` `{d.version}` → "
                            f"*{d.environment}*. The approval request is in {where}; it needs "
                            f"{d.approvals_required} approval(s) from someone other than you.")
                else:
                    text = (f"🚀 Deployment #{d.id} started: `{d.service}` `{d.version}` → "
                            f"*{d.environment}*. Follow it in {where}.")
                respond(**ephemeral(notice(text)))

    def ack_status(ack: Ack) -> None:
        ack()

    def run_status(respond: Respond) -> None:
        with reporting(respond):
            respond(**ephemeral(_status(container)))

    app.command(ids.DEPLOY_COMMAND)(ack=ack_deploy, lazy=[run_deploy])
    app.command(ids.DEPLOYS_COMMAND)(ack=ack_status, lazy=[run_status])


def _status(container: Container) -> Any:
    st = container.deployments.status()
    running = [(v.environment, v.service, v.version, v.since) for v in st.running]
    return status_view(running, list(st.recent), container.config.zone)
