"""Why a rollout or its watch failed, as the cluster shows it: the failing pod's last
termination, the last lines of its container's log (already redacted) and the warning
events that matter. Gathered once when a deployment fails (bot.services.failure_evidence),
before a rollback replaces the pods, and posted in the deployment's thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.workloads import EventView, PodView

#: How many log lines and warning events the thread gets; /logs and /events show the rest.
LOG_LINES = 20
EVENTS = 5


@dataclass(frozen=True)
class FailureEvidence:
    environment: str
    service: str
    version: str
    pod: PodView | None  # the least healthy pod of the failed version (None: none found)
    log_lines: tuple[str, ...] = ()  # its container's last lines, redacted
    log_previous: bool = False  # the lines are of the container's previous (crashed) run
    events: tuple[EventView, ...] = ()  # warnings about the workload, newest first
    unread: tuple[str, ...] = ()  # what could not be read, and why ("logs: ...")

    @property
    def empty(self) -> bool:
        return self.pod is None and not self.log_lines and not self.events and not self.unread


def failing_pod(pods: list[PodView], version: str) -> PodView | None:
    """The pod of `version` to look at: one waiting in a known bad state first, then the one
    restarted most, then any unhealthy one; None when no pod runs that version or all of
    them look healthy and never restarted."""
    mine = [p for p in pods if p.version == version and (not p.healthy or p.restarts)]
    if not mine:
        return None
    return max(mine, key=lambda p: (p.waiting_reason is not None, p.restarts,
                                    p.unschedulable is None))
