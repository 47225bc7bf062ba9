"""Aborting a deploy (Shipit's "abort and rollback"): which deployments can be aborted, and
what an abort does, in words. Pure: the card shows the Abort button exactly when
`abort_refusal` finds nothing to say, and the abort service refuses with its text.

A deploy can be aborted while it rolls out or is watched (running / verifying); the runner
notices at its next progress report, stops following it and rolls back to the version it
replaced. A rollback or a migration run is not abortable (a rollback is what an abort would
do; stopping a schema change halfway is not safe), nor is a per-PR preview.
"""

from __future__ import annotations

from bot.domain.deployment import Deployment, Kind
from bot.domain.previews import instance_label
from bot.domain.states import State
from bot.domain.text import who

ABORTABLE = (State.RUNNING, State.VERIFYING)


def _state(d: Deployment) -> str:
    return d.state.value.replace("_", " ")


def abort_refusal(d: Deployment) -> str | None:
    """Why `d` cannot be aborted now (user-facing), or None when it can."""
    if d.kind is Kind.ROLLBACK:
        return (f"Deployment #{d.id} is a rollback; a rollback cannot be aborted (it is what an "
                "abort would do). Wait for it to end; `/rollback` can then choose another "
                "version.")
    if d.kind is Kind.FLAG:
        return (f"Deployment #{d.id} is a flag change; it cannot be aborted (it is one write). "
                f"Change the flag back with `/flag {d.environment} {d.target} …`.")
    if d.kind is Kind.MIGRATE:
        return (f"Deployment #{d.id} is a migration run; a migration run cannot be aborted "
                "(stopping a schema change halfway is not safe). Wait for it to end; "
                "`/migrate` to an earlier migration undoes it.")
    if d.instance is not None:
        return (f"Deployment #{d.id} deploys the {instance_label(d.instance)} preview; a "
                "preview cannot be aborted. Wait for it to end, or close the pull request to "
                "remove the preview.")
    if d.state in ABORTABLE and d.abort_requested_by is not None:
        return (f"Deployment #{d.id} is already being aborted by "
                f"{who(d.abort_requested_by)}; nothing more was done.")
    if d.state.terminal:
        return f"Deployment #{d.id} already {_state(d)}; nothing to abort."
    if d.state not in ABORTABLE:
        hint = {State.SCHEDULED: f" `/deploy cancel {d.id}` cancels it.",
                State.AWAITING_APPROVAL: " An approver can reject it."}.get(d.state, "")
        return f"Deployment #{d.id} has not started yet ({_state(d)}); nothing to abort.{hint}"
    return None


def rolls_back_to(d: Deployment) -> str | None:
    """The version an abort of `d` goes back to (None: none is known)."""
    previous = d.previous_version
    return previous if previous is not None and previous != d.version else None


def what_abort_does(d: Deployment) -> str:
    """'stop the rollout of api v1.2.4 in production and roll back to v1.2.3'."""
    phase = "the watch of" if d.state is State.VERIFYING else "the rollout of"
    head = f"stop {phase} {d.service} {d.version} in {d.environment}"
    previous = rolls_back_to(d)
    if previous is None:
        return f"{head} (no previous version is known, so nothing is rolled back)"
    return f"{head} and roll back to {previous}"
