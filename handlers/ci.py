"""`/ci <version|run-id> [service]`: the GitHub Actions workflow runs of a version (or one
run), with the failed jobs and steps of failed runs — a lookup, answered to the user only.
`/ci rerun <run-id> [--failed] [service]`: re-run a finished run (deployers only), announced
in the channel the command came from.

The listener parses (pure, in memory) and acks at once; GitHub may need a few requests, so
the one service call runs on the background pool and its answer goes back through `respond`
(handlers.listeners.slash_command).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.ci_commands import USAGE, CIHelpArgs, CIRerunArgs, CIRunsArgs
from bot.presentation import ids
from bot.presentation.ci_views import ci_report_view, looking_up, rerun_view
from handlers.listeners import Answer, slash_command
from handlers.payloads import Command
from handlers.replies import ephemeral, in_channel


def register(app: App, container: Container) -> None:
    service = container.ci
    zone = container.config.zone

    def answer(args: CIRunsArgs | CIRerunArgs, invoked: Command) -> Answer:
        if isinstance(args, CIRerunArgs):
            done = service.rerun(args, user_id=invoked.user_id,
                                 slack_channel=invoked.channel_id)
            return in_channel(rerun_view(done, zone))
        return ephemeral(ci_report_view(service.lookup(args), zone))

    slash_command(app, container, ids.CI_COMMAND, parse=service.parse, help=CIHelpArgs,
                  usage=USAGE, acked=looking_up, answer=answer)
