"""Typed configuration: the schema of app.yaml, loaded once and validated.

`load_config(path)` is the only reader of the file. Every problem is reported as a
`ConfigError` naming the file, the key and the reason, so the CLI can print one line and
exit 2. Secrets never live here: they come from the environment (see `bot.settings`).

Why one long module: it is the schema of one file, app.yaml, section by section in the
file's order, and its cross-section checks (environments named by services, roles named by
approvals) need every section in one place.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.domain.alerts import Destination, parse_destination
from bot.domain.freezes import Freeze, slug
from bot.domain.schedule import Schedule, parse_schedule
from bot.domain.severity import DEFAULT_SEVERITY, Outcome, Severity
from bot.domain.workflow_dispatch import template_problem

DEFAULT_VERSION_PATTERN = r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")


class ConfigError(Exception):
    """app.yaml is missing or wrong; `str()` is one line: file, key, reason."""

    def __init__(self, path: str, key: str, reason: str) -> None:
        self.path, self.key, self.reason = path, key, reason
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + reason)


def parse_duration(value: object) -> timedelta:
    """'2h', '90m', '1d 12h', '45s' or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 2h, 90m or 30s")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (int(g) if g else 0 for g in m.groups())
            return timedelta(days=d, hours=h, minutes=mi, seconds=s)
    raise ValueError(f"{value!r} is not a duration (use e.g. 2h, 90m, 30s)")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _positive(v: timedelta) -> timedelta:
    if v <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return v


PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackConfig(_Model):
    deployments_channel: str = Field(
        description="channel id (C…) or #name for approvals and results"
    )

    @field_validator("deployments_channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        if not re.match(r"^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{2,})$", v):
            raise ValueError("use a channel id such as C0123456789 or a name such as #deployments")
        return v


class ApprovalConfig(_Model):
    required: int = Field(default=1, ge=1, le=10)
    approvers: list[str] = Field(default_factory=lambda: ["approvers"])
    allow_self_approval: bool = False
    expires_after: Duration = timedelta(hours=2)


class RollbackRuleConfig(_Model):
    """How rollbacks go in one environment (environments.<name>.rollbacks)."""

    ignore_windows: bool = Field(
        default=True,
        description="rollbacks may run in freezes and closed windows (always announced)",
    )
    approval: bool = Field(
        default=False,
        description="a rollback needs the environment's approvals like a deploy (default: "
        "no approval, a confirmation dialog)",
    )
    lock: bool = Field(
        default=True,
        description="a rollback locks the service in the environment until someone unlocks "
        "it, so nothing pushes the bad version again",
    )


class SmokeCheckConfig(_Model):
    """An HTTP smoke check after the rollout (environments.<name>.verify.smoke)."""

    url: str = Field(pattern=r"^https?://\S+$", description="GET this URL")
    expect_status: int = Field(default=200, ge=100, le=599)


class PrometheusCheckConfig(_Model):
    """An instant query against Prometheus' HTTP API (environments.<name>.verify.prometheus);
    the check fails when a value of the result is above `max`."""

    url: str = Field(pattern=r"^https?://\S+$", description="Prometheus' base URL")
    query: str = Field(min_length=1, description="PromQL, e.g. an error rate")
    max: float = 0.05


class VerifyConfig(_Model):
    """The watch after a rollout (environments.<name>.verify)."""

    bake: Duration | None = Field(
        default=None, description="how long new pods are watched after the rollout "
        "(default 5m where the environment has an approval rule, else 0)",
    )
    auto_rollback: bool | None = Field(
        default=None, description="roll back to the previous version when the watch fails "
        "(default on where the environment has an approval rule)",
    )
    smoke: list[SmokeCheckConfig] = Field(default_factory=list)
    prometheus: PrometheusCheckConfig | None = None

    @field_validator("bake")
    @classmethod
    def _bake(cls, v: timedelta | None) -> timedelta | None:
        if v is not None and v < timedelta(0):
            raise ValueError("must not be negative")
        return v


#: The bake time of an environment with an approval rule, unless it says otherwise.
DEFAULT_BAKE = timedelta(minutes=5)


class EnvironmentConfig(_Model):
    deployers: list[str] = Field(
        default_factory=lambda: ["deployers"],
        description="roles (or Slack user/group ids) allowed to request deploys",
    )
    approval: ApprovalConfig | None = None
    schedule: dict[str, Any] | None = Field(
        default=None,
        description="weekday -> anytime | emergency_only | {from, until} | [ranges]; "
        "no schedule = always open",
    )
    rollbacks: RollbackRuleConfig = RollbackRuleConfig()
    start_within: Duration = Field(
        default=timedelta(hours=4),
        description="a deploy queued for a window expires if its requester does not start "
        "it this long after being asked",
    )
    verify: VerifyConfig = VerifyConfig()
    production: bool | None = Field(
        default=None, description="a failure here is a production failure (critical by "
        "default); default: true for the environment named production",
    )
    promote_from: str | None = Field(
        default=None, description="the promotion gate: a version deploys here only after it "
        "succeeded (and passed its checks) in that environment, unless emergency; "
        "default: no gate",
    )
    checklist_attestation: Literal["none", "approver"] = Field(
        default="none", description="the pre-deployment checklist items nothing checked "
        "(deploybot does not ask GitHub for the service, or a manual item nobody ticked): "
        "`approver` — approving a deploy here attests them, and the record names the "
        "approvers on each; `none` — approval attests nothing, and the record shows them "
        "not checked (with why). Needs `approval`",
    )

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
    approvers: list[str] = Field(default_factory=lambda: ["emergency_approvers"])
    required: int = Field(default=1, ge=1, le=10)
    allow_self_approval: bool = False
    expires_after: Duration = timedelta(hours=1)


