"""`/ci <version|run-id> [service]`: the GitHub Actions workflow runs of a version (or one
run), with the failed jobs and steps of failed runs — a lookup, answered to the user only.
`/ci rerun <run-id> [--failed] [service]`: re-run a finished run (deployers only), announced
in the channel the command came from.

The listener parses (pure, in memory) and acks at once; GitHub may need a few requests, so
the one service call runs on the background pool and its answer goes back through `respond`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.ci_commands import USAGE, CIHelpArgs, CIRerunArgs, CIRunsArgs
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import Message
from bot.presentation.ci_views import ci_report_view, looking_up, rerun_view
from handlers.payloads import command_of
from handlers.replies import ephemeral, ephemeral_ack, refusal, reporting


def in_channel(msg: Message) -> dict[str, Any]:
    """Keyword arguments for `respond`: a message everyone in the channel sees."""
    return {"text": msg.text, "blocks": msg.blocks, "response_type": "in_channel",
            "replace_original": False}


def register(app: App, container: Container) -> None:
    service = container.ci
    zone = container.config.zone

    def ci(ack: Ack, body: dict[str, Any], context: BoltContext,
           respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if isinstance(args, CIHelpArgs):
            ack(**ephemeral_ack(USAGE))
            return
        ack(**ephemeral_ack(looking_up(args)))
        user_id, channel_id = invoked.user_id, invoked.channel_id
        container.background.submit(lambda: run(args, user_id, channel_id, respond))

    def run(args: CIRunsArgs | CIRerunArgs, user_id: str, channel_id: str | None,
            respond: Respond) -> None:
        with reporting(respond, zone):
            if isinstance(args, CIRerunArgs):
                done = service.rerun(args, user_id=user_id, slack_channel=channel_id)
                respond(**in_channel(rerun_view(done, zone)))
            else:
                respond(**ephemeral(ci_report_view(service.lookup(args), zone)))

    app.command(ids.CI_COMMAND)(ci)
