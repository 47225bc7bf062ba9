"""A Slack request acknowledged and not answered yet: what the person asked, and where the
answer goes. Pure values; kept by bot/services/acknowledged.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: The longest description kept (a slash command's text is cut to this).
WHAT_MAX = 300
#: The longest response_url kept (Slack's are ~100 characters; longer is not Slack's).
URL_MAX = 1000
#: How long Slack accepts posts to a request's response_url (up to 5 of them):
#: https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
RESPONSE_URL_VALID_FOR_S = 30 * 60
#: The audit action of a request whose process stopped before answering it.
INTERRUPTED = "request.interrupted"


@dataclass(frozen=True)
class Acknowledged:
    """`what`: "/deploy api production v1.2.3", "the Approve button on deployment #4", "the
    /deploy form"; `response_url`: None when the answer goes to the DM (a form, a click in
    the App Home); `instance`: the process that acked it."""

    id: str
    what: str
    user_id: str
    response_url: str | None
    instance: str
    created_at: datetime
