"""`/freeze`: the deploy-window status, the freeze list, and adding/removing freezes.

The ack listener only parses (pure, in memory), so bad input is answered within Slack's
3-second deadline and nothing is stored; the one service call and its rendering run on the
background pool (handlers.listeners.slash_command).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.freeze_commands import (
    USAGE,
    FreezeAddArgs,
    FreezeHelpArgs,
    FreezeListArgs,
    FreezeRemoveArgs,
    FreezeStatusArgs,
)
from bot.presentation import ids
from bot.presentation.freeze_views import (
    added_reply,
    freeze_list_view,
    freeze_status_view,
    removed_reply,
    working_on,
)
from handlers.listeners import Answer, slash_command
from handlers.payloads import Command
from handlers.replies import ephemeral

FreezeCommand = FreezeStatusArgs | FreezeListArgs | FreezeAddArgs | FreezeRemoveArgs


def register(app: App, container: Container) -> None:
    service = container.freezes
    zone = container.config.zone

    def answer(args: FreezeCommand, invoked: Command) -> Answer:
        if isinstance(args, FreezeStatusArgs):
            st = service.status()
            return ephemeral(freeze_status_view(st.environments, st.at, zone, st.within))
        if isinstance(args, FreezeListArgs):
            listing = service.list()
            return ephemeral(freeze_list_view(listing.entries, listing.at, zone,
                                              listing.within))
        if isinstance(args, FreezeAddArgs):
            added = service.add(args, user_id=invoked.user_id)
            return ephemeral(added_reply(added.freeze, zone, announced=added.announced))
        removed = service.remove(args.number, invoked.user_id)
        return ephemeral(removed_reply(removed.freeze, zone, announced=removed.announced))

    slash_command(app, container, ids.FREEZE_COMMAND, parse=service.parse,
                  help=FreezeHelpArgs, usage=USAGE, acked=working_on, answer=answer)
