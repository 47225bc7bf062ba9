"""Button clicks on the deployment card: Approve and Reject (and a downgrade confirmed by
name); Queue / Start / Cancel of a deploy waiting for its window; Rollback / Keep after a
failed watch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.commands import DeployArgs
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.blocks import approved_ahead_reply, request_accepted, verdict_reply
from bot.services.rollbacks import Choice
from handlers.payloads import Click, click_of
from handlers.replies import deployment_id_of, ephemeral, replying, reporting


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

    def on_click(work: Callable[[Click, Respond], None]) -> Callable[..., None]:
        """A Bolt listener that acks at once and runs `work` on the background pool. A
        click in the App Home tab has no response_url: the reply is a DM then."""
        def listener(ack: Ack, body: dict[str, Any], context: BoltContext,
                     respond: Respond) -> None:
            ack()
            clicked = click_of(body, context)  # well-formed: handlers.payloads refused it otherwise
            reply = replying(respond, clicked, container.notifier)
            container.background.submit(lambda: work(clicked, reply))
        return listener

    def decide(clicked: Click, respond: Respond, *, approve: bool,
               downgrade: bool = False) -> None:
        with reporting(respond, zone):
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
            d = result.deployment
            if not approve:
                text = f"🚫 You rejected deployment #{d.id}."
            elif result.started:
                text = f"✅ You approved deployment #{d.id}; it is starting now."
            else:
                missing = d.approvals_required - len(d.approvers)
                text = (f"✅ You approved deployment #{d.id}; {missing} more approval(s) "
                        "needed.")
            respond(**ephemeral(text))

    def approve(clicked: Click, respond: Respond) -> None:
        decide(clicked, respond, approve=True)

    def reject(clicked: Click, respond: Respond) -> None:
        decide(clicked, respond, approve=False)

    def approve_downgrade(clicked: Click, respond: Respond) -> None:
        decide(clicked, respond, approve=True, downgrade=True)

    def confirm_downgrade(clicked: Click, respond: Respond) -> None:
        with reporting(respond, zone):
            live = _downgraded(clicked)
            args = service.parse((clicked.action.value or "").split("|", 1)[-1])
            if not isinstance(args, DeployArgs):
                raise UserError("That button does not name a deploy; run `/deploy` again.")
            d = service.request(args, user_id=clicked.user_id, downgrade_from=live)
            respond(**ephemeral(request_accepted(d, zone)))

    def queue_for_window(clicked: Click, respond: Respond) -> None:
        with reporting(respond, zone):
            args = service.parse(clicked.action.value or "")
            if not isinstance(args, DeployArgs):
                raise UserError("That button does not name a deploy; run `/deploy` again.")
            d = service.schedule_for_window(args, user_id=clicked.user_id)
            respond(**ephemeral(request_accepted(d, zone)))

    def start_scheduled(clicked: Click, respond: Respond) -> None:
        with reporting(respond, zone):
            d = service.confirm_scheduled(deployment_id_of(clicked.action.value),
                                          user_id=clicked.user_id)
            respond(**ephemeral(request_accepted(d, zone)))

    def approve_ahead(clicked: Click, respond: Respond) -> None:
        with reporting(respond, zone):
            result = service.approve_ahead(
                deployment_id_of(clicked.action.value), user_id=clicked.user_id,
                slack_channel=clicked.container.channel_id,
                slack_ts=clicked.container.message_ts)
            respond(**ephemeral(approved_ahead_reply(result.deployment, zone,
                                                     started=result.started)))

    def cancel_scheduled(clicked: Click, respond: Respond) -> None:
        with reporting(respond, zone):
            d = service.cancel(deployment_id_of(clicked.action.value), user_id=clicked.user_id)
            respond(**ephemeral(f"✖️ Deployment #{d.id} is cancelled."))

    def verdict(clicked: Click, respond: Respond, *, choice: Choice) -> None:
        with reporting(respond, zone):
            done = container.rollbacks.decide(deployment_id_of(clicked.action.value), choice,
                                              user_id=clicked.user_id)
            respond(**ephemeral(verdict_reply(done.failed, done.rollback)))

    def roll_back(clicked: Click, respond: Respond) -> None:
        verdict(clicked, respond, choice="rollback")

    def keep(clicked: Click, respond: Respond) -> None:
        verdict(clicked, respond, choice="keep")

    app.action(ids.ROLL_BACK)(on_click(roll_back))
    app.action(ids.KEEP)(on_click(keep))
    app.action(ids.APPROVE)(on_click(approve))
    app.action(ids.REJECT)(on_click(reject))
    app.action(ids.QUEUE_FOR_WINDOW)(on_click(queue_for_window))
    app.action(ids.APPROVE_DOWNGRADE)(on_click(approve_downgrade))
    app.action(ids.CONFIRM_DOWNGRADE)(on_click(confirm_downgrade))
    app.action(ids.START_SCHEDULED)(on_click(start_scheduled))
    app.action(ids.CANCEL_SCHEDULED)(on_click(cancel_scheduled))
    app.action(ids.APPROVE_AHEAD)(on_click(approve_ahead))
