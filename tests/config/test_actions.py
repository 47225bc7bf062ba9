"""services.<name>.github.actions (executor: github-actions): what must be set together, and
templates checked at load."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, parse_config
from tests.conftest import base_config


def config(api: dict[str, Any]) -> dict[str, Any]:
    return base_config(services={"api": api})


def error(api: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as e:
        parse_config(config(api), source="app.yaml")
    return str(e.value)


def test_a_complete_github_actions_service_loads_with_the_defaults() -> None:
    cfg = parse_config(config({"executor": "github-actions", "github": {
        "repository": "acme/api", "actions": {"workflow": "deploy.yml"}}}))
    actions = cfg.services["api"].github.actions  # type: ignore[union-attr]
    assert actions is not None
    assert (actions.ref, actions.timeout.total_seconds(), actions.poll_every.total_seconds(),
            actions.rollback_workflow) == ("main", 1800, 10, None)
    assert actions.inputs == {"environment": "{environment}", "version": "{version}",
                              "deploybot_run": "{run_key}"}


def test_github_actions_needs_a_repository_and_a_workflow() -> None:
    assert error({"executor": "github-actions"}) == (
        "app.yaml: services.api.github.repository: required with executor: github-actions "
        "(the repository whose workflow deploys it)")
    assert error({"executor": "github-actions", "github": {"repository": "acme/api"}}) == (
        "app.yaml: services.api.github.actions: required with executor: github-actions "
        "(e.g. workflow: deploy.yml)")


def test_actions_without_the_executor_is_refused() -> None:
    assert error({"executor": "simulated", "github": {
        "repository": "acme/api", "actions": {"workflow": "deploy.yml"}}}) == (
        "app.yaml: services.api.github.actions: only used with executor: github-actions "
        "(services.api.executor is simulated)")


def test_the_inputs_must_carry_the_run_key_and_use_known_placeholders() -> None:
    no_key = error({"executor": "github-actions", "github": {"repository": "acme/api",
                    "actions": {"workflow": "deploy.yml", "inputs": {"v": "{version}"}}}})
    assert "services.api.github.actions" in no_key and "{run_key}" in no_key
    bad = error({"executor": "github-actions", "github": {"repository": "acme/api", "actions": {
        "workflow": "deploy.yml", "inputs": {"v": "{tag}", "k": "{run_key}"}}}})
    assert "services.api.github.actions.inputs.v" in bad and "unknown placeholder {tag}" in bad


def test_migrations_are_refused_with_github_actions() -> None:
    assert "services.api.migrations: not run with executor: github-actions" in error({
        "executor": "github-actions", "migrations": {"command": ["migrate"]},
        "github": {"repository": "acme/api", "actions": {"workflow": "deploy.yml"}}})