def _when(value: object) -> datetime | date:
    """'2026-12-10 09:00', '2026-12-10T09:00-05:00', or a date '2026-12-10' (whole day)."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        s = value.strip()
        try:
            return date.fromisoformat(s) if len(s) == 10 else datetime.fromisoformat(s)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date or time (use e.g. '2026-12-10 09:00' or "
                     "'2026-12-10')")


When = Annotated[datetime | date, BeforeValidator(_when)]


class FreezeWindowConfig(_Model):
    name: str = Field(min_length=1, max_length=80)
    start: When
    end: When = Field(description="exclusive; a date means through the end of that day")
    reason: str = ""
    environments: list[str] | None = None
    services: list[str] | None = None


class HolidayConfig(_Model):
    country: str
    subdivision: str | None = None
    names: list[str] | None = Field(
        default=None, description="only holidays with these names (the library's own names)"
    )
    language: str | None = None
    environments: list[str] | None = None


class BlackFridayConfig(_Model):
    environments: list[str] | None = None


class FreezesConfig(_Model):
    windows: list[FreezeWindowConfig] = Field(default_factory=list)
    holidays: list[HolidayConfig] = Field(default_factory=list)
    black_friday_cyber_monday: BlackFridayConfig | None = None
    managers: list[str] = Field(
        default_factory=lambda: ["freeze_managers"],
        description="roles (or ids) that may add and remove freezes from Slack",
    )


_MENTION = r"(?:<!here>|<!channel>|<!subteam\^S[A-Z0-9]{2,}>|<@[UW][A-Z0-9]{2,}>)"


def _mention(v: str) -> str:
    if not re.fullmatch(rf"{_MENTION}(?: +{_MENTION})*", v.strip()):
        raise ValueError(f"{v!r} is not a Slack mention (use <!here>, <!channel>, a user "
                         "group <!subteam^S…> or a user <@U…>, several separated by spaces)")
    return v.strip()


Mention = Annotated[str, AfterValidator(_mention)]


class SeverityConfig(_Model):
    """The severity of each outcome of a deployment (announcements.severity); the defaults
    are the guide's (see bot.domain.severity)."""

    production_failed: Severity = DEFAULT_SEVERITY[Outcome.PRODUCTION_FAILED]
    auto_rolled_back: Severity = DEFAULT_SEVERITY[Outcome.AUTO_ROLLED_BACK]
    rolled_back: Severity = DEFAULT_SEVERITY[Outcome.ROLLED_BACK]
    verification_failed: Severity = DEFAULT_SEVERITY[Outcome.VERIFICATION_FAILED]
    failed: Severity = DEFAULT_SEVERITY[Outcome.FAILED]
    succeeded: Severity = DEFAULT_SEVERITY[Outcome.SUCCEEDED]
    lock_blocked: Severity = DEFAULT_SEVERITY[Outcome.LOCK_BLOCKED]
    approval_expired: Severity = DEFAULT_SEVERITY[Outcome.APPROVAL_EXPIRED]

    @property
    def mapping(self) -> dict[Outcome, Severity]:
        return {outcome: getattr(self, outcome.value) for outcome in Outcome}


class AnnouncementsConfig(_Model):
    freeze_warnings: list[Duration] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1)],
        description="how long before a freeze starts to warn",
    )
    window_closing_warning: Duration | None = Field(
        default=timedelta(hours=1), description="warn this long before a schedule closes"
    )
    grace: Duration = Field(
        default=timedelta(minutes=10),
        description="an announcement later than this (bot was down) is skipped, not replayed",
    )
    check_every: PositiveDuration = Field(
        default=timedelta(minutes=1),
        description="how often each process looks for announcements that are due",
    )
    severity: SeverityConfig = SeverityConfig()
    mentions: dict[Severity, Mention] = Field(
        default_factory=dict,
        description="severity -> Slack mention at the top of a result of that severity",
    )


class SimulatedConfig(_Model):
    rollout_seconds: float = Field(default=3.0, ge=0, le=3600)
    fail_versions: str | None = Field(default=None, description="regex; matching versions fail")
    fail_jobs: str | None = Field(
        default=None, description="regex on '<kind>:<version>' (e.g. 'migrate:.*-bad'); "
        "matching migration/backup Jobs fail",
    )
    initial_version: str | None = None
    fail_verify: str | None = Field(
        default=None, description="regex; matching versions go live, then fail the "
        "post-deploy watch (their pods restart)",
    )

    @field_validator("fail_versions", "fail_jobs", "fail_verify")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from e
        return v


_K8S_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # namespaces, containers
_K8S_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
VERSION_PLACEHOLDER = "{version}"


def k8s_name_problem(name: str, *, subdomain: bool = False) -> str | None:
    """Why `name` is not a valid Kubernetes name (a DNS label, or subdomain), or None."""
    limit, pattern = (253, _K8S_SUBDOMAIN) if subdomain else (63, _K8S_LABEL)
    if len(name) > limit or not pattern.match(name):
        return (f"{name!r} is not a valid Kubernetes name (lowercase letters, digits and -, "
                f"at most {limit} characters)")
    return None


