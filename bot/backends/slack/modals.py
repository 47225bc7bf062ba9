"""The Modals port over the Web API: `views.open` of a modal with an interaction's trigger_id
(https://docs.slack.dev/reference/methods/views.open). A trigger lasts 3 seconds and opens one
view; Slack's `expired_trigger_id`, `exchanged_trigger_id` and `invalid_trigger_id` become
TriggerExpired (the user is told to run the command again), the rest go through `slack_call`.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.backends.slack.client import slack_call
from bot.errors import PermanentError
from bot.ports import TriggerExpired

#: views.open's errors for a trigger it will not exchange (its documented error list).
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "exchanged_trigger_id",
                            "invalid_trigger_id"})


class SlackModals:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> str:
        try:
            res = slack_call(self._client.views_open, trigger_id=trigger_id, view=view)
        except PermanentError as e:
            cause = e.__cause__
            if isinstance(cause, SlackApiError) and cause.response.get("error") in TRIGGER_ERRORS:
                raise TriggerExpired() from e
            raise
        return str(res["view"]["id"])
