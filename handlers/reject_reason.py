"""Reject asks for a reason: the Reject button (on the card, or in the App Home tab) opens a
modal once the clicker may reject (a refusal is the click's answer, as before); its
submission rejects with the reason — on the card, in the requester's DM, in the audit.

The modal's private_metadata carries the deployment, the card's channel and ts (the audit's
slack_channel / slack_ts, as a click records them) and the click's response_url, so the
answer ("You rejected deployment #3") is posted where the click's would have been; a click
in the App Home has none, and is answered in a DM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_bolt import App

from bot.container import Container
from bot.presentation import ids
from bot.presentation.blocks import decision_reply
from bot.presentation.reject_views import reason_errors
from handlers.listeners import Answer, on_click, on_submission
from handlers.payloads import Click, Malformed
from handlers.replies import deployment_id_of, ephemeral


@dataclass(frozen=True)
class Rejecting:
    """What the modal carries: the deployment, where the card is, where to answer."""

    deployment_id: int
    channel: str | None = None
    ts: str | None = None
    response_url: str | None = None

    def encoded(self) -> str:
        return json.dumps({"d": self.deployment_id, "c": self.channel, "ts": self.ts,
                           "u": self.response_url}, separators=(",", ":"))


def rejecting_of(submitted: Click) -> Rejecting:
    """The modal's private_metadata read back (we wrote it; Slack keeps it unchanged)."""
    raw = submitted.view.private_metadata if submitted.view else None
    try:
        value = json.loads(raw or "")
    except ValueError:
        raise Malformed("the reject modal's private_metadata is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("d"), int) or not all(
            isinstance(value.get(k), str | None) for k in ("c", "ts", "u")):
        raise Malformed("the reject modal's private_metadata is not what it opened with")
    return Rejecting(value["d"], value.get("c"), value.get("ts"), value.get("u"))


def register(app: App, container: Container) -> None:
    form = container.reject_form

    def clicked_reject(clicked: Click) -> Answer:
        meta = Rejecting(deployment_id_of(clicked.action.value),
                         clicked.container.channel_id, clicked.container.message_ts,
                         clicked.response_url)
        form.open(clicked.trigger_id, meta.deployment_id, user_id=clicked.user_id,
                  private_metadata=meta.encoded())
        return {}  # the modal is the answer

    def read(submitted: Click) -> tuple[Rejecting, str]:
        view = submitted.view
        typed = view.field(ids.REJECT_REASON).value if view else None
        return rejecting_of(submitted), form.reason(typed)

    def answer(read: tuple[Rejecting, str], submitted: Click) -> Answer:
        meta, reason = read
        result = form.reject(meta.deployment_id, user_id=submitted.user_id, reason=reason,
                             slack_channel=meta.channel, slack_ts=meta.ts)
        return ephemeral(decision_reply(result.deployment, approve=False,
                                        started=result.started))

    on_click(app, container, ids.REJECT, clicked_reject)
    on_submission(app, container, ids.REJECT_FORM, read=read,
                  refused=lambda e: reason_errors(e.problems), answer=answer,
                  answer_at=lambda s: rejecting_of(s).response_url)
