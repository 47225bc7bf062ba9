"""Scheduled jobs: module-level functions with primitive arguments.

A job names the running bot instance it belongs to; the composition root registers each
instance's container here when it starts, and removes it when it stops.

The job store is persistent and shared by every process of the bot (it lives in the bot's
database), so a stored job names whichever process wrote it last, and may be run by any of
them. A process that does not know the named instance runs the job with its own container
when it has exactly one (the normal case: one bot per process): the work is the same from
any process on that database.

`NEXT_DUE` gives, for the jobs that can tell, when the job's next tick can find anything to
do, read from the same data the job reads (`next_due(instance, at)`: a time, None when
nothing is pending): a tick before then finds nothing and changes nothing, as long as
nothing else changes meanwhile. devtools.shell.timeline skips those ticks when it moves the
shell's clock over days (the scheduler itself runs every tick). `WRITES_NOTHING_WHEN_ZERO`:
the jobs whose run returning 0 wrote nothing (so every other job's next due still holds).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)

_instances: dict[str, Container] = {}
_guard = threading.Lock()


def register_instance(container: Container) -> None:
    with _guard:
        _instances[container.instance] = container


def unregister_instance(name: str) -> None:
    with _guard:
        _instances.pop(name, None)


def _get(instance: str) -> Container | None:
    with _guard:
        c = _instances.get(instance)
        if c is None and len(_instances) == 1:
            c = next(iter(_instances.values()))  # written by another process: see above
    if c is None:
        log.warning("job for unknown bot instance %s skipped", instance)
    return c


def expire_approvals(instance: str) -> int:
    """Expire approval requests whose time is up, and say so on their cards."""
    c = _get(instance)
    return len(c.deployments.expire_due(at=c.clock.now())) if c else 0


def resume_deployments(instance: str) -> int:
    """Pick up queued deployments and those whose process died (lease run out)."""
    c = _get(instance)
    return c.runner.resume() if c else 0


def announce(instance: str) -> int:
    """Post the freeze and schedule announcements that are due (each once, in any process)."""
    c = _get(instance)
    return len(c.announcements.post_due(at=c.clock.now())) if c else 0


def release_scheduled(instance: str) -> int:
    """Ask the requesters of deploys queued for a window that has opened to confirm them."""
    c = _get(instance)
    return len(c.deployments.prompt_due(at=c.clock.now())) if c else 0


def check_live(instance: str) -> int:
    """Read what runs where from the executors; drift (a version deploybot did not put
    there) is announced once and audited (each once, in any process: a claim per version),
    and the cards waiting there show what runs now."""
    c = _get(instance)
    if c is None:
        return 0
    drifted = c.live.check()
    for live in drifted:
        c.runner.refresh_running_now(live.environment, live.service)
    return len(drifted)


def expire_locks(instance: str) -> int:
    """Release and announce the deploy locks whose time is up (each once, in any process)."""
    c = _get(instance)
    return len(c.locks.expire_due(at=c.clock.now())) if c else 0


def poll_github(instance: str) -> int:
    """Look at GitHub for new commits to deploy automatically, when polling is on (webhooks
    off); each new head is handled once, in any process (claimed by its key)."""
    c = _get(instance)
    return c.github_polling.poll() if c is not None and c.github_polling is not None else 0


def refresh_checklists(instance: str) -> int:
    """Ask GitHub again for the pre-deployment checklists that are due (pending checks, or
    backing off after GitHub could not be asked), and update their cards."""
    c = _get(instance)
    if c is None or c.checklists is None:
        return 0
    return len(c.checklists.refresh_due(at=c.clock.now()))


def send_daily_summary(instance: str) -> int:
    """Email the day's summary once its time has come (once a day, in any process: claimed
    by the day's key); 1 when this call sent it."""
    c = _get(instance)
    return 1 if c is not None and c.summary is not None and c.summary.send_due(
        at=c.clock.now()) else 0


def tell_interrupted(instance: str) -> int:
    """Tell the people whose Slack requests were acked by a process that stopped before
    answering them (older than runner.answer_grace, another process's), each once in any
    process: every row is claimed by a conditional DELETE."""
    c = _get(instance)
    return c.acknowledged.sweep(at=c.clock.now()) if c else 0


# -- when each job next finds something (see the module's docstring) -------------------------
NextDue = Callable[[str, datetime], "datetime | None"]


def _expire_approvals_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return c.deployments.next_expiry_due() if c else at


def _resume_deployments_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return c.runner.next_due(at=at) if c else at


def _announce_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return c.announcements.next_due(at=at) if c else at


def _release_scheduled_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return c.deployments.next_due(at=at) if c else at


def _expire_locks_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return c.locks.next_due() if c else at


def _poll_github_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return None if c is not None and c.github_polling is None else at  # polling is off


def _refresh_checklists_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return None if c is not None and c.checklists is None else at  # no `checklist:`


def _daily_summary_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return None if c is not None and c.summary is None else at  # no alerts.email


def _tell_interrupted_due(instance: str, at: datetime) -> datetime | None:
    c = _get(instance)
    return c.acknowledged.next_due() if c else at


NEXT_DUE: dict[Callable[[str], int], NextDue] = {
    expire_approvals: _expire_approvals_due,
    resume_deployments: _resume_deployments_due,
    announce: _announce_due,
    release_scheduled: _release_scheduled_due,
    expire_locks: _expire_locks_due,
    poll_github: _poll_github_due,
    refresh_checklists: _refresh_checklists_due,
    send_daily_summary: _daily_summary_due,
    tell_interrupted: _tell_interrupted_due,
}

#: A run of these that returns 0 wrote nothing: nothing expired, submitted or released,
#: check-live saw no drift (without drift it only reads: bot.services.live), and
#: tell-interrupted told no one (a row claimed and not told is put back as it was).
WRITES_NOTHING_WHEN_ZERO: frozenset[Callable[[str], int]] = frozenset({
    check_live, expire_approvals, resume_deployments, expire_locks, tell_interrupted})
