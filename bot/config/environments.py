"""The schema of `environments.<name>` (who deploys, approvals, the schedule, rollbacks, the
watch after a rollout, the promotion gate) and of `emergency:` (the emergency lane)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, field_validator

from bot.config.base import Duration, _Model
from bot.config.links import Links, links_field
from bot.domain.schedule_parsing import parse_schedule


class ApprovalConfig(_Model):
    """Manual approval of deploys in one environment (environments.<name>.approval); without
    it, deploys there need no approval."""

    required: int = Field(default=1, ge=1, le=10,
                          description="approvals needed; each person counts once")
    approvers: list[str] = Field(
        default_factory=lambda: ["approvers"],
        description="roles (or Slack user/group ids) that may approve or reject",
    )
    allow_self_approval: bool = Field(
        default=False, description="whether the requester may approve their own deploy")
    expires_after: Duration = Field(
        default=timedelta(hours=2),
        description="an unapproved request expires after this (e.g. 90m, 2h, 1d)",
    )


class RollbackRuleConfig(_Model):
    """How rollbacks go in one environment (environments.<name>.rollbacks)."""

    ignore_windows: bool = Field(
        default=True,
        description="rollbacks may run in freezes and closed windows (always announced): "
        "fixing production is never blocked by a freeze",
    )
    approval: bool = Field(
        default=False,
        description="a rollback needs the environment's approvals like a deploy (default: "
        "no approval, a confirmation dialog)",
    )
    lock: bool = Field(
        default=True,
        description="a rollback locks the service in the environment until someone unlocks "
        "it (/unlock), so nothing pushes the bad version again",
    )


class SmokeCheckConfig(_Model):
    """An HTTP smoke check after the rollout (environments.<name>.verify.smoke)."""

    url: str = Field(pattern=r"^https?://\S+$", description="GET this URL")
    expect_status: int = Field(default=200, ge=100, le=599,
                               description="the HTTP status the check expects")


class PrometheusCheckConfig(_Model):
    """An instant query against Prometheus' HTTP API (environments.<name>.verify.prometheus);
    the check fails when a value of the result is above `max`."""

    url: str = Field(pattern=r"^https?://\S+$",
                     description="Prometheus' base URL, e.g. http://prometheus.monitoring:9090")
    query: str = Field(min_length=1, description="PromQL, e.g. an error rate")
    max: float = Field(default=0.05,
                       description="the highest value the query may return (0.05: an error "
                       "rate at or under 5 %)")


class VerifyConfig(_Model):
    """The watch after a rollout (environments.<name>.verify): the guide's critical first
    minutes. New pods are watched (restarts, crash loops, not ready) for `bake`, then the
    smoke and Prometheus checks run; a failure rolls back to the previous version, or, with
    `auto_rollback: false`, the card offers Rollback / Keep buttons."""

    bake: Duration | None = Field(
        default=None, description="how long new pods are watched after the rollout "
        "(default 5m where the environment has an approval rule, else 0)",
    )
    auto_rollback: bool | None = Field(
        default=None, description="roll back to the previous version when the watch fails "
        "(default on where the environment has an approval rule)",
    )
    smoke: list[SmokeCheckConfig] = Field(
        default_factory=list, description="HTTP checks run after the bake")
    prometheus: PrometheusCheckConfig | None = Field(
        default=None, description="a Prometheus query run after the bake")

    @field_validator("bake")
    @classmethod
    def _bake(cls, v: timedelta | None) -> timedelta | None:
        if v is not None and v < timedelta(0):
            raise ValueError("must not be negative")
        return v


#: The role production logs need unless `logs.viewers` says otherwise (nobody holds it
#: until `roles` names its members).
LOG_VIEWERS_ROLE = "log_viewers"


class LogsConfig(_Model):
    """Who reads this environment's pod logs with `/logs`, and where they go
    (environments.<name>.logs). Logs can hold customer data: a production environment's are
    for an explicit role only."""

    viewers: list[str] | None = Field(
        default=None,
        description="roles (or Slack user/group ids) that may read pod logs here with /logs "
        "(and the Logs button); default: the environment's deployers, except in a production "
        "environment (`production`), where it is the `log_viewers` role — nobody until "
        "roles.log_viewers names its members",
    )
    in_thread: bool | None = Field(
        default=None,
        description="post the log file in the deployment's thread (seen by everyone in the "
        "deployments channel) when the service has a recent one; false: always to the person "
        "who asked, in a DM; default: true, except in a production environment",
    )


#: The bake time of an environment with an approval rule, unless it says otherwise.
DEFAULT_BAKE = timedelta(minutes=5)


class EnvironmentConfig(_Model):
    """One environment deploybot deploys to (environments.<name>); `{}` takes every
    default: anyone in `deployers` deploys, no approval, always open."""

    deployers: list[str] = Field(
        default_factory=lambda: ["deployers"],
        description="roles (or Slack user/group ids) allowed to request deploys",
    )
    approval: ApprovalConfig | None = Field(
        default=None, description="manual approval of deploys here (default: none needed)")
    schedule: dict[str, Any] | None = Field(
        default=None,
        description="the deploy windows, in `timezone`: weekday -> anytime | emergency_only | "
        "{from: \"09:00\", until: \"17:00\"} (either end may be left out) | a list of those; "
        "a day left out is emergency only; quote times (YAML reads 14:00 as a number); "
        "no schedule = always open",
    )
    rollbacks: RollbackRuleConfig = Field(
        default=RollbackRuleConfig(), description="how rollbacks go here")
    start_within: Duration = Field(
        default=timedelta(hours=4),
        description="a deploy queued for a window expires if its requester does not start "
        "it this long after being asked",
    )
    verify: VerifyConfig = Field(default=VerifyConfig(),
                                 description="the watch after a rollout")
    production: bool | None = Field(
        default=None, description="a failure here is a production failure (critical by "
        "default, see announcements.severity); default: true for the environment named "
        "production",
    )
    promote_from: str | None = Field(
        default=None, description="the promotion gate: a version deploys here only after it "
        "succeeded (went live and passed its checks) in that environment, unless emergency; "
        "default: no gate",
    )
    logs: LogsConfig = Field(default=LogsConfig(),
                             description="who reads pod logs here (/logs), and where they go")
    checklist_attestation: Literal["none", "approver"] = Field(
        default="none", description="the pre-deployment checklist items nothing checked "
        "(deploybot does not ask GitHub for the service, or a manual item nobody ticked): "
        "`approver` — approving a deploy here attests them, and the record names the "
        "approvers on each; `none` — approval attests nothing, and the record shows them "
        "not checked (with why). Needs `approval`",
    )
    links: Links = links_field("links of every service deployed here")

    @property
    def bake(self) -> timedelta:
        if self.verify.bake is not None:
            return self.verify.bake
        return DEFAULT_BAKE if self.approval is not None else timedelta(0)

    @property
    def auto_rollback(self) -> bool:
        if self.verify.auto_rollback is not None:
            return self.verify.auto_rollback
        return self.approval is not None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            parse_schedule("UTC", v)  # the zone is checked on its own; this checks the days
        return v


class EmergencyConfig(_Model):
    """The emergency lane (`emergency:`): `/deploy … --emergency "reason"` is allowed in
    closed windows and freezes, needs these approvals, and is announced loudly."""

    approvers: list[str] = Field(
        default_factory=lambda: ["emergency_approvers"],
        description="roles (or Slack user/group ids) that may approve emergency deploys",
    )
    required: int = Field(default=1, ge=1, le=10,
                          description="approvals an emergency deploy needs")
    allow_self_approval: bool = Field(
        default=False, description="whether the requester may approve their own emergency "
        "deploy")
    expires_after: Duration = Field(
        default=timedelta(hours=1),
        description="an unapproved emergency request expires after this")
