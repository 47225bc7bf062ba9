"""The audit trail of Slack requests, and `/audit`.

A global Bolt middleware notes every slash command (with its text) and every button click in
the audit log, with the Slack user id and the time, before the listener runs. Noting is in
memory only (redaction and the insert happen on the background pool, a batch at a time), so
the ack is not held up. It also tells `handlers.replies` which request is being served, so
that a refusal of it is recorded too (handlers.request_audit).

`/audit [environment] [since] [before <id>]` shows the newest events to the audit viewers
(`audit.viewers`); the listener parses and acks, the one service call runs on the pool
(handlers.listeners.slash_command).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext

from bot.container import Container
from bot.domain.audit import deployment_number
from bot.domain.audit_commands import USAGE, AuditArgs, AuditHelpArgs
from bot.logs import mark_deployment
from bot.presentation import ids
from bot.presentation.audit_views import audit_view
from handlers.listeners import Answer, slash_command
from handlers.payloads import Click, Command, request_of
from handlers.replies import ephemeral
from handlers.request_audit import CURRENT, RequestAudit

log = logging.getLogger(__name__)


def register(app: App, container: Container) -> None:
    audit = container.audit
    zone = container.config.zone

    def note(body: dict[str, Any], context: BoltContext) -> None:
        request = request_of(body, context)  # handlers.payloads refused a malformed one
        if isinstance(request, Command):
            text, user, channel = request.text, request.user_id, request.channel_id
            audit.note_command(user_id=user, command=request.command, text=text,
                               channel_id=channel)
            CURRENT.set(RequestAudit(audit, user, f"{request.command} {text}".strip(),
                                     audit.environment_in(text), channel))
        elif isinstance(request, Click) and request.type == "block_actions":
            user, channel = request.user_id, request.where
            for action in request.actions:
                value = action.chosen
                audit.note_click(user_id=user, action_id=action.action_id, value=value,
                                 block_id=action.block_id, channel_id=channel,
                                 message_ts=request.container.message_ts)
                number = deployment_number(value)
                mark_deployment(number)  # the log lines of this click's work name it
                CURRENT.set(RequestAudit(
                    audit, user, f"click {action.action_id}",
                    None if number is not None else audit.environment_in(value), channel,
                    deployment_id=number))

    def record_request(body: dict[str, Any], context: BoltContext,
                       next: Callable[[], None]) -> None:
        """Global middleware (Bolt's argument names): note the request, then go on."""
        CURRENT.set(None)  # a reused thread (Socket Mode) must not keep the last request
        mark_deployment(None)
        try:
            note(body, context)
        except Exception:  # the audit trail must never cost the user their answer
            log.exception("could not note a Slack request in the audit trail")
        next()

    def answer(args: AuditArgs, invoked: Command) -> Answer:
        page = audit.latest(args, user_id=invoked.user_id)
        return ephemeral(audit_view(page.events, zone, environment=args.environment,
                                    since=args.since, since_text=args.since_text,
                                    more=page.more, before_id=args.before_id))

    app.use(record_request)
    slash_command(app, container, ids.AUDIT_COMMAND, parse=audit.parse, help=AuditHelpArgs,
                  usage=USAGE, answer=answer)
