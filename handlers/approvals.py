"""Approve on a deployment's card (Reject asks for a reason first: handlers.reject_reason),
and a downgrade confirmed by name: Approve on
the card of one that replaces a newer live version, or the requester's own confirmation
that asks for it again.

Each click is acked at once; the one DeploymentService call and its answer run on the
background pool (handlers.listeners.on_click). A click in the App Home tab (its Approve /
Reject are the cards' own) is answered by DM: a view has no response_url.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App

from bot.container import Container
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import decision_reply, request_accepted
from handlers.listeners import Answer, on_click
from handlers.payloads import Click
from handlers.replies import deploy_named, deployment_id_of, ephemeral


def _downgraded(clicked: Click) -> str:
    """The live version a downgrade button confirms replacing ("<id or live>|…")."""
    value = clicked.action.value or ""
    head, sep, tail = value.partition("|")
    live = (tail if head.isdigit() else head) if sep else ""
    if not live or len(live) > 128:
        raise UserError("That button does not name a downgrade; it may be from an old "
                        "message. Run the command again.")
    return live


def register(app: App, container: Container) -> None:
    service = container.deployments
    zone = container.config.zone

    def decide(*, approve: bool, downgrade: bool = False) -> Callable[[Click], Answer]:
        def decided(clicked: Click) -> Answer:
            # A downgrade confirmed by name: the live version it replaces.
            downgrade_from = _downgraded(clicked) if downgrade else None
            value = clicked.action.value
            deployment_id = deployment_id_of(value) if downgrade_from is None else \
                deployment_id_of((value or "").split("|", 1)[0])
            result = service.decide(
                deployment_id,
                user_id=clicked.user_id,
                approve=approve,
                slack_channel=clicked.container.channel_id,
                slack_ts=clicked.container.message_ts,
                downgrade_from=downgrade_from,
            )
            return ephemeral(decision_reply(result.deployment, approve=approve,
                                            started=result.started))
        return decided

    def confirm_downgrade(clicked: Click) -> Answer:
        live = _downgraded(clicked)
        args = deploy_named(service.parse((clicked.action.value or "").split("|", 1)[-1]))
        d = service.request(args, user_id=clicked.user_id, downgrade_from=live)
        return ephemeral(request_accepted(d, zone))

    on_click(app, container, ids.APPROVE, decide(approve=True))
    on_click(app, container, ids.APPROVE_DOWNGRADE, decide(approve=True, downgrade=True))
    on_click(app, container, ids.CONFIRM_DOWNGRADE, confirm_downgrade)
