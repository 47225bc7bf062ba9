"""`/lock` and `/unlock`: lock a service in an environment, release it, list the locks.

The ack listener only parses (pure, in memory), so bad input is answered within Slack's
3-second deadline and nothing is stored; the background pool makes the one service call
and renders the answer (handlers.listeners.slash_command).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.lock_commands import USAGE, LockArgs, LockHelpArgs, LockListArgs, UnlockArgs
from bot.presentation import ids
from bot.presentation.lock_views import (
    lock_list_view,
    locked_reply,
    unlocked_reply,
    working_on,
)
from handlers.listeners import Answer, slash_command
from handlers.payloads import Command
from handlers.replies import ephemeral

LockCommand = LockArgs | LockListArgs | UnlockArgs


def register(app: App, container: Container) -> None:
    service = container.locks
    zone = container.config.zone

    def answer(args: LockCommand, invoked: Command) -> Answer:
        if isinstance(args, LockListArgs):
            listing = service.list()
            return ephemeral(lock_list_view(listing.locks, listing.at, zone))
        if isinstance(args, LockArgs):
            locked = service.lock(args, user_id=invoked.user_id)
            return ephemeral(locked_reply(locked.lock, zone, announced=locked.announced))
        unlocked = service.unlock(args, user_id=invoked.user_id)
        return ephemeral(unlocked_reply(unlocked.lock, zone, announced=unlocked.announced))

    slash_command(app, container, ids.LOCK_COMMAND, parse=service.parse, help=LockHelpArgs,
                  usage=USAGE, acked=working_on, answer=answer)
    slash_command(app, container, ids.UNLOCK_COMMAND, parse=service.parse_unlock,
                  help=LockHelpArgs, usage=USAGE, acked=working_on, answer=answer)
