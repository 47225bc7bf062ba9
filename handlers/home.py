"""The App Home tab: published for a user when they open it (`app_home_opened`, tab
"home").

The listener only acks; recording the viewer, building the tab and `views.publish` run on
the container's background pool. Its Approve / Reject buttons are the cards' own, handled
in `handlers.approvals` (the reply to a click there is a DM: a view has no response_url).
Later changes are republished by `bot.services.home.HomeRefresher`, not here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.container import Container
from bot.presentation import ids
from handlers.payloads import event_of

log = logging.getLogger("deploybot.handlers")


def register(app: App, container: Container) -> None:
    home = container.home

    def opened(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        ev = event_of(body, context)  # well-formed: handlers.payloads refused it otherwise
        user_id = ev.user_id
        if ev.tab not in (None, "home") or user_id is None:
            return  # the Messages or About tab: nothing to publish
        container.background.submit(lambda: publish(user_id))

    def publish(user_id: str) -> None:
        try:
            home.opened(user_id)
        except Exception:  # nobody to tell but the log: the tab keeps its last view
            log.warning("could not publish the App Home tab for %s", user_id, exc_info=True)

    app.event(ids.APP_HOME_OPENED)(opened)
