"""The schema of everything GitHub: a service's repository (`services.<name>.github`: tags,
automatic deploys, pull requests, the checklist's checks, the Actions workflow that deploys
it), how deploybot reaches GitHub (top-level `github:`) and the pre-deployment checklist
(top-level `checklist:`)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from bot.config.base import PositiveDuration, _Model, keyed
from bot.domain.workflow_dispatch import template_problem

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
        description="the workflow_dispatch inputs (input -> template); one must carry "
        "{run_key} and the workflow must show that input in its run-name, which is how "
        "deploybot finds the run it started (again after a restart, instead of dispatching "
        "a second run); the run-name must name the environment too",
        json_schema_extra=keyed("input"),
    )
    rollback_workflow: str | None = Field(
        default=None, min_length=1,
        description="the workflow /rollback and automatic rollbacks run (same ref and "
        "inputs); default: workflow, with the version rolled back to",
    )
    timeout: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="the run must finish within this (from its dispatch), else the deploy "
        "fails (the run is left alone)",
    )
    poll_every: PositiveDuration = Field(
        default=timedelta(seconds=10),
        description="how often the run and its jobs are looked at (2 requests a look; "
        "GitHub allows 5000 an hour)",
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

    repository: str = Field(description="owner/name, e.g. acme/api; a version must be one "
                            "of its tags (or a release's name)")
    auto_deploy: dict[str, str] = Field(
        default_factory=dict,
        description="branch → environment: a push to the branch (GitHub webhook, or "
        "polling) deploys the pushed commit (its first 12 characters) there, e.g. "
        "{main: staging}",
        json_schema_extra=keyed("branch"),
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
        "the running version needs a review tick in Slack by someone other than the "
        "requester (e.g. [migrations/]); empty: no such item",
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
    """How deploybot reaches GitHub (top-level `github:`), for services with `github:`.
    GITHUB_TOKEN comes from the environment (GITHUB_API_URL there overrides api_url), never
    from this file; or a GitHub App: GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or
    GITHUB_APP_PRIVATE_KEY_FILE) there, with the installation below. Webhooks
    (POST /github/webhook) are on when GITHUB_WEBHOOK_SECRET is set."""

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
    with `github:`; without this section there is none. Items are shown ✅/❌/⏳ and checked
    again when approve is clicked: approval is refused while a required item is not green
    (GitHub unreachable or rate limited counts as not green); emergency deploys may skip
    it (audited)."""

    items: list[ChecklistItem] = Field(
        default_factory=lambda: list(CHECKLIST_ITEMS),
        description="the items shown: tests (required_checks), reviews (every commit came "
        "through a merged pull request with an approving review), migrations (only where a "
        "service has migration_paths), feature_flags (checked where the service declares "
        "flags and the environment says where they live: each exists with its expect; "
        "else ticked like the next two), and monitoring, rollback_plan (ticked in Slack "
        "or marked not applicable with a reason)",
    )
    required_in: dict[ChecklistItem, list[str]] = Field(
        default_factory=dict,
        description="item → environments where approval needs it green; an item not "
        "listed is required in the production environments",
        json_schema_extra=keyed("item"),
    )
    refresh_every: PositiveDuration = Field(
        default=timedelta(minutes=2),
        description="while items are pending, ask GitHub again this often (doubling up to "
        "max_backoff while GitHub cannot be asked, or until its rate limit resets)",
    )
    max_backoff: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="the longest wait between two asks while GitHub cannot be asked",
    )
    max_commits: int = Field(
        default=50, ge=1, le=250,
        description="check the pull requests and reviews of at most this many commits",
    )
