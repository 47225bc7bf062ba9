"""The Abort button on a deployment's card (`/deploy abort <id>` is in handlers.commands).

The listener acks at once; the abort is recorded on the background pool (one service call)
and the clicker told what happens next (handlers.listeners.on_click). The runner carries it
out at its next progress report.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.presentation import ids
from bot.presentation.abort_views import abort_accepted
from handlers.listeners import Answer, on_click
from handlers.payloads import Click
from handlers.replies import deployment_id_of, ephemeral


def register(app: App, container: Container) -> None:

    def abort(clicked: Click) -> Answer:
        d = container.abort.abort(deployment_id_of(clicked.action.value),
                                  user_id=clicked.user_id)
        return ephemeral(abort_accepted(d))

    on_click(app, container, ids.ABORT, abort)
