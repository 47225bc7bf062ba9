"""`/freeze`: the deploy-window status, the freeze list, and adding/removing freezes.

The ack listener only parses (pure, in memory), so bad input is answered within Slack's
3-second deadline and nothing is stored; the lazy listener makes the one service call and
renders the answer.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.freeze_commands import (
    USAGE,
    FreezeAddArgs,
    FreezeHelpArgs,
    FreezeListArgs,
    FreezeRemoveArgs,
    FreezeStatusArgs,
)
from bot.domain.text import shown
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.freeze_views import (
    added_reply,
    freeze_list_view,
    freeze_status_view,
    removed_reply,
)
from handlers.payloads import command_of
from handlers.replies import ephemeral, ephemeral_ack, refusal, reporting


def register(app: App, container: Container) -> None:
    service = container.freezes
    zone = container.config.zone

    def freeze(ack: Ack, body: dict[str, Any], context: BoltContext,
               respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if isinstance(args, FreezeHelpArgs):
            ack(**ephemeral_ack(USAGE))
            return
        if isinstance(args, FreezeAddArgs):
            ack(**ephemeral_ack(f"⏳ Adding the freeze {shown(args.name, limit=80)}…"))
        elif isinstance(args, FreezeRemoveArgs):
            ack(**ephemeral_ack(f"⏳ Removing freeze #{args.number}…"))
        else:
            ack()
        user_id = invoked.user_id
        container.background.submit(lambda: run_freeze(args, user_id, respond))

    def run_freeze(args: object, user_id: str, respond: Respond) -> None:
        with reporting(respond, zone):
            if isinstance(args, FreezeStatusArgs):
                st = service.status()
                respond(**ephemeral(freeze_status_view(st.environments, st.at, zone,
                                                       st.within)))
            elif isinstance(args, FreezeListArgs):
                listing = service.list()
                respond(**ephemeral(freeze_list_view(listing.entries, listing.at, zone,
                                                     listing.within)))
            elif isinstance(args, FreezeAddArgs):
                added = service.add(args, user_id=user_id)
                respond(**ephemeral(added_reply(added.freeze, zone, announced=added.announced)))
            elif isinstance(args, FreezeRemoveArgs):
                removed = service.remove(args.number, user_id)
                respond(**ephemeral(removed_reply(removed.freeze, zone,
                                                  announced=removed.announced)))

    app.command(ids.FREEZE_COMMAND)(freeze)
