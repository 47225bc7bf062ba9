"""Scheduled jobs: module-level functions with primitive arguments.

A job names the running bot instance it belongs to; the composition root registers each
instance's container here when it starts, and removes it when it stops.

The job store is persistent and shared by every process of the bot (it lives in the bot's
database), so a stored job names whichever process wrote it last, and may be run by any of
them. A process that does not know the named instance runs the job with its own container
when it has exactly one (the normal case: one bot per process): the work is the same from
any process on that database.
"""

from __future__ import annotations

import logging
import threading
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
