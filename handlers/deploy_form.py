"""The `/deploy` form's submission (`/deploy` with no text opens it: handlers.commands).

Read (pure) into the deploy it asks for — a bad field is Slack's `response_action: errors`
on the ack, shown under that field — then the deploy is requested exactly as the typed
`/deploy <service> <environment> <version> [--emergency "reason"]` requests it (the same
service call, refusals and answers), from the channel `/deploy` was typed in (carried in the
view's private_metadata). The answer goes to the user's DM: a view_submission has no
response_url.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.commands import DeployArgs
from bot.domain.deploy_form import FormInput
from bot.presentation import ids
from bot.presentation.blocks import request_accepted
from bot.presentation.deploy_form_views import EMERGENCY_VALUE, form_errors
from handlers.listeners import Answer, on_submission
from handlers.payloads import Click, Malformed
from handlers.replies import ephemeral


def form_input(submitted: Click) -> FormInput:
    """The form's fields, as the submission has them."""
    view = submitted.view
    if view is None:
        raise Malformed("a view_submission without its view")
    return FormInput(
        service=view.field(ids.FORM_SERVICE).selected_option,
        environment=view.field(ids.FORM_ENVIRONMENT).selected_option,
        picked_version=view.field(ids.FORM_VERSION).selected_option,
        typed_version=view.field(ids.FORM_VERSION_TYPED).value,
        emergency=EMERGENCY_VALUE in view.field(ids.FORM_EMERGENCY).selected_options,
        reason=view.field(ids.FORM_REASON).value,
    )


def register(app: App, container: Container) -> None:
    form = container.deploy_form
    service = container.deployments
    zone = container.config.zone

    def read(submitted: Click) -> DeployArgs:
        return form.read(form_input(submitted))

    def answer(args: DeployArgs, submitted: Click) -> Answer:
        channel = submitted.view.private_metadata if submitted.view else None
        d = service.request(args, user_id=submitted.user_id, slack_channel=channel or None)
        return ephemeral(request_accepted(d, zone))

    on_submission(app, container, ids.DEPLOY_FORM, read=read,
                  refused=lambda e: form_errors(e.problems), answer=answer)
