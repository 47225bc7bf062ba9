"""The simulated cluster: rollouts that take a configured time and fail on a pattern.

For `deploybot shell`, demos and tests of everything above the cluster port. Its state is
kept in the database through the SimulatedWorkloads port, so that it survives a restart
(a second `deploybot shell` on the same database runs what the first one rolled out): per
environment, service and instance the version it runs, since when (the injected clock's
time when the rollout ended), the deploybot deployment that put it there, and the versions
that went live (for `earlier_versions`, the Revisions capability). Where nothing was ever
rolled out, `simulated.initial_version` runs, since an unknown time (never an invented one)
and put there by no deployment. A per-PR instance (previews) is kept apart, per
(environment, service, instance), until `remove_instance` forgets it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.clock import Clock
from bot.config import SimulatedConfig
from bot.domain.live import Observed
from bot.ports import JobKind, JobResult, RolloutFailed, SimulatedWorkload, SimulatedWorkloads

REPLICAS = 3
REPORT_EVERY = 1.0  # seconds: how often a long rollout step reports its progress


class SimulatedCluster:
    def __init__(self, config: SimulatedConfig, *, workloads: SimulatedWorkloads, clock: Clock,
                 sleep: Callable[[float], None]) -> None:
        self._config = config
        self._workloads = workloads
        self._clock = clock
        self._sleep = sleep

    def observe(self, environment: str, service: str) -> Observed | None:
        """What the main instance runs: the last rollout that ended there, else
        `initial_version` since an unknown time; None when neither (nothing runs).

        It has no pods, old or new: a version is stored only once its rollout ended, so
        while one is under way, and after one failed, the version that ran before is what
        runs, settled (no `progress`): a failed version is never shown as running."""
        now = self._workloads.get(environment, service)
        if now is None:
            initial = self._config.initial_version
            return None if initial is None else Observed(version=initial, since=None)
        return Observed(version=now.version, since=now.since, settled=True,
                        deployment_id=now.deployment_id, changed_by=now.requested_by)

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> None:
        step = self._config.rollout_seconds / REPLICAS
        pattern = self._config.fail_versions
        crash = self._config.crash_versions
        for i in range(1, REPLICAS + 1):
            # A long step reports on the way (every REPORT_EVERY seconds): each report renews
            # the runner's lease and lets it notice an abort within seconds.
            left = step
            while left > REPORT_EVERY:
                self._sleep(REPORT_EVERY)
                left -= REPORT_EVERY
                progress(f"updating pod {i}/{REPLICAS}")
            self._sleep(left)
            if pattern and re.search(pattern, version) and i == 2:
                raise RolloutFailed(
                    f"simulated failure: new pods of {service} {version} crash-loop "
                    f"(version matches simulated.fail_versions `{pattern}`)"
                )
            if crash and re.search(crash, version) and i == 1:
                raise RolloutFailed(
                    f'the new pods crash-loop: container "{service}" exited with code 1 '
                    f"(simulated: version matches simulated.crash_versions `{crash}`)")
            progress(f"{i}/{REPLICAS} pods updated")
        self._workloads.put(environment, service, SimulatedWorkload(
            version=version, since=self._clock.now(), deployment_id=deployment_id,
            requested_by=requested_by), instance=instance)

    def instance_version(self, environment: str, service: str, instance: str) -> str | None:
        """The version a per-PR instance runs (None: there is none)."""
        now = self._workloads.get(environment, service, instance)
        return now.version if now is not None else None

    def remove_instance(self, environment: str, service: str, instance: str) -> bool:
        """Forget a per-PR instance (the Previews capability); False: there was none."""
        return self._workloads.remove(environment, service, instance)

    def earlier_versions(self, environment: str, service: str) -> list[str]:
        """The versions that went live before the current one, newest first, each once
        (`initial_version`, when set, ran before the first rollout)."""
        history = self._workloads.history(environment, service)
        initial = self._config.initial_version
        if initial is not None:
            history.append(initial)
        current = history[0] if history else None
        seen = {current}
        earlier: list[str] = []
        for version in history:
            if version not in seen:
                seen.add(version)
                earlier.append(version)
        return earlier

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