_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class JobTemplateConfig(_Model):
    """How the one-off Jobs (migrations, backup, migration status) differ from the
    Deployment's pod template they are copied from (services.<name>.kubernetes.jobs)."""

    container: str | None = Field(
        default=None, description="the pod template's container the Jobs copy (env, "
        "volumes, resources); default: the first of `containers`",
    )
    service_account: str | None = Field(
        default=None, description="run the Jobs under this service account (default: the "
        "pod template's)",
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="environment variables added to (or replacing "
        "those of) the copied container, e.g. DJANGO_SETTINGS_MODULE",
    )

    @field_validator("container")
    @classmethod
    def _container(cls, v: str | None) -> str | None:
        if v is not None and (problem := k8s_name_problem(v)):
            raise ValueError(problem)
        return v

    @field_validator("service_account")
    @classmethod
    def _service_account(cls, v: str | None) -> str | None:
        if v is not None and (problem := k8s_name_problem(v, subdomain=True)):
            raise ValueError(problem)
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name (letters, "
                                 "digits, '_', '-', '.'; not starting with a digit)")
        return v


class KubernetesServiceConfig(_Model):
    """Where a service runs in Kubernetes (services.<name>.kubernetes)."""

    namespaces: dict[str, str] = Field(
        default_factory=dict, description="environment -> namespace (default: its name)"
    )
    deployment: str | None = Field(default=None, description="default: the service name")
    containers: list[str] | None = Field(
        default=None, min_length=1,
        description="containers whose image changes (default: [the service name])",
    )
    image: str | None = Field(
        default=None, description="image template, e.g. ghcr.io/acme/api:{version}"
    )
    progress_deadline: PositiveDuration = Field(
        default=timedelta(minutes=10),
        description="how long to follow a rollout at most (besides the Deployment's own "
        "progressDeadlineSeconds)",
    )
    jobs: JobTemplateConfig = Field(
        default_factory=JobTemplateConfig,
        description="how migration/backup/status Jobs differ from the pod template",
    )

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, v: dict[str, str]) -> dict[str, str]:
        for env, ns in v.items():
            if problem := k8s_name_problem(ns):
                raise ValueError(f"{env}: {problem}")
        return v

    @field_validator("deployment")
    @classmethod
    def _deployment(cls, v: str | None) -> str | None:
        if v is not None and (problem := k8s_name_problem(v, subdomain=True)):
            raise ValueError(problem)
        return v

    @field_validator("containers")
    @classmethod
    def _containers(cls, v: list[str] | None) -> list[str] | None:
        for c in v or []:
            if problem := k8s_name_problem(c):
                raise ValueError(problem)
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a container is named twice")
        return v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if v.count(VERSION_PLACEHOLDER) != 1:
            raise ValueError(f"{v!r} must contain {VERSION_PLACEHOLDER} exactly once "
                             "(e.g. ghcr.io/acme/api:{version})")
        rest = v.replace(VERSION_PLACEHOLDER, "")
        if "{" in rest or "}" in rest or any(c.isspace() for c in rest):
            raise ValueError(f"{v!r}: only {VERSION_PLACEHOLDER} may be in braces, and no spaces")
        return v

    def namespace(self, environment: str) -> str:
        return self.namespaces.get(environment, environment)

    def deployment_name(self, service: str) -> str:
        return self.deployment or service

    def container_names(self, service: str) -> list[str]:
        return list(self.containers or [service])

    def image_for(self, version: str) -> str:
        if self.image is None:
            raise ValueError("no image template")
        return self.image.replace(VERSION_PLACEHOLDER, version)

    def version_of(self, image: str) -> str | None:
        """The version in `image` according to the template, or None if it does not fit."""
        if self.image is None:
            return None
        head, _, tail = self.image.partition(VERSION_PLACEHOLDER)
        m = re.fullmatch(re.escape(head) + r"(?P<version>[^/@:\s]+)" + re.escape(tail), image)
        return m.group("version") if m else None


class KubernetesAccessConfig(_Model):
    """How deploybot reaches the clusters (top-level `kubernetes:`). KUBECONFIG comes from
    the environment, never from this file."""

    in_cluster: bool = Field(
        default=False, description="use the pod's service account (deploybot runs in the cluster)"
    )
    contexts: dict[str, str] = Field(
        default_factory=dict,
        description="environment -> kubeconfig context (default: the current context)",
    )


class BackupConfig(_Model):
    """A pre-migration backup, run as a Job like the migrations (services.<name>.migrations
    .backup)."""

    command: list[str] = Field(min_length=1, description="e.g. [\"/bin/backup-db\"]")
    timeout: PositiveDuration = timedelta(minutes=30)
    environments: list[str] | None = Field(
        default=None, min_length=1,
        description="environments where it runs before the migrations (default: all)",
    )

    def runs_in(self, environment: str) -> bool:
        return self.environments is None or environment in self.environments


