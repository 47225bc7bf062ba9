"""The words of a routed alert (pure): the Slack message posted to a severity's channel
(e.g. #ops-alerts) and the one-line summary of a PagerDuty incident."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.alerts import Alert
from bot.domain.deployment import Kind
from bot.domain.links import Link
from bot.domain.outcome_notes import DURING_THE_WATCH, VERIFY_FAILED, abort_note, rollback_note
from bot.domain.severity import Outcome
from bot.domain.states import State
from bot.domain.text import error_text, who
from bot.presentation.link_views import links_line, thread_link
from bot.presentation.sections import MESSAGE_TEXT, fit


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
        return f"{what} {_rolled_back(a)}"
    ab = abort_note(a.error) if a.kind is Kind.DEPLOY else None
    if ab is not None:  # stopped by hand, and nothing (or not all) was rolled back
        return f"{what} was aborted by {ab.by}{DURING_THE_WATCH if ab.went_live else ''}"
    if a.outcome is Outcome.VERIFICATION_FAILED:
        return f"{what} failed verification"
    return f"{what} failed"


def _rolled_back(a: Alert) -> str:
    """How a rolled-back deployment got there, read from the runner's notes in its error:
    'was aborted by <@U0BOB> and rolled back to v1.2.2', 'failed its rollout and was rolled
    back to v1.2.3' (an automatic rollback of a rollout that failed and left the new version
    applied), 'failed verification and was rolled back to v1.2.3'."""
    rb = rollback_note(a.error)
    if rb is None:
        return "failed and was rolled back"
    to = f"rolled back to {rb.to}" + (
        f" by {rb.by}" + (f" (deployment #{rb.rollback_id})" if rb.rollback_id else "")
        if rb.by is not None else "")
    ab = abort_note(rb.reached) if a.kind is Kind.DEPLOY else None
    if ab is not None:
        return f"was aborted by {ab.by}{DURING_THE_WATCH if ab.went_live else ''} and {to}"
    if rb.reached is None:  # it had gone live; someone rolled it back later
        return f"was {to}"
    if rb.reached.startswith(VERIFY_FAILED):
        return f"failed verification and was {to}"
    if rb.by is None and a.kind is Kind.DEPLOY:  # the runner's own: after a failed rollout
        return f"failed its rollout and was {to}"
    return f"failed and was {to}"


def _cause(a: Alert) -> str | None:
    """Why it failed, without what the headline already says: the rollback note ("; rolled
    back to v1.2.3"), or who aborted it (then only what followed the abort)."""
    if not a.error or a.state is State.SUCCEEDED:
        return None
    error: str | None = a.error
    if a.state is State.ROLLED_BACK:
        rb = rollback_note(error)
        error = rb.reached if rb is not None else error
    ab = abort_note(error) if a.kind is Kind.DEPLOY else None
    if ab is not None:
        return ab.then if a.state is not State.ROLLED_BACK else None
    return error or None


_ICON = {Outcome.SUCCEEDED: "✅", Outcome.LOCK_BLOCKED: "🔒", Outcome.APPROVAL_EXPIRED: "⌛",
         Outcome.ROLLED_BACK: "↩️", Outcome.AUTO_ROLLED_BACK: "↩️",
         Outcome.VERIFICATION_FAILED: "🚨",
         Outcome.PRODUCTION_FAILED: "🚨", Outcome.FAILED: "❌"}


def slack_text(a: Alert, link: str | None, links: Sequence[Link] = ()) -> str:
    """The alert in a routed Slack channel: severity, what, why, the thread and the
    service's `links` (dashboard, runbook, logs, …)."""
    lines = [f"{_ICON[a.outcome]} *{a.severity.label}* · {headline(a)}"]
    cause = _cause(a)
    if cause:
        lines.append(f"Cause: {error_text(cause)}")
    thread = thread_link(link, "Deployment thread")
    shown = [thread] if thread else []
    if links:
        shown.append(links_line(links))
    if shown:
        lines.append(" · ".join(shown))
    return fit("\n".join(lines), MESSAGE_TEXT)  # many long links: the last ones cut, with …


def pager_summary(a: Alert) -> str:
    """The incident's title in PagerDuty (at most 1024 characters)."""
    text = f"deploybot: {headline(a)}"
    cause = _cause(a)
    if cause:
        text += f": {cause}"
    return text[:1024]
