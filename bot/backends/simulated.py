"""The simulated cluster: rollouts that take a configured time and fail on a pattern.

For `deploybot shell`, demos and tests of everything above the cluster port. It keeps the
running versions in memory (seeded from `simulated.initial_version`), and per environment
and service the versions that went live, for `earlier_versions` (the Revisions capability).
A per-PR instance (previews) is kept apart, per (environment, service, instance), until
`remove_instance` forgets it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from bot.config import SimulatedConfig
from bot.ports import JobKind, JobResult, RolloutFailed

REPLICAS = 3


class SimulatedCluster:
    def __init__(self, config: SimulatedConfig, *, sleep: Callable[[float], None]) -> None:
        self._config = config
        self._sleep = sleep
        self._versions: dict[tuple[str, str], str] = {}
        #: the versions that went live, oldest first (after `initial_version`, if set)
        self._history: dict[tuple[str, str], list[str]] = {}
        #: per-PR instances: (environment, service, instance) → the version they run
        self._instances: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def current_version(self, environment: str, service: str) -> str | None:
        with self._lock:
            return self._versions.get((environment, service), self._config.initial_version)

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> None:
        step = self._config.rollout_seconds / REPLICAS
        pattern = self._config.fail_versions
        for i in range(1, REPLICAS + 1):
            self._sleep(step)
            if pattern and re.search(pattern, version) and i == 2:
                raise RolloutFailed(
                    f"simulated failure: new pods of {service} {version} crash-loop "
                    f"(version matches simulated.fail_versions `{pattern}`)"
                )
            progress(f"{i}/{REPLICAS} pods updated")
        with self._lock:
            if instance is not None:
                self._instances[(environment, service, instance)] = version
                return
            self._versions[(environment, service)] = version
            self._history_of(environment, service).append(version)

    def instance_version(self, environment: str, service: str, instance: str) -> str | None:
        """The version a per-PR instance runs (None: there is none)."""
        with self._lock:
            return self._instances.get((environment, service, instance))

    def remove_instance(self, environment: str, service: str, instance: str) -> bool:
        """Forget a per-PR instance (the Previews capability); False: there was none."""
        with self._lock:
            return self._instances.pop((environment, service, instance), None) is not None

    def earlier_versions(self, environment: str, service: str) -> list[str]:
        """The versions that went live before the current one, newest first, each once."""
        with self._lock:
            history = list(self._history_of(environment, service))
            current = self._versions.get((environment, service), self._config.initial_version)
        seen = {current}
        earlier: list[str] = []
        for version in reversed(history):
            if version not in seen:
                seen.add(version)
                earlier.append(version)
        return earlier

    def _history_of(self, environment: str, service: str) -> list[str]:
        """The history of (environment, service), seeded on first use; the lock is held."""
        initial = self._config.initial_version
        return self._history.setdefault((environment, service),
                                        [initial] if initial is not None else [])

    def check_health(self, environment: str, service: str, version: str) -> str | None:
        """The watch after the rollout: versions matching `simulated.fail_verify` restart."""
        pattern = self._config.fail_verify
        if pattern and re.search(pattern, version):
            return (f"simulated failure: the pods of {service} {version} restarted 3 times "
                    f"(version matches simulated.fail_verify `{pattern}`)")
        return None

    def run_job(
        self, environment: str, service: str, *, kind: JobKind, command: Sequence[str],
        version: str, deployment_id: int | None, timeout: float,
    ) -> JobResult:
        """A Job that takes a third of the rollout time and fails when `<kind>:<version>`
        matches `simulated.fail_jobs`."""
        name = f"{service}-{kind}-{deployment_id if deployment_id is not None else 'once'}"
        self._sleep(min(self._config.rollout_seconds / REPLICAS, timeout))
        pattern = self._config.fail_jobs
        if pattern and re.search(pattern, f"{kind}:{version}"):
            return JobResult(False, f"$ {' '.join(command)}\nsimulated failure "
                             f"(simulated.fail_jobs `{pattern}`)", name)
        return JobResult(True, f"$ {' '.join(command)}\nsimulated: done", name)
