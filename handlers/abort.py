"""The Abort button on a deployment's card (`/deploy abort <id>` is in handlers.commands).

The listener acks at once; the abort is recorded on the background pool (one service call)
and the clicker told what happens next. The runner carries it out at its next progress
report.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.container import Container
from bot.presentation import ids
from bot.presentation.abort_views import abort_accepted
from handlers.replies import deployment_id_of, ephemeral, replying, reporting


def register(app: App, container: Container) -> None:
    zone = container.config.zone

    def abort(ack: Ack, body: dict[str, Any], action: dict[str, Any],
              respond: Respond) -> None:
        ack()
        reply = replying(respond, body, container.notifier)
        user_id = str(body["user"]["id"])
        container.background.submit(lambda: run_abort(action, user_id, reply))

    def run_abort(action: dict[str, Any], user_id: str, respond: Respond) -> None:
        with reporting(respond, zone):
            d = container.abort.abort(deployment_id_of(action), user_id=user_id)
            respond(**ephemeral(abort_accepted(d)))

    app.action(ids.ABORT)(abort)
