"""The schema of `services.<name>`: the executor that deploys it, its version pattern, the
environments it deploys to, and its database migrations (run as Jobs before the rollout).
Its Kubernetes and GitHub parts are in bot.config.kubernetes and bot.config.github."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from bot.config.base import PositiveDuration, _Model
from bot.config.flags import FlagRefConfig, flag_refs
from bot.config.github import GitHubServiceConfig
from bot.config.kubernetes import KubernetesServiceConfig
from bot.config.links import Links, links_field

DEFAULT_VERSION_PATTERN = r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"


class BackupConfig(_Model):
    """A pre-migration backup (services.<name>.migrations.backup), run as a Job like the
    migrations, e.g. to back the production database up first."""

    command: list[str] = Field(min_length=1, description="the backup's command, e.g. "
                               "[/bin/backup-db, --label, deploybot]")
    timeout: PositiveDuration = Field(default=timedelta(minutes=30),
                                      description="the backup Job must finish within this")
    environments: list[str] | None = Field(
        default=None, min_length=1,
        description="environments where it runs before the migrations (default: all)",
    )

    def runs_in(self, environment: str) -> bool:
        return self.environments is None or environment in self.environments


class MigrationsConfig(_Model):
    """The guide's database migrations (services.<name>.migrations): run before any pod
    changes, as a Kubernetes Job from the new image (the Deployment's service account and
    env); a failure stops the deploy. Not with executor: github-actions (run them in the
    workflow)."""

    command: list[str] = Field(min_length=1, description="the migration command, e.g. "
                               "[python, manage.py, migrate]")
    timeout: PositiveDuration = Field(
        default=timedelta(minutes=10),
        description="each Job (migrate, status, check) must finish within this")
    status_command: list[str] | None = Field(
        default=None, min_length=1,
        description="what `/migrations` runs (a Job from the running version's image) and "
        "shows the output of, e.g. [python, manage.py, showmigrations]; without it, "
        "/migrations says it is not configured",
    )
    check_command: list[str] | None = Field(
        default=None, min_length=1,
        description="what `/migrations` also runs, the same way as status_command, to tell "
        "whether the service's database answers (the guide's \"check connections\"): it "
        "answers when the command exits 0, else the Job's last log line says why, e.g. "
        "[python, manage.py, check, --database, default]; without it, /migrations says the "
        "database was not checked and names this key",
    )
    backup: BackupConfig | None = Field(
        default=None, description="a backup run as a Job before the migrations")
    backup_required_in: list[str] = Field(
        default_factory=list,
        description="environments that must run the backup before migrating (a config "
        "without that backup is refused)",
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


class ServiceConfig(_Model):
    """One service deploybot deploys (services.<name>)."""

    executor: Literal["simulated", "kubernetes", "github-actions"] = Field(
        default="simulated",
        description="what deploys it: simulated (the simulated cluster: demos, `deploybot "
        "shell`, tests), kubernetes (services.<name>.kubernetes) or github-actions (a "
        "workflow, services.<name>.github.actions)",
    )
    migrations: MigrationsConfig | None = Field(
        default=None, description="database migrations run as a Job before the rollout"
    )
    kubernetes: KubernetesServiceConfig | None = Field(
        default=None, description="where the service runs (executor: kubernetes)"
    )
    github: GitHubServiceConfig | None = Field(
        default=None, description="its GitHub repository: a version must be one of its tags"
    )
    version_pattern: str = Field(
        default=DEFAULT_VERSION_PATTERN,
        description="a regular expression versions must match (default: a semantic version "
        "with an optional v); automatic deploys' versions (commits' first 12 characters) "
        "must match it too, e.g. `^(v?\\d+\\.\\d+\\.\\d+|[0-9a-f]{12})$`",
    )
    environments: list[str] | None = Field(
        default=None, min_length=1,
        description="environments this service deploys to (default: all)",
    )
    links: Links = links_field("this service's links, in every environment it deploys to")
    flags: list[FlagRefConfig] = Field(
        default_factory=list,
        description="the feature flags that matter for this service (/flags shows them), "
        "each a flag key or {name, expect, kill_switch}; they live where `flags.<environment>` "
        "says",
    )

    @field_validator("flags", mode="before")
    @classmethod
    def _flags(cls, v: object) -> object:
        return flag_refs(v)

    @field_validator("version_pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a regular expression: {e}") from e
        return v
