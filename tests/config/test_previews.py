"""services.<name>.github.pull_requests: a plain environment (shared) or
{environment, per_pr} (a preview per pull request), validated at load."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, parse_config
from tests.conftest import base_config


def config(pull_requests: Any, **service: Any) -> dict[str, Any]:
    cfg = base_config()
    cfg["environments"]["development"] = {}
    cfg["services"]["api"].update(service)
    cfg["services"]["api"]["github"] = {"repository": "acme/api",
                                       "pull_requests": pull_requests}
    return cfg


def test_a_plain_environment_is_shared() -> None:
    gh = parse_config(config("development"), source="t").services["api"].github
    assert gh is not None
    assert (gh.pr_environment, gh.per_pr) == ("development", False)


def test_a_mapping_asks_for_a_preview_per_pull_request() -> None:
    gh = parse_config(config({"environment": "development", "per_pr": True}),
                      source="t").services["api"].github
    assert gh is not None
    assert (gh.pr_environment, gh.per_pr) == ("development", True)
    gh = parse_config(config({"environment": "development"}), source="t").services["api"].github
    assert gh is not None and gh.per_pr is False


def test_no_pull_requests_no_environment() -> None:
    cfg = base_config()
    cfg["services"]["api"]["github"] = {"repository": "acme/api"}
    gh = parse_config(cfg, source="t").services["api"].github
    assert gh is not None and (gh.pr_environment, gh.per_pr) == (None, False)


@pytest.mark.parametrize("value,key,reason", [
    ("qa", "services.api.github.pull_requests", "unknown environment 'qa'"),
    ({"environment": "qa", "per_pr": True}, "services.api.github.pull_requests.environment",
     "unknown environment 'qa'"),
    ({"per_pr": True}, "services.api.github.pull_requests.environment", "Field required"),
    ({"environment": "development", "per_pr": "sometimes"},
     "services.api.github.pull_requests.per_pr", "boolean"),
    ({"environment": "development", "preview": True},
     "services.api.github.pull_requests.preview", "Extra inputs"),
])
def test_both_forms_are_validated(value: Any, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(config(value), source="app.yaml")
    assert key in str(info.value) and reason in str(info.value), str(info.value)


def test_per_pr_with_a_workflow_needs_the_instance_in_its_inputs() -> None:
    actions = {"workflow": "deploy.yml",
               "inputs": {"environment": "{environment}", "run": "{run_key}"}}
    cfg = config({"environment": "development", "per_pr": True}, executor="github-actions")
    cfg["services"]["api"]["github"]["actions"] = actions
    with pytest.raises(ConfigError) as info:
        parse_config(cfg, source="app.yaml")
    assert "pull_requests.per_pr" in str(info.value) and "{instance}" in str(info.value)
    actions["inputs"]["preview"] = "{instance}"
    assert parse_config(cfg, source="app.yaml").services["api"].github is not None
