"""`/lock` and `/unlock`: lock a service in an environment, release it, list the locks.

The ack listener only parses (pure, in memory), so bad input is answered within Slack's
3-second deadline and nothing is stored; the background pool makes the one service call
and renders the answer.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.lock_commands import USAGE, LockArgs, LockHelpArgs, LockListArgs, UnlockArgs
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.lock_views import lock_list_view, locked_reply, unlocked_reply
from handlers.payloads import command_of
from handlers.replies import ephemeral, ephemeral_ack, refusal, reporting


def register(app: App, container: Container) -> None:
    service = container.locks
    zone = container.config.zone

    def lock(ack: Ack, body: dict[str, Any], context: BoltContext,
             respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if isinstance(args, LockHelpArgs):
            ack(**ephemeral_ack(USAGE))
            return
        if isinstance(args, LockArgs):
            ack(**ephemeral_ack(f"⏳ Locking `{args.service}` in *{args.environment}*…"))
        else:
            ack()
        user_id = invoked.user_id
        container.background.submit(lambda: run(args, user_id, respond))

    def unlock(ack: Ack, body: dict[str, Any], context: BoltContext,
               respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse_unlock(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if isinstance(args, LockHelpArgs):
            ack(**ephemeral_ack(USAGE))
            return
        ack(**ephemeral_ack(f"⏳ Unlocking `{args.service}` in *{args.environment}*…"))
        user_id = invoked.user_id
        container.background.submit(lambda: run(args, user_id, respond))

    def run(args: LockArgs | LockListArgs | UnlockArgs, user_id: str,
            respond: Respond) -> None:
        with reporting(respond, zone):
            if isinstance(args, LockListArgs):
                listing = service.list()
                respond(**ephemeral(lock_list_view(listing.locks, listing.at, zone)))
            elif isinstance(args, LockArgs):
                done = service.lock(args, user_id=user_id)
                respond(**ephemeral(locked_reply(done.lock, done.at, zone,
                                                 announced=done.announced)))
            else:
                done = service.unlock(args, user_id=user_id)
                respond(**ephemeral(unlocked_reply(done.lock, done.at,
                                                   announced=done.announced)))

    app.command(ids.LOCK_COMMAND)(lock)
    app.command(ids.UNLOCK_COMMAND)(unlock)
