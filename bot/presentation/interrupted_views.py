"""What a person is told when deploybot stopped (a restart, a crash) after acknowledging
their request and before answering it, and how each kind of request is named there.

`what` is kept with the request when it is acknowledged (bot/services/acknowledged.py):
a slash command as typed ("/deploy api production v1.2.3"), a click as the button and the
deployment it was on ("the Approve button on deployment #4"), a form by its name ("the
/deploy form").
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.audit import deployment_number
from bot.domain.text import channel_ref, shown
from bot.presentation import ids
from bot.presentation.parts import Message
from bot.presentation.replies import notice

#: The buttons' names as their messages show them (bot/presentation/card.py and others).
_BUTTONS = {
    ids.APPROVE: "Approve", ids.REJECT: "Reject", ids.APPROVE_AHEAD: "Approve",
    ids.QUEUE_FOR_WINDOW: "Queue it", ids.START_SCHEDULED: "Start it",
    ids.CANCEL_SCHEDULED: "Cancel", ids.ROLL_BACK: "Roll back", ids.KEEP: "Keep",
    **dict.fromkeys(ids.TURN_FLAG_OFF_IDS, "Turn off"), ids.ABORT: "Abort",
    ids.CONFIRM_DOWNGRADE: "Downgrade",
    ids.APPROVE_DOWNGRADE: "Approve the downgrade", ids.CHECKLIST_TICK: "checklist",
    ids.CHECKLIST_NOT_APPLICABLE: "Not applicable", ids.SHOW_PODS: "Pods",
    ids.SHOW_LOGS: "Logs", ids.ROLLBACK_CONFIRM: "Roll back",
}
_FORMS = {ids.DEPLOY_FORM: "the /deploy form", ids.REJECT_FORM: "the rejection's reason form",
          ids.NA_FORM: "the \"not applicable\" form"}


def click_described(action_id: str, value: str | None) -> str:
    """"the Approve button on deployment #4" (a deployment named by the button's value)."""
    name = _BUTTONS.get(action_id, "a")
    button = f"the {name} button" if name != "a" else "a button"
    number = deployment_number(re.split(r"[|:]", value or "")[0])  # "4", "4|v1.2.2"
    return f"{button} on deployment #{number}" if number is not None else button


def form_described(callback_id: str) -> str:
    return _FORMS.get(callback_id, "a form")


def _asked(at: datetime, now: datetime, zone: ZoneInfo) -> str:
    local, today = at.astimezone(zone), now.astimezone(zone)
    return local.strftime("%a %H:%M" if local.date() == today.date() else "%a %Y-%m-%d %H:%M")


def interrupted_notice(what: str, asked_at: datetime, zone: ZoneInfo, *, channel: str,
                       now: datetime) -> Message:
    """⚠️ deploybot restarted before it finished your `/deploy api production v1.2.3`
    (asked Wed 10:02). It may not have been done: check #deployments or `/deploy status`,
    then ask again."""
    asked = (f"your {shown(what, limit=120)}" if what.startswith("/")
             else f"what you asked with {what}")
    return notice(
        f"⚠️ deploybot restarted before it finished {asked} "
        f"(asked {_asked(asked_at, now, zone)}). It may not have been done: check "
        f"{channel_ref(channel)} or `/deploy status`, then ask again.")
