"""The schema of how the bot runs: the deployments channel (`slack:`), the runner's threads
and leases (`runner:`), deploy locks (`locks:`), the App Home (`home:`), who reads the audit
log (`audit:`) and the simulated cluster (`simulated:`)."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator

from bot.config.base import Duration, PositiveDuration, _Model


class SlackConfig(_Model):
    """Slack (`slack:`). The tokens come from the environment (SLACK_BOT_TOKEN, and
    SLACK_SIGNING_SECRET or SLACK_APP_TOKEN), never from this file."""

    deployments_channel: str = Field(
        description="where approval requests, deployment threads and results go: a channel "
        "id (C…) or #name; invite the bot to it (/invite @deploybot)"
    )

    @field_validator("deployments_channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        if not re.match(r"^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,})$", v):
            raise ValueError("use a channel id such as C0123456789 or a name such as #deployments")
        return v


class SimulatedConfig(_Model):
    """The simulated cluster used by `executor: simulated` (demos, `deploybot shell`,
    tests)."""

    rollout_seconds: float = Field(default=3.0, ge=0, le=3600,
                                   description="how long a rollout takes, in seconds")
    fail_versions: str | None = Field(
        default=None, description="regex; versions matching it fail mid-rollout")
    fail_jobs: str | None = Field(
        default=None, description="regex on '<kind>:<version>' (e.g. 'migrate:.*-bad'; "
        "kinds: migrate, backup, status, check); matching Jobs fail",
    )
    initial_version: str | None = Field(
        default=None, description="what \"runs\" before the first deploy (default: nothing)")
    fail_verify: str | None = Field(
        default=None, description="regex; matching versions go live, then fail the "
        "post-deploy watch (their pods restart)",
    )
    crash_versions: str | None = Field(
        default=None, description="regex; matching versions crash as they start (a crash "
        "loop: the rollout fails; under `deploybot shell --cluster fake` their pods "
        "crash-loop and log a startup error, for /pods and /logs to show)",
    )

    @field_validator("fail_versions", "fail_jobs", "fail_verify", "crash_versions")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from e
        return v


class LocksConfig(_Model):
    """Deploy locks (`locks:`): `/lock production api "reason" [for 2h]`, `/unlock`. A lock
    refuses deploys of that service there by anyone but its holder (rollbacks still go
    through)."""

    max_duration: PositiveDuration = Field(
        default=timedelta(days=7),
        description="the longest a timed lock (`/lock … for 2h`) may last; a lock without a "
        "duration holds until someone unlocks it",
    )


class RunnerConfig(_Model):
    """How deployments are run by each process (`runner:`)."""

    workers: int = Field(
        default=4, ge=1, le=64,
        description="threads carrying the process's deployments (bot/fibers.py): how many act "
        "at once (a patch, a Job created, a read); any number wait at once (rollout, Job, "
        "watch) holding no thread",
    )
    listener_workers: int = Field(
        default=1, ge=1, le=32,
        description="threads doing Slack commands' work after the ack; few keeps acks fast",
    )
    listener_queue: int = Field(
        default=500, ge=1, le=100_000,
        description="Slack requests acked and waiting for the listener threads beyond which "
        "new ones are refused ('busy, try again'): bounds a web process's memory under a "
        "flood; a deploy team sends a few a minute",
    )
    lease: Duration = Field(
        default=timedelta(seconds=60),
        description="a process that stops renewing its claim on a deployment this long "
        "loses it to another process")
    poll_every: Duration = Field(
        default=timedelta(seconds=10),
        description="how often queued or abandoned work is looked for")
    answer_grace: PositiveDuration = Field(
        default=timedelta(minutes=5),
        description="a Slack request acked ('⏳ …') and still unanswered this long after "
        "by a process other than the one looking is taken as lost with its process (a "
        "crash, a restart): its person is told once, on the request's response_url while "
        "Slack takes it (30 minutes), else in a DM. Longer than any command's work takes (at "
        "least the longest services.*.migrations.timeout plus a minute is used: /migrations)",
    )
    drain: Duration = Field(
        default=timedelta(seconds=5),
        description="on SIGTERM: how long the process keeps answering (new Slack requests get "
        "'restarting, try again', /readyz 503) while requests in flight finish and running "
        "deployments are handed back to another replica; then it exits",
    )


class HomeConfig(_Model):
    """The App Home tab (`home:`): who gets it republished when something changes, and how
    often."""

    viewers_within: PositiveDuration = Field(
        default=timedelta(days=7),
        description="republish the tab for users who opened it within this time",
    )
    refresh_every: PositiveDuration = Field(
        default=timedelta(seconds=3),
        description="at most one refresh per this time: a burst of changes is one refresh",
    )
    cluster_lookups: int = Field(
        default=50, ge=0, le=1000,
        description="per refresh, at most this many cluster lookups of the version running "
        "where deploybot never deployed (the answers are kept for cluster_cache)",
    )
    cluster_cache: PositiveDuration = Field(
        default=timedelta(minutes=10),
        description="how long the cluster's answer about a running version is kept")


class AuditConfig(_Model):
    """Who may read the audit log in Slack (`/audit`); `deploybot audit export` reads it
    from the database."""

    viewers: list[str] = Field(
        default_factory=lambda: ["auditors"],
        description="roles (or Slack user/group ids) that may read the audit log with "
        "/audit [env] [since]",
    )