class MigrationsConfig(_Model):
    """Database migrations run before the rollout, as a Job from the new image
    (services.<name>.migrations)."""

    command: list[str] = Field(min_length=1, description="e.g. [python, manage.py, migrate]")
    timeout: PositiveDuration = timedelta(minutes=10)
    status_command: list[str] | None = Field(
        default=None, min_length=1,
        description="what `/migrations` runs (a Job from the running version's image), "
        "e.g. [python, manage.py, showmigrations]",
    )
    backup: BackupConfig | None = None
    backup_required_in: list[str] = Field(
        default_factory=list,
        description="environments that must run the backup before migrating",
    )
    target_command: list[str] | None = Field(
        default=None, min_length=1,
        description="`/migrate <env> <target>` runs this, `{target}` replaced by the target "
        "words (e.g. [alembic, downgrade, '{target}']); default: command + target",
    )

    @field_validator("target_command")
    @classmethod
    def _has_target(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and "{target}" not in v:
            raise ValueError("must contain the word '{target}' (where the target goes)")
        return v

    def command_to(self, target: tuple[str, ...]) -> list[str]:
        """The command that migrates to `target` (the guide's migration rollback)."""
        if self.target_command is None:
            return [*self.command, *target]
        out: list[str] = []
        for word in self.target_command:
            out.extend(target if word == "{target}" else [word])
        return out

    def backup_in(self, environment: str) -> BackupConfig | None:
        """The backup to run before migrating in `environment`, if any."""
        return self.backup if self.backup is not None and self.backup.runs_in(environment) \
            else None


_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def _template(v: str) -> str:
    if (problem := template_problem(v)) is not None:
        raise ValueError(problem)
    return v


Template = Annotated[str, AfterValidator(_template)]


class GitHubActionsConfig(_Model):
    """Deploying by running a workflow (services.<name>.github.actions, with executor:
    github-actions). Templates may use {environment}, {version}, {service},
    {deployment_id} and {run_key}."""

    workflow: str = Field(min_length=1, description="the workflow's file name (deploy.yml) "
                          "or id; it needs `on: workflow_dispatch` with the inputs below")
    ref: Template = Field(default="main", min_length=1,
                          description="the branch or tag the workflow runs from "
                          "(e.g. main, or {version} to run the version's own workflow)")
    inputs: dict[str, Template] = Field(
        default_factory=lambda: {"environment": "{environment}", "version": "{version}",
                                 "deploybot_run": "{run_key}"},
        description="the workflow_dispatch inputs; one must carry {run_key} and the workflow "
        "must show that input in its run-name, which is how deploybot finds the run it "
        "started (again after a restart, instead of dispatching a second run)",
    )
    rollback_workflow: str | None = Field(
        default=None, min_length=1,
        description="the workflow a rollback runs (same ref and inputs); default: workflow, "
        "with the version rolled back to",
    )
    timeout: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="the run must finish within this (from its dispatch), else the deploy "
        "fails (the run is left alone)",
    )
    poll_every: PositiveDuration = Field(
        default=timedelta(seconds=10),
        description="how often the run and its jobs are looked at (2 requests a look)",
    )

    @model_validator(mode="after")
    def _key(self) -> GitHubActionsConfig:
        if not any("{run_key}" in v for v in self.inputs.values()):
            raise ValueError("inputs: one input must carry {run_key} (e.g. deploybot_run: "
                             "\"{run_key}\"), shown in the workflow's run-name, so that "
                             "deploybot can find the run it started")
        return self


class PullRequestsConfig(_Model):
    """Where a pull request's head commit deploys (services.<name>.github.pull_requests):
    either a plain environment name (shared: every pull request deploys to that
    environment's main instance, one after the other), or this mapping."""

    environment: str = Field(min_length=1, description="the environment, e.g. development")
    per_pr: bool = Field(
        default=False,
        description="true: each pull request gets its own instance of the environment "
        "(`pr-<number>`, a preview) next to the main one, removed when the pull request "
        "is closed; false: the environment itself (shared)",
    )


class GitHubServiceConfig(_Model):
    """The service's repository on GitHub (services.<name>.github): a version is one of its
    tags."""

    repository: str = Field(description="owner/name, e.g. acme/api")
    auto_deploy: dict[str, str] = Field(
        default_factory=dict,
        description="branch → environment: a push to the branch (GitHub webhook) deploys "
        "the pushed commit there, e.g. {main: staging}",
    )
    pull_requests: PullRequestsConfig | None = Field(
        default=None,
        description="where a pull request's head commit deploys when the pull request is "
        "opened, updated or reopened: an environment (e.g. development: shared), or "
        "{environment: development, per_pr: true} for a preview per pull request",
    )
    required_checks: list[str] = Field(
        default_factory=list,
        description="the checklist's `tests` item: these check runs / commit statuses of the "
        "version's commit must all succeed (e.g. [build, test, security, quality]); empty: "
        "every check reported must succeed",
    )
    migration_paths: list[str] = Field(
        default_factory=list,
        description="the checklist's `migrations` item: a change under these paths since "
        "the running version needs a review tick in Slack (e.g. [migrations/]); empty: no "
        "such item",
    )
    actions: GitHubActionsConfig | None = Field(
        default=None, description="the workflow that deploys it (executor: github-actions)"
    )

    @field_validator("pull_requests", mode="before")
    @classmethod
    def _pull_requests(cls, v: object) -> object:
        # The plain form, `pull_requests: development`, is the shared environment.
        return {"environment": v} if isinstance(v, str) else v

    @property
    def pr_environment(self) -> str | None:
        """The environment pull requests deploy to, if any."""
        return self.pull_requests.environment if self.pull_requests is not None else None

    @property
    def per_pr(self) -> bool:
        """Whether each pull request deploys to its own instance (a preview)."""
        return self.pull_requests is not None and self.pull_requests.per_pr

    @field_validator("repository")
    @classmethod
    def _repository(cls, v: str) -> str:
        if not _REPOSITORY.match(v) or v.split("/")[1] in (".", ".."):
            raise ValueError(f"{v!r} is not a GitHub repository (use owner/name, e.g. acme/api)")
        return v


