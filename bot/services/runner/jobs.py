"""The Jobs a deployment runs before its rollout: the database backup (where configured)
and the migrations (`_migrate`), each recorded on the deployment and audited
(`_record_job`), and what to say when one fails (`job_cause`, also used by `/migrations`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.domain.deployment import Deployment, JobOutcome, Kind
from bot.ports import JobKind, JobResult, Migrations, RolloutFailed
from bot.services.runner.base import RunnerBase


class Jobs(RunnerBase):
    def _migrate(self, d: Deployment, progress: Callable[[str], None]) -> None:
        """Run the service's backup (where configured) and migrations as Jobs; RolloutFailed
        when one fails, before anything else changed. A deploy runs them from the new image
        before its rollout; a migration run (`/migrate`) runs the command with its target
        from the image running now. A resumed deployment whose migrations ended already
        does not run them again."""
        m = self._migrations.get(d.service)
        if d.migrations is not None and d.migrations.ok:
            return
        if d.kind is Kind.MIGRATE and d.migrations is not None:  # resumed: its result stands
            raise RolloutFailed(f"migration Job {d.migrations.job} failed")
        if m is None:
            if d.kind is Kind.MIGRATE:
                raise RolloutFailed(f"services.{d.service}.migrations is not configured")
            return
        cluster = self._cluster
        if not isinstance(cluster, Migrations):
            raise RolloutFailed(f"services.{d.service}.migrations is set, but its cluster "
                                "cannot run migration Jobs")

        def job(kind: JobKind, command: list[str], timeout: timedelta, text: str) -> None:
            progress(text)
            # The Job reports nothing while it runs: the runner's heartbeat keeps the lease
            # (it renews every claimed deployment's), and the wait holds no thread.
            result = cluster.run_job(d.environment, d.service, kind=kind, command=command,
                                     version=d.version, deployment_id=d.id,
                                     timeout=timeout.total_seconds())
            self._record_job(d, kind, command, result)
            if not result.succeeded:
                raise RolloutFailed(job_cause(kind, result))

        backup = m.backup_in(d.environment)
        if backup is not None:
            job("backup", backup.command, backup.timeout,
                "backing up the database before the migrations")
        if d.kind is Kind.MIGRATE:
            job("migrate", m.command_to(tuple((d.target or "").split())), m.timeout,
                f"migrating to {d.target}")
        else:
            job("migrate", m.command, m.timeout, "running the database migrations")

    def _record_job(self, d: Deployment, kind: JobKind, command: list[str],
                    result: JobResult) -> None:
        at = self._clock.now()
        with self._store.transaction() as r:
            if kind == "migrate":
                r.deployments.record_migrations(d.id, JobOutcome(
                    result.succeeded, result.name, result.logs_tail))
            r.audit.record(f"deploy.{kind}_job", actor="deploybot", at=at, deployment_id=d.id,
                           details={"job": result.name, "succeeded": result.succeeded,
                                    "command": list(command), "reason": result.reason,
                                    "logs_tail": result.logs_tail})
            cur = self._get(r, d.id)
        self._show(cur)


_JOB_WHAT: dict[JobKind, str] = {"migrate": "migration", "backup": "backup",
                                  "status": "migration status", "check": "database check"}


def job_cause(kind: JobKind, result: JobResult) -> str:
    """'migration Job api-migrate-7 failed: <last log line>' and the like."""
    what = f"{_JOB_WHAT[kind]} Job {result.name}"
    last = result.last_line
    if result.reason and result.reason.startswith("did not finish"):
        return f"{what} {result.reason}" + (f": {last}" if last else "")
    return f"{what} failed: {last or result.reason or 'no log output'}"
