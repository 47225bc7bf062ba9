"""`/logs <environment> [service] [pod] [--previous] [--since 10m] [--tail 200] [--grep
text]`: the guide's `kubectl logs` in Slack, the tail posted as a file (redacted) in the
deployment's thread or to the person; and the Logs button under a failed rollout (its value:
the deployment), the same for that deployment's environment and service, into its thread.

The listener parses (pure, in memory) and acks at once with what it is reading; the read
and the upload (a large log takes a while) run on the container's `jobs` pool like
`/migrations`, never on the listener pool the other commands share. The answer (a link to
the file, or why nothing was posted) goes back through `respond`.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.log_commands import USAGE, LogsArgs, LogsHelpArgs
from bot.presentation import ids
from bot.presentation.log_views import answer_text, reading_notice
from bot.services.logs import LogsPosted
from handlers.listeners import Answer, on_click, slash_command
from handlers.payloads import Click, Command
from handlers.replies import deployment_id_of, ephemeral


def _answer(posted: LogsPosted) -> Answer:
    return ephemeral(answer_text(posted.read, permalink=posted.permalink,
                                 in_thread=posted.in_thread, note=posted.note))


def register(app: App, container: Container) -> None:
    service = container.logs

    def acked(args: LogsArgs) -> str:
        return reading_notice(args.environment, args.service, args.pod, args.flags)

    def answer(args: LogsArgs, invoked: Command) -> Answer:
        return _answer(service.read(args, user_id=invoked.user_id,
                                    slack_channel=invoked.channel_id))

    slash_command(app, container, ids.LOGS_COMMAND, parse=service.parse, help=LogsHelpArgs,
                  usage=USAGE, acked=acked, answer=answer, pool=container.jobs)

    def show_logs(clicked: Click) -> Answer:
        return _answer(service.read_for_deployment(deployment_id_of(clicked.action.value),
                                                   user_id=clicked.user_id,
                                                   slack_channel=clicked.where))

    on_click(app, container, ids.SHOW_LOGS, show_logs)
