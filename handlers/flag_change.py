"""`/flag <environment> <name> on|off|<variant> ["reason"]`: change a feature flag, requested
like a deploy (bot.services.flag_changes); and the "Turn <flag> off" button beside Rollback
on the card of a deployment whose watch failed (the kill switch): the same request, as
`/flag <env> <flag> off "kill switch after failed deploy #N"` by the clicker.

The listener parses (pure) and acks; the service call (it reads the flag where it is kept)
runs on the background pool and is answered with where the request went.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.flag_changes import FLAG_USAGE, FlagArgs, FlagHelpArgs
from bot.domain.text import shown
from bot.presentation import ids
from bot.presentation.blocks import request_accepted
from handlers.listeners import Answer, on_click, slash_command
from handlers.payloads import Click, Command
from handlers.replies import ephemeral


def register(app: App, container: Container) -> None:
    service = container.flag_changes
    zone = container.config.zone

    def requesting(args: FlagArgs) -> str:
        return (f"⏳ Requesting flag {shown(args.flag)} → {shown(args.value)} in "
                f"*{args.environment}*…")

    def change(args: FlagArgs, invoked: Command) -> Answer:
        d = service.request_change(args, user_id=invoked.user_id,
                                   slack_channel=invoked.channel_id)
        return ephemeral(request_accepted(d, zone))

    def kill_switch(clicked: Click) -> Answer:
        d = service.kill_switch(clicked.action.value or "", user_id=clicked.user_id,
                                slack_channel=clicked.channel_id)
        return ephemeral(request_accepted(d, zone))

    slash_command(app, container, ids.FLAG_COMMAND, parse=service.parse, help=FlagHelpArgs,
                  usage=FLAG_USAGE, acked=requesting, answer=change)
    # One id per kill switch on a card (ids.TURN_FLAG_OFF_IDS), each named here: every
    # listener's id is an `ids.` constant (tests/test_slack_manifest.py reads them).
    on_click(app, container, ids.TURN_FLAG_OFF, kill_switch)
    on_click(app, container, ids.TURN_FLAG_OFF_2, kill_switch)
    on_click(app, container, ids.TURN_FLAG_OFF_3, kill_switch)
