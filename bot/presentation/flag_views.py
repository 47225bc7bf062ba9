"""What Slack shows of a flag change (`/flag`) beyond its card: the note in the thread of
the deployment that introduced the flag (pure Block Kit). The card, record, announcement
and App Home show a flag change as they show every deployment (Kind.FLAG)."""

from __future__ import annotations

from bot.domain.deployment import Deployment
from bot.domain.states import State
from bot.domain.text import shown, who
from bot.presentation.parts import Message
from bot.presentation.sections import section


def flag_thread_note(d: Deployment, permalink: str | None) -> Message:
    """"🚩 Flag `new-checkout` → `off` in production (flag change #12 by @alice): default
    variant `on` → `off`." — or why it failed."""
    link = f" <{permalink}|flag change #{d.id}>" if permalink else f" flag change #{d.id}"
    flag = shown(d.target or "", limit=80)
    by = f"by {who(d.requested_by)}"
    if d.approvers:
        by += ", approved by " + ", ".join(f"<@{a.user_id}>" for a in d.approvers)
    if d.state is State.SUCCEEDED:
        head = f"🚩 Flag {flag} → `{d.version}` in *{d.environment}*"
        detail = d.progress or ""
    else:
        head = f"❌ Flag {flag} was not turned to `{d.version}` in *{d.environment}*"
        detail = d.error or d.state.value
    text = f"{head} ({link.strip()} {by}): {detail}".rstrip(": ")
    return Message(text=f"Flag {d.target} → {d.version} in {d.environment}: {d.state.value}",
                   blocks=[section(text)])
