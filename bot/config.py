"""Typed configuration: the schema of app.yaml, loaded once and validated.

`load_config(path)` is the only reader of the file. Every problem is reported as a
`ConfigError` naming the file, the key and the reason, so the CLI can print one line and
exit 2. Secrets never live here: they come from the environment (see `bot.settings`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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


class EnvironmentConfig(_Model):
    deployers: list[str] = Field(
        default_factory=lambda: ["deployers"],
        description="roles (or Slack user/group ids) allowed to request deploys",
    )
    approval: ApprovalConfig | None = None


class SimulatedConfig(_Model):
    rollout_seconds: float = Field(default=3.0, ge=0, le=3600)
    fail_versions: str | None = Field(default=None, description="regex; matching versions fail")
    initial_version: str | None = None

    @field_validator("fail_versions")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from e
        return v


class ServiceConfig(_Model):
    executor: Literal["simulated"] = "simulated"
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


class RunnerConfig(_Model):
    workers: int = Field(default=4, ge=1, le=64)
    lease: Duration = timedelta(seconds=60)
    poll_every: Duration = timedelta(seconds=10)


class AppConfig(_Model):
    timezone: str = "UTC"
    slack: SlackConfig
    roles: dict[str, list[str]] = Field(default_factory=dict)
    environments: dict[str, EnvironmentConfig]
    services: dict[str, ServiceConfig]
    simulated: SimulatedConfig = SimulatedConfig()
    runner: RunnerConfig = RunnerConfig()
    expiry_check_every: Duration = timedelta(seconds=30)

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
        for env_name, env in self.environments.items():
            refs = [("deployers", r) for r in env.deployers] + (
                [("approval.approvers", r) for r in env.approval.approvers]
                if env.approval else [])
            for field, ref in refs:
                if ref not in self.roles and not _SLACK_ID.match(ref):
                    raise ValueError(
                        f"environments.{env_name}.{field}: {ref!r} is neither a role in roles "
                        "nor a Slack user/group id"
                    )
        for svc_name, svc in self.services.items():
            for env_name in svc.environments or []:
                if env_name not in self.environments:
                    raise ValueError(
                        f"services.{svc_name}.environments: unknown environment {env_name!r}"
                    )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def services_in(self, environment: str) -> list[str]:
        return [
            name
            for name, svc in self.services.items()
            if svc.environments is None or environment in svc.environments
        ]


def _key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


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
