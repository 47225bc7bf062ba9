"""Scheduled jobs: module-level functions with primitive arguments.

A job names the running bot instance it belongs to; the composition root registers each
instance's container here when it starts, and removes it when it stops.
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
