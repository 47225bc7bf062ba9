"""`AppConfig`, the whole of app.yaml: its sections, the names and ids in them, and what the
rest of the bot asks of the configuration (the time zone, production environments, an
environment's schedule, a configured freeze as a domain Freeze, the services of an
environment). The checks across sections are in bot.config.checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator

from bot.config.alerts import AlertsConfig, AnnouncementsConfig
from bot.config.base import _NAME, _SLACK_ID, Duration, PositiveDuration, _Model, keyed
from bot.config.checks import check_references
from bot.config.environments import EmergencyConfig, EnvironmentConfig
from bot.config.flags import FlagSourceConfig
from bot.config.freezes import FreezesConfig, FreezeWindowConfig
from bot.config.github import ChecklistConfig, GitHubConfig
from bot.config.kubernetes import KubernetesAccessConfig
from bot.config.runtime import (
    AuditConfig,
    HomeConfig,
    LocksConfig,
    RunnerConfig,
    SimulatedConfig,
    SlackConfig,
)
from bot.config.services import ServiceConfig
from bot.domain.freezes import Freeze, slug
from bot.domain.schedule import Schedule
from bot.domain.schedule_parsing import parse_schedule

#: The validation context's key for the injected `HolidayCheck` (see bot.config.load).
HOLIDAY_CHECK = "holiday_check"


class AppConfig(_Model):
    """app.yaml: the team's deployment guide, as the bot enforces it. Secrets (tokens, the
    database URL) come from the environment, never from this file."""

    timezone: str = Field(
        default="UTC",
        description="IANA time zone for everything shown to people (times are stored in "
        "UTC); schedules, freezes and the daily summary are read in it",
    )
    slack: SlackConfig = Field(description="Slack: the deployments channel")
    roles: dict[str, list[str]] = Field(
        default_factory=dict,
        description="role -> members: Slack user ids (U…/W…) or user group ids (S…, members "
        "looked up in Slack); deployers, approvers and the like name roles (or ids)",
        json_schema_extra=keyed("role"),
    )
    environments: dict[str, EnvironmentConfig] = Field(
        description="the environments deploybot deploys to, by name (lowercase letters, "
        "digits, - and _); at least one",
        json_schema_extra=keyed("name"),
    )
    services: dict[str, ServiceConfig] = Field(
        description="the services deploybot deploys, by name (lowercase letters, digits, - "
        "and _); at least one",
        json_schema_extra=keyed("name"),
    )
    emergency: EmergencyConfig = Field(
        default=EmergencyConfig(), description="the emergency lane (--emergency)")
    freezes: FreezesConfig = Field(
        default=FreezesConfig(), description="freezes: windows, holidays, Black Friday")
    locks: LocksConfig = Field(default=LocksConfig(), description="deploy locks (/lock)")
    announcements: AnnouncementsConfig = Field(
        default=AnnouncementsConfig(),
        description="announcements in the deployments channel, results' severities")
    simulated: SimulatedConfig = Field(
        default=SimulatedConfig(), description="the simulated cluster (executor: simulated)")
    kubernetes: KubernetesAccessConfig = Field(
        default=KubernetesAccessConfig(),
        description="how deploybot reaches the clusters (executor: kubernetes)")
    github: GitHubConfig = Field(
        default=GitHubConfig(), description="how deploybot reaches GitHub (services with "
        "`github:`)")
    runner: RunnerConfig = Field(default=RunnerConfig(),
                                 description="how each process runs deployments")
    audit: AuditConfig = Field(default=AuditConfig(),
                               description="who reads the audit log in Slack (/audit)")
    alerts: AlertsConfig = Field(
        default=AlertsConfig(), description="where each severity's alerts go (default: the "
        "deployments channel only)")
    home: HomeConfig = Field(default=HomeConfig(), description="the App Home tab")
    flags: dict[str, FlagSourceConfig] = Field(
        default_factory=dict,
        description="feature flags: where each environment's flags live (flagd's definitions "
        "in a FeatureFlag resource or a ConfigMap, an OFREP flag service); default: none",
        json_schema_extra=keyed("environment"),
    )
    checklist: ChecklistConfig | None = Field(
        default=None, description="the pre-deployment checklist on approval cards (default: "
        "none)")
    expiry_check_every: Duration = Field(
        default=timedelta(seconds=30),
        description="how often expired approval requests are closed")
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
    def _references(self, info: ValidationInfo) -> AppConfig:
        context = info.context if isinstance(info.context, dict) else {}
        check_references(self, holidays=context.get(HOLIDAY_CHECK))
        return self

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
