"""`/flags <environment> [service]`: the feature flags a service declares, as they are where
the environment's flags live, answered to the user only.

The listener parses (pure, in memory) and acks at once with what it is reading; the read
(the flag store, or the flag service once per declared flag) runs on the background pool
and its answer goes back through `respond` (handlers.listeners).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.flags_command import USAGE, FlagsArgs, FlagsHelpArgs
from bot.presentation import ids
from bot.presentation.flags_views import flags_message, reading
from handlers.listeners import Answer, slash_command
from handlers.payloads import Command
from handlers.replies import ephemeral


def register(app: App, container: Container) -> None:
    service = container.flags_view
    zone = container.config.zone

    def answer(args: FlagsArgs, invoked: Command) -> Answer:
        return ephemeral(flags_message(args, service.look(
            args, user_id=invoked.user_id, slack_channel=invoked.channel_id), zone))

    slash_command(app, container, ids.FLAGS_COMMAND, parse=service.parse, help=FlagsHelpArgs,
                  usage=USAGE, acked=reading, answer=answer)
