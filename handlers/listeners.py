"""The two shapes every Slack listener here takes, written once.

A slash command (`slash_command`): parse the text (pure, in memory) → a refusal or the usage
as an ephemeral ack → ack (with a "⏳ …" notice where the command says what is about to
happen) → the one service call and its rendering on a pool, never on the ack path. A button
click (`on_click`): ack at once → the one service call and its rendering on the background
pool; a click in the App Home tab has no response_url, so its answer is a DM. A modal's
submission (`on_submission`): read it (pure) → its problems as the ack (the modal shows them)
→ ack → the service call on the pool, answered in a DM.

Each acked request that goes to the pool is kept as acknowledged-but-unanswered
(bot/services/acknowledged.py: noted in memory after the ack, written by its recorder,
forgotten once `_answering` has sent the answer or the error), so a process that dies in
between leaves a row another process tells the person about.

Either way the answer is the keyword arguments for `respond` (`handlers.replies.ephemeral`,
`replacing` or `in_channel`), and any error raised while answering is told to the user
by `handlers.replies.reporting`. Bolt passes a listener's arguments by name: the listeners
built here annotate every parameter, spelt as Bolt spells it (a misspelt one silently becomes
None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext, Respond

from bot.background import Background
from bot.container import Container
from bot.domain.forms import FormProblems
from bot.errors import UserError
from bot.presentation.blocks import Message
from bot.presentation.interrupted_views import click_described, form_described
from bot.services.acknowledged import AcknowledgedRequests, Ticket
from handlers.payloads import Click, Command, click_of, command_of
from handlers.replies import (
    DirectReply,
    Responder,
    ephemeral_ack,
    refusal,
    replying,
    reporting,
)

#: The keyword arguments for `respond`: ephemeral(…), replacing(…) or in_channel(…); {}
#: for nothing to say.
Answer = dict[str, Any]

A = TypeVar("A")


def slash_command(
    app: App,
    container: Container,
    command: str,
    *,
    parse: Callable[[str], object],
    help: type,
    usage: str,
    answer: Callable[[A, Command], Answer],
    acked: Callable[[A], Message | str | None] | None = None,
    pool: Background | None = None,
) -> None:
    """Register the listener of `command`: `parse` its text (a UserError is refused on the
    ack, an instance of `help` answered with `usage`); ack, with `acked(args)` when it gives
    a notice; then `answer(args, invoked)` on `pool` (the background pool unless given).
    `acked` and `answer` get the parsed arguments only when they are not `help`."""
    zone = container.config.zone
    acknowledged = container.acknowledged
    runs_on = pool if pool is not None else container.background

    def listener(ack: Ack, body: dict[str, Any], context: BoltContext,
                 respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            parsed = parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if isinstance(parsed, help):
            ack(**ephemeral_ack(usage))
            return
        args = cast(A, parsed)  # anything but help: what `acked` and `answer` take
        notice = acked(args) if acked is not None else None
        if notice is None:
            ack()
        else:
            ack(**ephemeral_ack(notice))
        kept = acknowledged.note(f"{invoked.command} {invoked.text}".strip(),
                                 user_id=invoked.user_id, response_url=invoked.response_url)
        runs_on.submit(lambda: _answering(respond, zone, lambda: answer(args, invoked),
                                          acknowledged, kept))

    app.command(command)(listener)


def on_click(app: App, container: Container, action_id: str,
             answer: Callable[[Click], Answer]) -> None:
    """Register the listener of the button `action_id`: ack at once, then `answer(clicked)`
    on the background pool. A click in the App Home tab has no response_url: the answer
    goes to the clicker's DM then."""
    zone = container.config.zone
    acknowledged = container.acknowledged

    def listener(ack: Ack, body: dict[str, Any], context: BoltContext,
                 respond: Respond) -> None:
        ack()
        clicked = click_of(body, context)  # well-formed: handlers.payloads refused it otherwise
        reply = replying(respond, clicked, container.notifier)
        first = clicked.actions[0] if clicked.actions else None
        kept = acknowledged.note(click_described(action_id, first.value if first else None),
                                 user_id=clicked.user_id, response_url=reply.response_url)
        container.background.submit(lambda: _answering(reply, zone, lambda: answer(clicked),
                                                       acknowledged, kept))

    app.action(action_id)(listener)


def on_submission(app: App, container: Container, callback_id: str, *,
                  read: Callable[[Click], A], refused: Callable[[FormProblems], dict[str, Any]],
                  answer: Callable[[A, Click], Answer],
                  answer_at: Callable[[Click], str | None] | None = None) -> None:
    """Register the listener of the modal `callback_id`'s view_submission: `read` it (pure);
    FormProblems are the ack (`refused(problems)`: Slack's `response_action: errors`, the
    modal stays open with each message under its field); else ack (the modal closes) and
    `answer(read, submitted)` on the background pool. A view_submission has no response_url
    (a modal gets one only from a conversation select with `response_url_enabled`:
    https://docs.slack.dev/surfaces/modals), so the answer goes to the submitter's DM —
    or to the response_url `answer_at` finds (the message a button that opened the modal
    sat on, carried in its private_metadata)."""
    zone = container.config.zone
    acknowledged = container.acknowledged

    def listener(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        submitted = click_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = read(submitted)
        except FormProblems as e:
            ack(**refused(e))
            return
        ack()
        url = answer_at(submitted) if answer_at is not None else None
        reply: Respond = (DirectReply(submitted.user_id, container.notifier) if not url
                          else container.slack.respond_to(url)
                          if isinstance(container.slack, Responder)
                          else Respond(response_url=url))
        kept = acknowledged.note(form_described(callback_id), user_id=submitted.user_id,
                                 response_url=url or None)
        container.background.submit(
            lambda: _answering(reply, zone, lambda: answer(args, submitted), acknowledged,
                               kept))

    app.view(callback_id)(listener)


def _answering(respond: Respond, zone: ZoneInfo, answer: Callable[[], Answer],
               acknowledged: AcknowledgedRequests, kept: Ticket) -> None:
    """Make the one service call and render it (`answer`), and send it (an empty answer:
    nothing to say, e.g. a modal was opened instead); an error raised on the way is told
    to the user instead. Then the request is answered: `kept` is forgotten."""
    try:
        with reporting(respond, zone):
            reply = answer()
            if reply:
                respond(**reply)
    finally:
        acknowledged.answered(kept)
