"""What one `deploybot run` process does: its role (`--role`, else $DEPLOYBOT_ROLE).

- `web` answers Slack (HTTP, or Socket Mode with SLACK_APP_TOKEN) and GitHub webhooks, and
  serves /healthz, /readyz and /metrics. It runs no deployments (its runner takes no work: a
  deployment approved here stays queued until a worker's resume poll, `runner.poll_every`,
  picks it up) and no scheduler jobs. Any number of them behind a load balancer.
- `worker` runs the runner (`resume()` and the poll) and the scheduler, and serves only
  /healthz, /readyz and /metrics over HTTP for its probes (/slack/events and
  /github/webhook answer 404). Never Socket Mode. Any number of them: leases and the
  scheduler's idempotent jobs coordinate them through the database.
- `all` (the default) does both in one process: the only role on SQLite.

Stopping (SIGTERM): a web process drains Slack (/readyz 503, requests refused with "try
again"); a worker stops its scheduler and hands its leases back; `all` does both.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

ROLE_VARIABLE = "DEPLOYBOT_ROLE"


class Role(StrEnum):
    WEB = "web"
    WORKER = "worker"
    ALL = "all"

    @property
    def answers_slack(self) -> bool:
        """Slack (HTTP or Socket Mode) and GitHub webhooks."""
        return self is not Role.WORKER

    @property
    def runs_deployments(self) -> bool:
        """The runner takes work (`submit`, `resume`)."""
        return self is not Role.WEB

    @property
    def runs_scheduler(self) -> bool:
        return self is not Role.WEB


ROLES = tuple(r.value for r in Role)


def role_from(value: str | None, *, source: str = "--role") -> Role:
    """`value` (None or empty: `all`); ValueError naming `source` and the roles."""
    if value is None or not value.strip():
        return Role.ALL
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValueError(f"{source}={value!r} is not a role (one of: {', '.join(ROLES)})") \
            from None


def role_of(option: str | None, environ: Mapping[str, str]) -> Role:
    """--role when given, else $DEPLOYBOT_ROLE, else `all`."""
    if option is not None:
        return role_from(option)
    return role_from(environ.get(ROLE_VARIABLE), source=ROLE_VARIABLE)


def database_problem(role: Role, database_url: str) -> str | None:
    """Why `role` cannot run on this database (None: it can). A SQLite file belongs to one
    process, so only `all` runs on it; web and worker processes need a shared server."""
    if role is Role.ALL or not database_url.startswith("sqlite"):
        return None
    return (f"--role {role.value} needs a database shared by every process, and DATABASE_URL "
            "is SQLite (one process only): run `deploybot run --role all`, or set "
            "DATABASE_URL to PostgreSQL (postgresql+psycopg://…) for separate web and "
            "worker processes")