class GitHubAppConfig(_Model):
    """The GitHub App installation deploybot acts as (`github.app`), when it authenticates as
    an App (GITHUB_APP_ID and its private key come from the environment, never from here)."""

    installation_id: int = Field(
        gt=0, description="the installation's id (GITHUB_APP_INSTALLATION_ID overrides it)")


class GitHubConfig(_Model):
    """How deploybot reaches GitHub (top-level `github:`). GITHUB_TOKEN comes from the
    environment (GITHUB_API_URL there overrides api_url), never from this file."""

    api_url: str = Field(
        default="https://api.github.com", pattern=r"^https?://\S+$",
        description="the REST API's base URL; for GitHub Enterprise Server "
        "https://<host>/api/v3",
    )
    version_from: Literal["sha"] = Field(
        default="sha",
        description="the version an automatic deploy (webhook) deploys: the pushed commit's "
        "first 12 characters; it must match the service's version_pattern",
    )
    auto_deployer: str = Field(
        default="deploybot (github)", min_length=1, max_length=80,
        description="who automatic deploys are requested by (cards, audit); they skip only "
        "the deployers check, never locks, windows, freezes or approvals",
    )
    app: GitHubAppConfig | None = Field(
        default=None, description="the GitHub App installation, with GITHUB_APP_ID")
    poll: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="poll GitHub for automatic deploys (branch heads, open pull requests): "
        "auto = when webhooks cannot arrive (no GITHUB_WEBHOOK_SECRET, or Socket Mode) and "
        "a service has auto_deploy or pull_requests; on = always (with them); off = never",
    )
    poll_every: PositiveDuration = Field(
        default=timedelta(seconds=60),
        description="how often to poll (each look costs 1 request per watched branch and 1 "
        "per repository with pull_requests; GitHub allows 5000 an hour per token)",
    )


ChecklistItem = Literal["tests", "reviews", "migrations", "feature_flags", "monitoring",
                        "rollback_plan"]
CHECKLIST_ITEMS: tuple[ChecklistItem, ...] = ("tests", "reviews", "migrations",
                                              "feature_flags", "monitoring", "rollback_plan")


class ChecklistConfig(_Model):
    """The pre-deployment checklist on approval cards (top-level `checklist:`), for services
    with `github:`; without this section there is none."""

    items: list[ChecklistItem] = Field(
        default_factory=lambda: list(CHECKLIST_ITEMS),
        description="the items shown (migrations only where a service has migration_paths)",
    )
    required_in: dict[ChecklistItem, list[str]] = Field(
        default_factory=dict,
        description="item → environments where approval needs it green; an item not "
        "listed is required in the production environments",
    )
    refresh_every: PositiveDuration = Field(
        default=timedelta(minutes=2),
        description="while items are pending, ask GitHub again this often (doubling up to "
        "max_backoff while GitHub cannot be asked, or until its rate limit resets)",
    )
    max_backoff: PositiveDuration = timedelta(minutes=30)
    max_commits: int = Field(
        default=50, ge=1, le=250,
        description="check the pull requests and reviews of at most this many commits",
    )


