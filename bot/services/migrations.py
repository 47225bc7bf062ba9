"""Use cases of `/migrations`: the database migration status of a service in an environment
(the guide's `python manage.py showmigrations`).

The service's `migrations.status_command` runs as a one-off Job from the image of the
version running there now, for the environment's deployers; the Job's log tail is the
answer. When `migrations.check_command` is set, it runs next the same way and tells whether
the service's database answers (the guide's "check connections"); a check that could not
run at all is reported, not raised. Every run is recorded in the audit log. A Job takes a
while: callers run `status` off Slack's ack path (the container's `jobs` pool).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import AppConfig, MigrationsConfig
from bot.domain.migration_commands import (
    MigrateParsed,
    MigrationsParsed,
    MigrationsStatusArgs,
    parse_migrate,
    parse_migrations,
)
from bot.errors import Forbidden, PermanentError, UserError
from bot.ports import Clock, Cluster, JobResult, Migrations, RolloutFailed, Store
from bot.services.access import Access
from bot.services.runner import job_cause

EXAMPLE_STATUS_COMMAND = "[python, manage.py, showmigrations]"

#: Which version runs in (environment, service) now, or None: the deployments service's
#: answer (the last version deploybot deployed there, else what the cluster runs).
RunningVersion = Callable[[str, str], str | None]


class NotConfigured(UserError):
    """The service has no `migrations.status_command` (or no `migrations` at all)."""


@dataclass(frozen=True)
class DatabaseCheck:
    """The outcome of the `check_command` Job: whether the database answers and, when it
    does not, why (the Job's last log line, or why the Job did not run or end). `job` is
    None when no Job could be run."""

    answers: bool
    command: tuple[str, ...]
    job: str | None
    reason: str | None


@dataclass(frozen=True)
class MigrationStatus:
    """The outcome of one status Job. `output` is its log tail ("" when it logged nothing);
    `cause` says why it failed, in plain words (None when it succeeded). `database` is the
    check Job's outcome; None when `migrations.check_command` is not set (`check_key` names
    the key to set)."""

    environment: str
    service: str
    version: str
    command: tuple[str, ...]
    job: str
    succeeded: bool
    output: str
    cause: str | None
    at: datetime
    database: DatabaseCheck | None = None
    check_key: str = ""


class MigrationService:
    def __init__(self, *, config: AppConfig, store: Store, cluster: Cluster, access: Access,
                 clock: Clock, running_version: RunningVersion) -> None:
        self._config = config
        self._store = store
        self._cluster = cluster
        self._access = access
        self._clock = clock
        self._running_version = running_version

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def _with_migrations(self) -> dict[str, list[str]]:
        """Each service with `migrations` configured → the environments it deploys to."""
        cfg = self._config
        return {name: [env for env in cfg.environments if name in cfg.services_in(env)]
                for name, svc in cfg.services.items() if svc.migrations is not None}

    def parse(self, text: str) -> MigrationsParsed:
        """`/migrations` text → its arguments; NotConfigured at once (no Job, no I/O) when
        the service has no status command."""
        args = parse_migrations(text, environments=self._config.environments.keys(),
                                services_with_migrations=self._with_migrations(),
                                services=self._config.services.keys())
        if isinstance(args, MigrationsStatusArgs):
            self.status_command(args.service)
        return args

    def parse_migrate(self, text: str) -> MigrateParsed:
        """`/migrate` text → its arguments, against the configured names."""
        return parse_migrate(text, environments=self._config.environments.keys(),
                             services_with_migrations=self._with_migrations(),
                             services=self._config.services.keys())

    def status_command(self, service: str) -> tuple[str, ...]:
        """The configured status command of `service`; NotConfigured names the key to set."""
        return tuple(self._status_config(service)[1])

    def check_command(self, service: str) -> tuple[str, ...] | None:
        """The configured database check command of `service`, if any."""
        m = self._config.services[service].migrations
        return tuple(m.check_command) if m is not None and m.check_command else None

    def _status_config(self, service: str) -> tuple[MigrationsConfig, list[str]]:
        key = f"services.{service}.migrations"
        m = self._config.services[service].migrations
        if m is None:
            raise NotConfigured(f"`{service}` has no database migrations configured, so there "
                                f"is no migration status to show. Set `{key}.command` and "
                                f"`{key}.status_command` (e.g. `{EXAMPLE_STATUS_COMMAND}`) "
                                "in app.yaml.")
        if m.status_command is None:
            raise NotConfigured(f"`/migrations` is not configured for `{service}`: set "
                                f"`{key}.status_command` in app.yaml (e.g. "
                                f"`{EXAMPLE_STATUS_COMMAND}`).")
        return m, m.status_command

    # -- the status Job ------------------------------------------------------------------
    def _check_may_see(self, user_id: str, env: str) -> None:
        if not self._access.may_deploy(user_id, env):
            roles = ", ".join(f"`{r}`" for r in self._config.environments[env].deployers)
            raise Forbidden(f"You may not see the migrations of {env}: that needs the {roles} "
                            "role. Ask a platform admin to add you in app.yaml.")

    def status(self, args: MigrationsStatusArgs, *, user_id: str) -> MigrationStatus:
        """Run the status command as a Job from the running version's image and wait for it
        (at most `migrations.timeout`). A failed Job is a result, not an error; a Job that
        could not be run at all is a UserError saying why."""
        env, service = args.environment, args.service
        self._check_may_see(user_id, env)
        m, command = self._status_config(service)
        version = self._running_version(env, service)
        if version is None:
            raise UserError(f"I cannot tell which version of `{service}` runs in {env}: "
                            "deploybot has not deployed it there yet and the cluster does not "
                            "say. Deploy it once with `/deploy`, then ask again.")
        cluster = self._cluster
        if not isinstance(cluster, Migrations):
            raise PermanentError(f"the cluster of {service} cannot run Jobs, so "
                                 f"services.{service}.migrations.status_command cannot run")
        details: dict[str, object] = {"service": service, "environment": env,
                                      "version": version, "command": list(command)}
        try:
            result = cluster.run_job(env, service, kind="status", command=command,
                                     version=version, deployment_id=None,
                                     timeout=m.timeout.total_seconds())
        except RolloutFailed as e:
            self._record(user_id, details | {"succeeded": False, "error": str(e)})
            raise UserError(f"Could not get the migration status of `{service}` in {env} "
                            f"(version `{version}`): {e}. Nothing was changed.") from e
        database = self._check(cluster, m, args, version)
        status = self._status(args, version, command, result, database)
        details |= {"job": result.name, "succeeded": result.succeeded,
                    "reason": result.reason, "logs_tail": result.logs_tail}
        if database is not None:
            details["database"] = {"answers": database.answers, "job": database.job,
                                   "command": list(database.command),
                                   "reason": database.reason}
        self._record(user_id, details)
        return status

    def _check(self, cluster: Migrations, m: MigrationsConfig, args: MigrationsStatusArgs,
               version: str) -> DatabaseCheck | None:
        """Run `check_command` (if set) as a Job like the status one: does the database
        answer? A Job that could not be run is a "does not answer" saying why."""
        if m.check_command is None:
            return None
        command = tuple(m.check_command)
        try:
            result = cluster.run_job(args.environment, args.service, kind="check",
                                     command=command, version=version, deployment_id=None,
                                     timeout=m.timeout.total_seconds())
        except RolloutFailed as e:
            return DatabaseCheck(False, command, None, str(e))
        if result.succeeded:
            return DatabaseCheck(True, command, result.name, None)
        last = result.last_line
        if result.reason and result.reason.startswith("did not finish"):
            why = f"the check {result.reason}" + (f": {last}" if last else "")
        else:
            why = last or result.reason or "the check failed with no log output"
        return DatabaseCheck(False, command, result.name, why)

    def _status(self, args: MigrationsStatusArgs, version: str, command: list[str],
                result: JobResult, database: DatabaseCheck | None) -> MigrationStatus:
        return MigrationStatus(
            environment=args.environment, service=args.service, version=version,
            command=tuple(command), job=result.name, succeeded=result.succeeded,
            output=result.logs_tail,
            cause=None if result.succeeded else job_cause("status", result),
            at=self._clock.now(), database=database,
            check_key=f"services.{args.service}.migrations.check_command",
        )

    def _record(self, user_id: str, details: dict[str, object]) -> None:
        with self._store.transaction() as r:
            r.audit.record("migrations.status", actor=user_id, at=self._clock.now(),
                           details=details)
