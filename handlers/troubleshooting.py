"""`/rollout <environment> [service]`, `/pods <environment> [service]` and `/events
<environment> [service]`: the guide's `kubectl get deployments`, `get pods` and `get events`
in Slack, answered to the user only; and the Pods button under a failed rollout (its value:
the deployment), answering the clicker with `/pods` for that deployment's environment and
service.

The listener parses (pure, in memory) and acks at once with what it is reading; the read
(one or a few requests to the cluster or GitHub) runs on the background pool and its answer
goes back through `respond` (handlers.listeners).
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from bot.container import Container
from bot.domain.troubleshooting_commands import (
    Kind,
    TroubleshootArgs,
    TroubleshootHelpArgs,
    TroubleshootParsed,
    usage,
)
from bot.presentation import ids
from bot.presentation.troubleshooting_views import answer_message, pods_message, reading
from handlers.listeners import Answer, on_click, slash_command
from handlers.payloads import Click, Command
from handlers.replies import deployment_id_of, ephemeral


def register(app: App, container: Container) -> None:
    service = container.troubleshooting
    zone = container.config.zone

    def answer(args: TroubleshootArgs, invoked: Command) -> Answer:
        return ephemeral(answer_message(service.look(args, user_id=invoked.user_id,
                                                     slack_channel=invoked.channel_id), zone))

    def parser(kind: Kind) -> Callable[[str], TroubleshootParsed]:
        return lambda text: service.parse(kind, text)

    slash_command(app, container, ids.ROLLOUT_COMMAND, parse=parser("rollout"),
                  help=TroubleshootHelpArgs, usage=usage("rollout"), acked=reading,
                  answer=answer)
    slash_command(app, container, ids.PODS_COMMAND, parse=parser("pods"),
                  help=TroubleshootHelpArgs, usage=usage("pods"), acked=reading, answer=answer)
    slash_command(app, container, ids.EVENTS_COMMAND, parse=parser("events"),
                  help=TroubleshootHelpArgs, usage=usage("events"), acked=reading,
                  answer=answer)

    def show_pods(clicked: Click) -> Answer:
        pods = service.pods_of_deployment(deployment_id_of(clicked.action.value),
                                          user_id=clicked.user_id,
                                          slack_channel=clicked.where)
        return ephemeral(pods_message(pods, zone))

    on_click(app, container, ids.SHOW_PODS, show_pods)