class ServiceConfig(_Model):
    executor: Literal["simulated", "kubernetes", "github-actions"] = "simulated"
    migrations: MigrationsConfig | None = Field(
        default=None, description="database migrations run as a Job before the rollout"
    )
    kubernetes: KubernetesServiceConfig | None = Field(
        default=None, description="where the service runs (executor: kubernetes)"
    )
    github: GitHubServiceConfig | None = Field(
        default=None, description="its GitHub repository: a version must be one of its tags"
    )
    version_pattern: str = DEFAULT_VERSION_PATTERN
    environments: list[str] | None = Field(
        default=None, min_length=1,
        description="environments this service deploys to (default: all)",
    )

    @field_validator("version_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from e
        return v


class LocksConfig(_Model):
    """Deploy locks (`/lock`, `/unlock`)."""

    max_duration: PositiveDuration = Field(
        default=timedelta(days=7),
        description="the longest a timed lock (`/lock … for 2h`) may last; a lock without a "
        "duration holds until someone unlocks it",
    )


class RunnerConfig(_Model):
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
    lease: Duration = timedelta(seconds=60)
    poll_every: Duration = timedelta(seconds=10)
    drain: Duration = Field(
        default=timedelta(seconds=5),
        description="on SIGTERM: how long the process keeps answering (new Slack requests get "
        "'restarting, try again', /readyz 503) while requests in flight finish and running "
        "deployments are handed back to another replica; then it exits",
    )


class HomeConfig(_Model):
    """The App Home tab (home.*): who gets it republished when something changes, and how
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
    cluster_cache: PositiveDuration = timedelta(minutes=10)


class AuditConfig(_Model):
    """Who may read the audit log in Slack (`/audit`); `deploybot audit export` reads it
    from the database."""

    viewers: list[str] = Field(
        default_factory=lambda: ["auditors"],
        description="roles (or Slack user/group ids) that may use /audit",
    )


def _time_of_day(value: object) -> time:
    """'17:00' (24-hour clock) -> time."""
    if isinstance(value, time):
        return value
    m = re.match(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$", str(value))
    if not m:
        raise ValueError(f"{value!r} is not a time of day (use e.g. 17:00)")
    return time(int(m.group(1)), int(m.group(2)))


def _destination(value: str) -> str:
    parse_destination(value)  # ValueError: the key and the reason
    return value.strip()


def _email(value: str) -> str:
    if not re.match(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


SUMMARY_DESTINATION = "summary"
Email = Annotated[str, AfterValidator(_email)]


class PagerDutyConfig(_Model):
    """PagerDuty Events API v2 (alerts.pagerduty). The routing key (integration key) comes
    from PAGERDUTY_ROUTING_KEY in the environment, never from this file."""

    events_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        description="the Events API v2 endpoint (a test points it at a local server)",
        pattern=r"^https?://\S+$",
    )
    source: str = Field(default="deploybot", min_length=1,
                        description="the events' `source` (shown in the incident)")


class SummaryEmailConfig(_Model):
    """The daily summary email (alerts.email), sent over SMTP: SMTP_HOST, SMTP_PORT,
    SMTP_USERNAME, SMTP_PASSWORD, SMTP_STARTTLS / SMTP_SSL from the environment."""

    to: list[Email] = Field(min_length=1, description="recipients")
    sender: Email = Field(alias="from", description="the From address")
    send_at: Annotated[time, BeforeValidator(_time_of_day)] = Field(
        default=time(17, 0),
        description="when to send it, in the team's time zone (`timezone`); it covers the "
        "24 hours up to then",
    )
    subject: str = Field(default="deploybot daily summary", min_length=1)


class AlertsConfig(_Model):
    """Where each severity's alerts go (alerts.routes): `pagerduty`, `slack:#channel` (or a
    channel id), `summary` (the daily summary email). A severity not listed goes nowhere
    beyond the deployments channel."""

    routes: dict[Severity, list[Annotated[str, AfterValidator(_destination)]]] = Field(
        default_factory=dict, description="severity -> destinations")
    pagerduty: PagerDutyConfig = PagerDutyConfig()
    email: SummaryEmailConfig | None = None
    attempts: int = Field(default=4, ge=1, le=10,
                          description="tries per destination before giving up (logged)")
    backoff: Duration = Field(default=timedelta(seconds=2),
                              description="wait before the first retry, doubled each time")

    @model_validator(mode="after")
    def _summary_needs_email(self) -> AlertsConfig:
        for severity, destinations in self.routes.items():
            if SUMMARY_DESTINATION in destinations and self.email is None:
                raise ValueError(f"routes.{severity.value}: `summary` needs alerts.email "
                                 "(to, from, send_at)")
        return self

    def destinations(self) -> dict[Severity, tuple[Destination, ...]]:
        return {severity: tuple(parse_destination(d) for d in ds)
                for severity, ds in self.routes.items()}


class AppConfig(_Model):
    timezone: str = "UTC"
    slack: SlackConfig
    roles: dict[str, list[str]] = Field(default_factory=dict)
    environments: dict[str, EnvironmentConfig]
    services: dict[str, ServiceConfig]
    emergency: EmergencyConfig = EmergencyConfig()
    freezes: FreezesConfig = FreezesConfig()
    locks: LocksConfig = LocksConfig()
    announcements: AnnouncementsConfig = AnnouncementsConfig()
    simulated: SimulatedConfig = SimulatedConfig()
    kubernetes: KubernetesAccessConfig = KubernetesAccessConfig()
    github: GitHubConfig = GitHubConfig()
    runner: RunnerConfig = RunnerConfig()
    audit: AuditConfig = AuditConfig()
    alerts: AlertsConfig = AlertsConfig()
    home: HomeConfig = HomeConfig()
    checklist: ChecklistConfig | None = None
    expiry_check_every: Duration = timedelta(seconds=30)
    drift_check_every: PositiveDuration = Field(
        default=timedelta(minutes=5),
        description="How often each service's running version is read from its executor "
                    "to find drift (a version deploybot did not put there), announced once "
                    "and audited. Status, App Home and every deploy read it too.")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown IANA time zone {v!r}") from e
        return v

    @field_validator("environments", "services", "roles")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not _NAME.match(str(name)):
                raise ValueError(
                    f"{name!r} is not a valid name (lowercase letters, digits, - and _)"
                )
        return v

    @field_validator("roles")
    @classmethod
    def _members(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, members in v.items():
            for m in members:
                if not _SLACK_ID.match(m):
                    raise ValueError(
                        f"role {role!r}: {m!r} is not a Slack user id (U…/W…) or user group id (S…)"
                    )
        return v

    @model_validator(mode="after")
    def _references(self) -> AppConfig:
        if not self.environments:
            raise ValueError("environments: define at least one environment")
        if not self.services:
            raise ValueError("services: define at least one service")
        refs: list[tuple[str, str]] = []
        for env_name, env in self.environments.items():
            refs += [(f"environments.{env_name}.deployers", r) for r in env.deployers]
            if env.approval:
                refs += [(f"environments.{env_name}.approval.approvers", r)
                         for r in env.approval.approvers]
        # Defaults name roles a team may not have: then nobody holds them. Only refs written
        # in the file must exist.
        if "approvers" in self.emergency.model_fields_set:
            refs += [("emergency.approvers", r) for r in self.emergency.approvers]
        if "managers" in self.freezes.model_fields_set:
            refs += [("freezes.managers", r) for r in self.freezes.managers]
        if "viewers" in self.audit.model_fields_set:
            refs += [("audit.viewers", r) for r in self.audit.viewers]
        for field, ref in refs:
            if ref not in self.roles and not _SLACK_ID.match(ref):
                raise ValueError(
                    f"{field}: {ref!r} is neither a role in roles nor a Slack user/group id"
                )
        self._check_freezes()
        for env_name, env in self.environments.items():
            if env.promote_from is None:
                continue
            if env.promote_from == env_name:
                raise ValueError(f"environments.{env_name}.promote_from: an environment "
                                 "cannot promote from itself")
            if env.promote_from not in self.environments:
                raise ValueError(f"environments.{env_name}.promote_from: unknown environment "
                                 f"{env.promote_from!r}")
        for svc_name, svc in self.services.items():
            for env_name in svc.environments or []:
                if env_name not in self.environments:
                    raise ValueError(
                        f"services.{svc_name}.environments: unknown environment {env_name!r}"
                    )
        self._check_kubernetes()
        self._check_actions()
        self._check_migrations()
        self._check_github()
        self._check_checklist()
        return self

    def _check_checklist(self) -> None:
        for env_name, env in self.environments.items():
            if env.checklist_attestation == "approver" and env.approval is None:
                raise ValueError(f"environments.{env_name}.checklist_attestation: approver "
                                 f"needs environments.{env_name}.approval (nobody approves "
                                 "deploys there, so nobody would attest the checklist)")
        if self.checklist is None:
            return
        for item, envs in self.checklist.required_in.items():
            if item not in self.checklist.items:
                raise ValueError(f"checklist.required_in.{item}: {item} is not in "
                                 "checklist.items")
            for env_name in envs:
                if env_name not in self.environments:
                    raise ValueError(f"checklist.required_in.{item}: unknown environment "
                                     f"{env_name!r}")

    def _check_github(self) -> None:
        for svc_name, svc in self.services.items():
            if svc.github is None:
                continue
            key = f"services.{svc_name}.github"
            targets = [(f"{key}.auto_deploy.{b}", e) for b, e in svc.github.auto_deploy.items()]
            prs = svc.github.pull_requests
            if prs is not None:
                targets.append((f"{key}.pull_requests"
                                + (".environment" if prs.per_pr else ""), prs.environment))
            for field, env_name in targets:
                if env_name not in self.environments:
                    raise ValueError(f"{field}: unknown environment {env_name!r}")
                if svc.environments is not None and env_name not in svc.environments:
                    raise ValueError(f"{field}: {svc_name} does not deploy to {env_name} "
                                     f"(services.{svc_name}.environments)")
            actions = svc.github.actions
            if (svc.github.per_pr and svc.executor == "github-actions"
                    and actions is not None
                    and not any("{instance}" in v for v in actions.inputs.values())):
                raise ValueError(f"{key}.pull_requests.per_pr: the workflow must be told the "
                                 "preview to deploy: give one of "
                                 f"{key}.actions.inputs the placeholder {{instance}} (e.g. "
                                 "instance: \"{instance}\"; empty for the main instance)")

    def _check_actions(self) -> None:
        for svc_name, svc in self.services.items():
            key = f"services.{svc_name}"
            actions = svc.github.actions if svc.github is not None else None
            if svc.executor != "github-actions":
                if actions is not None:
                    raise ValueError(f"{key}.github.actions: only used with executor: "
                                     f"github-actions ({key}.executor is {svc.executor})")
                continue
            if svc.github is None:
                raise ValueError(f"{key}.github.repository: required with executor: "
                                 "github-actions (the repository whose workflow deploys it)")
            if actions is None:
                raise ValueError(f"{key}.github.actions: required with executor: "
                                 "github-actions (e.g. workflow: deploy.yml)")
            if svc.migrations is not None:
                raise ValueError(f"{key}.migrations: not run with executor: github-actions "
                                 "(deploybot runs migrations as Kubernetes Jobs); run them "
                                 "in the workflow instead")

    def _check_migrations(self) -> None:
        for svc_name, svc in self.services.items():
            m = svc.migrations
            if m is None:
                continue
            key = f"services.{svc_name}.migrations"
            if m.backup is not None:
                for env_name in m.backup.environments or []:
                    if env_name not in self.environments:
                        raise ValueError(f"{key}.backup.environments: unknown environment "
                                         f"{env_name!r}")
            for env_name in m.backup_required_in:
                if env_name not in self.environments:
                    raise ValueError(f"{key}.backup_required_in: unknown environment "
                                     f"{env_name!r}")
                if m.backup is None:
                    raise ValueError(f"{key}.backup_required_in: {env_name} requires a backup "
                                     f"before migrating, but {key}.backup.command is not set")
                if not m.backup.runs_in(env_name):
                    raise ValueError(f"{key}.backup_required_in: {env_name} requires a backup "
                                     f"before migrating, but {key}.backup.environments does "
                                     f"not include it")

    def _check_kubernetes(self) -> None:
        for env_name in self.kubernetes.contexts:
            if env_name not in self.environments:
                raise ValueError(f"kubernetes.contexts: unknown environment {env_name!r}")
        if self.kubernetes.in_cluster and self.kubernetes.contexts:
            raise ValueError("kubernetes.contexts: kubeconfig contexts are not used when "
                             "kubernetes.in_cluster is true; remove one of them")
        for svc_name, svc in self.services.items():
            key = f"services.{svc_name}.kubernetes"
            k8s = svc.kubernetes
            if svc.executor != "kubernetes":
                if k8s is not None:
                    raise ValueError(f"{key}: only used with executor: kubernetes "
                                     f"(services.{svc_name}.executor is {svc.executor})")
                continue
            if k8s is None or k8s.image is None:
                raise ValueError(f"{key}.image: required with executor: kubernetes "
                                 "(e.g. image: ghcr.io/acme/api:{version})")
            for env_name in k8s.namespaces:
                if env_name not in self.environments:
                    raise ValueError(f"{key}.namespaces: unknown environment {env_name!r}")
            if k8s.deployment is None and (problem := k8s_name_problem(svc_name, subdomain=True)):
                raise ValueError(f"{key}.deployment: the default (the service name) does not "
                                 f"work: {problem}")
            if k8s.containers is None and (problem := k8s_name_problem(svc_name)):
                raise ValueError(f"{key}.containers: the default (the service name) does not "
                                 f"work: {problem}")
            for env_name in svc.environments or list(self.environments):
                if env_name not in k8s.namespaces and (problem := k8s_name_problem(env_name)):
                    raise ValueError(f"{key}.namespaces: the default for {env_name} (its name) "
                                     f"does not work: {problem}")

    def _check_freezes(self) -> None:
        def envs(key: str, names: list[str] | None) -> None:
            for n in names or []:
                if n not in self.environments:
                    raise ValueError(f"{key}.environments: unknown environment {n!r}")

        for i, w in enumerate(self.freezes.windows):
            key = f"freezes.windows.{i}"
            envs(key, w.environments)
            for s in w.services or []:
                if s not in self.services:
                    raise ValueError(f"{key}.services: unknown service {s!r}")
            try:
                self.freeze_window(w)
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from None
        for i, h in enumerate(self.freezes.holidays):
            key = f"freezes.holidays.{i}"
            envs(key, h.environments)
            from bot.backends.holiday_calendar import HolidayCalendar

            try:
                HolidayCalendar(h.country, h.subdivision, h.names, language=h.language)
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from None
        if self.freezes.black_friday_cyber_monday is not None:
            envs("freezes.black_friday_cyber_monday",
                 self.freezes.black_friday_cyber_monday.environments)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def production_environments(self) -> frozenset[str]:
        """The environments whose failures are production failures (`production`, default:
        the environment named production)."""
        return frozenset(name for name, env in self.environments.items()
                         if (env.production if env.production is not None
                             else name == "production"))

    def schedule_for(self, environment: str) -> Schedule | None:
        days = self.environments[environment].schedule
        return None if days is None else parse_schedule(self.timezone, days)

    def freeze_window(self, w: FreezeWindowConfig) -> Freeze:
        """A configured freeze window as a domain Freeze (naive times are in `timezone`)."""
        zone = self.zone

        def instant(v: datetime | date, *, end: bool) -> datetime:
            if isinstance(v, datetime):
                return v if v.tzinfo is not None else v.replace(tzinfo=zone)
            day = v + timedelta(days=1) if end else v
            return datetime(day.year, day.month, day.day, tzinfo=zone)

        return Freeze(
            name=w.name, start=instant(w.start, end=False), end=instant(w.end, end=True),
            reason=w.reason,
            environments=frozenset(w.environments) if w.environments else None,
            services=frozenset(w.services) if w.services else None,
            source="config", id=f"config:{slug(w.name)}",
        )

    def services_in(self, environment: str) -> list[str]:
        return [
            name
            for name, svc in self.services.items()
            if svc.environments is None or environment in svc.environments
        ]


def _key(loc: tuple[int | str, ...]) -> str:
    # A bad mapping key (e.g. a severity) is reported at that key, without pydantic's "[key]".
    return ".".join(str(p) for p in loc if p != "[key]") or "(top level)"


def parse_config(data: object, *, source: str = "app.yaml") -> AppConfig:
    if not isinstance(data, dict):
        raise ConfigError(source, "", "expected a mapping at the top level")
    try:
        return AppConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        key = _key(err["loc"])
        if not err["loc"]:  # whole-file checks say "key: reason"
            head, sep, rest = msg.partition(": ")
            if sep and re.fullmatch(r"[\w.-]+", head):
                key, msg = head, rest
        more = f" (and {len(e.errors()) - 1} more problem(s))" if len(e.errors()) > 1 else ""
        raise ConfigError(source, key, msg + more) from None


def load_config(path: str | Path) -> AppConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(p), "", "file not found (set DEPLOYBOT_CONFIG or pass a path)"
        ) from None
    except OSError as e:
        raise ConfigError(str(p), "", f"cannot read: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(str(p), where, f"not valid YAML: {getattr(e, 'problem', e)}") from None
    return parse_config(data, source=str(p))
