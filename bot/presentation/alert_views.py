"""The words of a routed alert (pure): the Slack message posted to a severity's channel
(e.g. #ops-alerts) and the one-line summary of a PagerDuty incident."""

from __future__ import annotations

from bot.domain.alerts import Alert
from bot.domain.deployment import Kind
from bot.domain.severity import Outcome
from bot.domain.states import State
from bot.domain.text import who


def headline(a: Alert) -> str:
    """What happened, in one plain line: 'Deploy #12 of api v1.2.3 to production failed'."""
    if a.deployment_id is None:  # a request refused by a lock: no deployment
        return (f"Deploy of {a.service} to {a.environment} by {who(a.requested_by)} was "
                "blocked by a lock")
    what = f"#{a.deployment_id} of {a.service} {a.version} to {a.environment}"
    if a.kind is Kind.ROLLBACK:
        if a.state is State.SUCCEEDED:
            return f"Rollback #{a.deployment_id}: {a.service} is back on {a.version} in " \
                   f"{a.environment}"
        what = f"Rollback {what}"
    else:
        what = f"Deploy {what}"
    if a.outcome is Outcome.LOCK_BLOCKED:
        return f"{what} was blocked by a lock"
    if a.outcome is Outcome.APPROVAL_EXPIRED:
        return f"{what} expired: nobody approved it in time"
    if a.state is State.SUCCEEDED:
        return f"{a.service} {a.version} is live in {a.environment} (#{a.deployment_id})"
    if a.state is State.ROLLED_BACK:
        return f"{what} failed and was rolled back"
    if a.outcome is Outcome.VERIFICATION_FAILED:
        return f"{what} failed verification"
    return f"{what} failed"


_ICON = {Outcome.SUCCEEDED: "✅", Outcome.LOCK_BLOCKED: "🔒", Outcome.APPROVAL_EXPIRED: "⌛",
         Outcome.ROLLED_BACK: "↩️", Outcome.AUTO_ROLLED_BACK: "↩️",
         Outcome.VERIFICATION_FAILED: "🚨",
         Outcome.PRODUCTION_FAILED: "🚨", Outcome.FAILED: "❌"}


def slack_text(a: Alert, link: str | None) -> str:
    """The alert in a routed Slack channel: severity, what, why, and the thread."""
    lines = [f"{_ICON[a.outcome]} *{a.severity.label}* · {headline(a)}"]
    if a.error and a.state is not State.SUCCEEDED:
        lines.append(f"Cause: {a.error}")
    if link:
        lines.append(f"<{link}|Deployment thread>")
    return "\n".join(lines)


def pager_summary(a: Alert) -> str:
    """The incident's title in PagerDuty (at most 1024 characters)."""
    text = f"deploybot: {headline(a)}"
    if a.error and a.state is not State.SUCCEEDED:
        text += f": {a.error}"
    return text[:1024]
