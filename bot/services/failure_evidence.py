"""Gathering why a deployment failed from the cluster (the issue-16 "failures explain
themselves"): the failing pod of the version, its container's last log lines (the previous
run's when it restarted), redacted, and the warning events. Best effort and bounded: what
cannot be read is said, never raised, so the runner's rollback goes on either way.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.audit import redact
from bot.domain.failure_evidence import EVENTS, LOG_LINES, FailureEvidence, failing_pod
from bot.errors import DeploybotError
from bot.ports import Cluster, EventView, LogQuery, Troubleshooting
from bot.services.troubleshooters import executor_of

#: At most this much of the log is read for the failure message (20 lines fit easily).
LOG_BYTES = 64_000


class FailureEvidenceReader:
    def __init__(self, troubleshooting: Callable[[str], Troubleshooting | None]) -> None:
        """`troubleshooting(service)`: the service's executor's Troubleshooting capability,
        None when it has none (simulated, GitHub Actions). Log lines are redacted as /logs
        and the audit log redact them (bot.redaction, through bot.domain.audit's `redact`)."""
        self._troubleshooting = troubleshooting

    @classmethod
    def of(cls, cluster: Cluster) -> FailureEvidenceReader:
        """Reading each service's own executor (`cluster` may route services to theirs)."""
        def capability(service: str) -> Troubleshooting | None:
            executor = executor_of(cluster, service)
            return executor if isinstance(executor, Troubleshooting) else None

        return cls(capability)

    def gather(self, environment: str, service: str, version: str) -> FailureEvidence | None:
        """What the cluster shows about `version` of `service` failing in `environment`;
        None when the executor cannot say (no Troubleshooting capability)."""
        try:
            reader = self._troubleshooting(service)
        except DeploybotError:
            return None
        if reader is None:
            return None
        unread: list[str] = []
        pod = None
        try:
            pod = failing_pod(reader.pods(environment, service), version)
        except DeploybotError as e:
            unread.append(f"pods: {e}")
        lines: tuple[str, ...] = ()
        previous = False
        if pod is not None and pod.phase != "Pending":
            previous = pod.restarts > 0
            try:
                tail = reader.logs(environment, service, LogQuery(
                    pod=pod.name, container=pod.container, previous=previous,
                    tail=LOG_LINES, limit_bytes=LOG_BYTES))
                lines = tuple(redact(tail.text, limit=None).splitlines()[-LOG_LINES:])
            except DeploybotError as e:
                unread.append(f"logs of {pod.name}: {e}")
        events: tuple[EventView, ...] = ()
        try:
            events = tuple(e for e in reader.events(environment, service)
                           if e.type == "Warning")[:EVENTS]
        except DeploybotError as e:
            unread.append(f"events: {e}")
        return FailureEvidence(environment=environment, service=service, version=version,
                               pod=pod, log_lines=lines, log_previous=previous,
                               events=events, unread=tuple(unread))
