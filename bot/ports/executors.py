"""What the services ask of the executor that rolls versions out (Kubernetes, a GitHub
Actions workflow, the simulated cluster): the Cluster and its optional capabilities, the
checks after a rollout (Probes, Verifier), the executor's access as the doctor checks it,
and the simulated cluster's state kept in the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from bot.domain.live import Observed


class RolloutFailed(Exception):
    """The cluster could not roll the version out; `str()` says why in plain words."""


class AlreadyRunning(RolloutFailed):
    """The version asked for already runs there: nothing was changed, and that is no failure.

    A RolloutFailed so that a caller which knows only that one still stops safely."""

    def __init__(self, version: str, environment: str) -> None:
        super().__init__(f"{version} is already running in {environment}; nothing to do")
        self.version, self.environment = version, environment


class Cluster(Protocol):
    def observe(self, environment: str, service: str) -> Observed | None:
        """What runs there now, read from the executor (the source of truth): the version,
        since when, whether the workload is settled on it, and which deploybot deployment
        put it there when the executor remembers. None: nothing runs there (no workload).
        RetryableError when the executor cannot be read this time (unreachable, 5xx),
        PermanentError when deploybot may not read it (access, RBAC): the message says
        why, and callers then show deploybot's last record as "last known"."""
        ...

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> str | None:
        """Roll `version` out and return when it is live; raise RolloutFailed otherwise
        (AlreadyRunning when it runs already). What it returns, if anything, stays with the
        result (e.g. the link to the workflow run that deployed it). `progress` gets a
        short line whenever the rollout moves; `deployment_id` and `requested_by` are
        recorded where the cluster can keep them (e.g. annotations). `instance` ("pr-7"):
        roll it out to that per-PR instance of the environment (created on its first
        deploy), not the main one."""
        ...


@runtime_checkable
class Previews(Protocol):
    """An optional capability of a Cluster: remove a per-PR instance (previews)."""

    def remove_instance(self, environment: str, service: str, instance: str) -> bool:
        """Remove the per-PR `instance` of `service` in `environment`; False when there was
        nothing to remove. RetryableError / PermanentError when the cluster refuses."""
        ...


#: migrate and backup: before a deployment's rollout; status and check: `/migrations` (the
#: migration status, and whether the service's database answers).
JobKind = Literal["migrate", "backup", "status", "check"]


