"""The Abort button on a deployment's card (`/deploy abort <id>` is in handlers.commands).

The listener acks at once; the abort is recorded on the background pool (one service call)
and the clicker told what happens next. The runner carries it out at its next progress
report.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.presentation import ids
from bot.presentation.abort_views import abort_accepted
from handlers.payloads import Click, click_of
from handlers.replies import deployment_id_of, ephemeral, replying, reporting


def register(app: App, container: Container) -> None:
    zone = container.config.zone

    def abort(ack: Ack, body: dict[str, Any], context: BoltContext,
              respond: Respond) -> None:
        ack()
        clicked = click_of(body, context)  # well-formed: handlers.payloads refused it otherwise
        reply = replying(respond, clicked, container.notifier)
        container.background.submit(lambda: run_abort(clicked, reply))

    def run_abort(clicked: Click, respond: Respond) -> None:
        with reporting(respond, zone):
            d = container.abort.abort(deployment_id_of(clicked.action.value),
                                      user_id=clicked.user_id)
            respond(**ephemeral(abort_accepted(d)))

    app.action(ids.ABORT)(abort)
