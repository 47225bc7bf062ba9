"""Typed configuration: the schema of app.yaml, loaded once and validated.

`load_config(path)` is the only reader of the file. Every problem is reported as a
`ConfigError` naming the file, the key and the reason, so the CLI can print one line and
exit 2. Secrets never live here: they come from the environment (see `bot.settings`).

Each field's `description=` is the one statement of what its key means;
docs/configuration.md is generated from them (`python -m bot.config.reference`).

By area: base (the base model, ConfigError, durations), environments (and the emergency
lane), services, links (a service's and an environment's dashboards, runbooks, logs),
kubernetes, github (and the checklist), freezes, alerts (and announcements), runtime
(slack, runner, locks, home, audit, simulated), app (AppConfig), checks (the checks across
sections), load (parse/load). Everything is importable from `bot.config`.
"""

from bot.config.alerts import (
    SUMMARY_DESTINATION,
    AlertsConfig,
    AnnouncementsConfig,
    Email,
    Mention,
    PagerDutyConfig,
    SeverityConfig,
    SummaryEmailConfig,
)
from bot.config.app import AppConfig
from bot.config.base import ConfigError, Duration, PositiveDuration, parse_duration
from bot.config.environments import (
    DEFAULT_BAKE,
    ApprovalConfig,
    EmergencyConfig,
    EnvironmentConfig,
    PrometheusCheckConfig,
    RollbackRuleConfig,
    SmokeCheckConfig,
    VerifyConfig,
)
from bot.config.freezes import (
    BlackFridayConfig,
    FreezesConfig,
    FreezeWindowConfig,
    HolidayCheck,
    HolidayConfig,
    When,
)
from bot.config.github import (
    CHECKLIST_ITEMS,
    ChecklistConfig,
    ChecklistItem,
    GitHubActionsConfig,
    GitHubAppConfig,
    GitHubConfig,
    GitHubServiceConfig,
    PullRequestsConfig,
    Template,
)
from bot.config.kubernetes import (
    VERSION_PLACEHOLDER,
    JobTemplateConfig,
    KubernetesAccessConfig,
    KubernetesServiceConfig,
    k8s_name_problem,
)
from bot.config.links import Links, LinkTemplate, link_catalog
from bot.config.load import load_config, parse_config
from bot.config.runtime import (
    AuditConfig,
    HomeConfig,
    LocksConfig,
    RunnerConfig,
    SimulatedConfig,
    SlackConfig,
)
from bot.config.services import (
    DEFAULT_VERSION_PATTERN,
    BackupConfig,
    MigrationsConfig,
    ServiceConfig,
)

__all__ = [
    "CHECKLIST_ITEMS", "DEFAULT_BAKE", "DEFAULT_VERSION_PATTERN", "SUMMARY_DESTINATION",
    "VERSION_PLACEHOLDER", "AlertsConfig", "AnnouncementsConfig", "AppConfig",
    "ApprovalConfig", "AuditConfig", "BackupConfig", "BlackFridayConfig", "ChecklistConfig",
    "ChecklistItem", "ConfigError", "Duration", "Email", "EmergencyConfig",
    "EnvironmentConfig", "FreezeWindowConfig", "FreezesConfig", "GitHubActionsConfig",
    "GitHubAppConfig", "GitHubConfig", "GitHubServiceConfig", "HolidayCheck",
    "HolidayConfig", "HomeConfig", "JobTemplateConfig", "KubernetesAccessConfig",
    "KubernetesServiceConfig", "LinkTemplate", "Links", "LocksConfig", "Mention",
    "MigrationsConfig",
    "PagerDutyConfig", "PositiveDuration", "PrometheusCheckConfig", "PullRequestsConfig",
    "RollbackRuleConfig", "RunnerConfig", "ServiceConfig", "SeverityConfig",
    "SimulatedConfig", "SlackConfig", "SmokeCheckConfig", "SummaryEmailConfig", "Template",
    "VerifyConfig", "When", "k8s_name_problem", "link_catalog", "load_config", "parse_config",
    "parse_duration",
]
