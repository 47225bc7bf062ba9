"""The buttons of a deploy and its deploy window: Queue it for the window (offered when the
window refused it), and on a deploy waiting for its window, Start it (once it may), Cancel,
and Approve ahead of the window.

Each click is acked at once; the one DeploymentService call and its answer run on the
background pool (handlers.listeners.on_click).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.presentation import ids
from bot.presentation.blocks import approved_ahead_reply, request_accepted
from handlers.listeners import Answer, on_click
from handlers.payloads import Click
from handlers.replies import deploy_named, deployment_id_of, ephemeral


def register(app: App, container: Container) -> None:
    service = container.deployments
    zone = container.config.zone

    def queue_for_window(clicked: Click) -> Answer:
        args = deploy_named(service.parse(clicked.action.value or ""))
        d = service.schedule_for_window(args, user_id=clicked.user_id)
        return ephemeral(request_accepted(d, zone))

    def start_scheduled(clicked: Click) -> Answer:
        d = service.confirm_scheduled(deployment_id_of(clicked.action.value),
                                      user_id=clicked.user_id)
        return ephemeral(request_accepted(d, zone))

    def cancel_scheduled(clicked: Click) -> Answer:
        d = service.cancel(deployment_id_of(clicked.action.value), user_id=clicked.user_id)
        return ephemeral(f"✖️ Deployment #{d.id} is cancelled.")

    def approve_ahead(clicked: Click) -> Answer:
        result = service.approve_ahead(
            deployment_id_of(clicked.action.value), user_id=clicked.user_id,
            slack_channel=clicked.container.channel_id, slack_ts=clicked.container.message_ts)
        return ephemeral(approved_ahead_reply(result.deployment, zone, started=result.started))

    on_click(app, container, ids.QUEUE_FOR_WINDOW, queue_for_window)
    on_click(app, container, ids.START_SCHEDULED, start_scheduled)
    on_click(app, container, ids.CANCEL_SCHEDULED, cancel_scheduled)
    on_click(app, container, ids.APPROVE_AHEAD, approve_ahead)