@dataclass(frozen=True)
class JobResult:
    """How a one-off Job (migrations, backup, migration status, database check) ended."""

    succeeded: bool
    logs_tail: str  # the last lines of its pod's log ("" when there were none)
    name: str  # the Job's name in the cluster
    reason: str | None = None  # why it failed, when not in the logs ("timed out after 10m")

    @property
    def last_line(self) -> str:
        lines = [ln for ln in self.logs_tail.splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""


@runtime_checkable
class Migrations(Protocol):
    """An optional capability of a Cluster: run a command once from a version's image."""

    def run_job(
        self, environment: str, service: str, *, kind: JobKind, command: Sequence[str],
        version: str, deployment_id: int | None, timeout: float,
    ) -> JobResult:
        """Run `command` as a one-off Job from `version`'s image and wait (at most `timeout`
        seconds) for it to end. A deployment's Job has a fixed name, so a second call (a
        resumed runner) follows the Job of the first instead of starting another. Raises
        RolloutFailed when the Job could not be run or followed at all."""
        ...


@runtime_checkable
class Health(Protocol):
    """An optional capability of a Cluster: one look at the pods of a version that went
    live, for the watch after the rollout."""

    def check_health(self, environment: str, service: str, version: str) -> str | None:
        """Why the pods of `version` are unhealthy (restarts, a crash loop, not ready), in
        plain words; None when they look fine. RetryableError when the cluster could not be
        asked this time."""
        ...


@runtime_checkable
class RollsBack(Protocol):
    """An optional capability of a Cluster: a rollback done differently from a deploy (the
    github-actions executor's rollback workflow). A Cluster without it rolls back with
    `deploy` of the version rolled back to."""

    def roll_back(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
    ) -> str | None:
        """As `deploy`, for going back to `version` (an earlier one)."""
        ...


@runtime_checkable
class Revisions(Protocol):
    """An optional capability of a Cluster: which versions ran before in an environment, as
    the cluster remembers them (for `/rollback` while deploybot's own history is empty)."""

    def earlier_versions(self, environment: str, service: str) -> list[str]:
        """The versions that ran there before the current one, newest first, without
        duplicates and without the version running now; [] when unknown. RetryableError
        when the cluster could not be asked this time, PermanentError when deploybot is not
        set up to ask it (access, RBAC)."""
        ...


class Probes(Protocol):
    """HTTP checks from outside the cluster (smoke URLs, a Prometheus query)."""

    def smoke(self, url: str, *, expect_status: int) -> str | None:
        """None when GET `url` answers `expect_status`; else what went wrong."""
        ...

    def prometheus(self, url: str, query: str, *, max_value: float) -> tuple[str | None, str]:
        """(why it failed or None, what was seen) for an instant query whose values must
        not be above `max_value`."""
        ...


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reasons: tuple[str, ...] = ()  # why it failed (empty when ok)
    summary: str = ""  # what was checked and seen, one line
    superseded: bool = False  # someone else changed the workload: never roll that back


class Superseded(Exception):
    """The workload no longer runs the version being watched: someone else deployed."""


class Verifier(Protocol):
    def watch(self, environment: str, service: str, version: str, *, until: datetime,
              progress: Callable[[str], None]) -> VerifyResult:
        """Watch `version` of `service` in `environment` until `until` (or its first
        failure) and run the environment's checks; the result in plain words."""
        ...


class ClusterAccess(Protocol):
    """RBAC as the Kubernetes API answers it for deploybot's own identity."""

    def denied(self, environment: str, namespace: str) -> list[str]:
        """What the Kubernetes executor needs in `namespace` that it may not do, as
        "verb resource" ("patch deployments.apps"); empty when it may do everything.
        PermanentError / RetryableError when the cluster cannot be asked."""
        ...

    def denied_flags(self, environment: str, namespace: str, storage: FlagStorage) -> list[str]:
        """As `denied`, for what feature flags need where flagd's definitions are kept in
        `namespace` (a FeatureFlag resource or a ConfigMap: `storage`)."""
        ...


#: Where flagd's definitions are kept (flags.<environment>.flagd).
FlagStorage = Literal["feature_flag", "configmap"]


# -- the simulated cluster's state, kept in the database --------------------------------

@dataclass(frozen=True)
class SimulatedWorkload:
    """What the simulated cluster runs in one (environment, service, instance)."""

    version: str
    since: datetime  # when the rollout that put it there ended (the injected clock's time)
    deployment_id: int | None = None  # the deploybot deployment that put it there, if any
    requested_by: str | None = None  # who asked for that rollout, when said


class SimulatedWorkloads(Protocol):
    """The simulated cluster's state (bot.backends.simulated), kept in the database so that
    it survives a restart: per environment, service and instance (None: the environment's
    main instance; "pr-7": a per-PR one) the version it runs, and the versions that went
    live there. Each call is its own short transaction; RetryableError when the database is
    unavailable."""

    def get(self, environment: str, service: str,
            instance: str | None = None) -> SimulatedWorkload | None:
        """What runs there; None: nothing was ever rolled out there (or it was removed)."""
        ...

    def put(self, environment: str, service: str, workload: SimulatedWorkload, *,
            instance: str | None = None) -> None:
        """`workload` went live there: it is what runs now, and joins the history."""
        ...

    def history(self, environment: str, service: str, instance: str | None = None, *,
                limit: int = 100) -> list[str]:
        """The versions that went live there, newest first (the one running now first), at
        most `limit`; a version rolled out twice is there twice."""
        ...

    def remove(self, environment: str, service: str, instance: str) -> bool:
        """Forget a per-PR instance and its history; False when there was none."""
        ...
