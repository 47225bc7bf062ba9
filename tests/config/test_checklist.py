"""The `checklist:` section and the checklist keys of `services.<name>.github` (issue 6):
defaults, and each mistake named by key and reason at load time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.config import ConfigError, parse_config
from tests.conftest import base_config


def with_checklist(checklist: Any, **github: Any) -> dict[str, Any]:
    return base_config(services={"api": {"github": {"repository": "acme/api", **github}}},
                       checklist=checklist)


def problem(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="app.yaml")
    return info.value


def test_no_checklist_section_means_no_checklist() -> None:
    assert parse_config(base_config()).checklist is None


def test_defaults() -> None:
    cfg = parse_config(with_checklist({}, required_checks=["build", "test"],
                                      migration_paths=["migrations/"]))
    assert cfg.checklist is not None
    assert cfg.checklist.items == ["tests", "reviews", "migrations", "feature_flags",
                                   "monitoring", "rollback_plan"]
    assert cfg.checklist.required_in == {}
    assert cfg.checklist.refresh_every == timedelta(minutes=2)
    github = cfg.services["api"].github
    assert github is not None and github.required_checks == ["build", "test"]
    assert github.migration_paths == ["migrations/"]


@pytest.mark.parametrize("checklist, key, reason", [
    ({"required_in": {"tests": ["prod"]}}, "checklist.required_in.tests",
     "unknown environment 'prod'"),
    ({"items": ["tests"], "required_in": {"monitoring": ["production"]}},
     "checklist.required_in.monitoring", "monitoring is not in checklist.items"),
    ({"items": ["tests", "smoke"]}, "checklist.items.1", "Input should be"),
    ({"refresh_every": "0s"}, "checklist.refresh_every", ""),
])
def test_each_mistake_names_its_key(checklist: dict[str, Any], key: str, reason: str) -> None:
    err = problem(with_checklist(checklist))
    assert err.key == key
    assert reason in err.reason


def test_approval_attests_nothing_by_default() -> None:
    cfg = parse_config(base_config())
    assert {e.checklist_attestation for e in cfg.environments.values()} == {"none"}


def test_an_environment_may_let_its_approvers_attest_the_unchecked_items() -> None:
    data = base_config()
    data["environments"]["production"]["checklist_attestation"] = "approver"
    assert parse_config(data).environments["production"].checklist_attestation == "approver"


@pytest.mark.parametrize(("value", "reason"), [
    ("approver", "needs environments.staging.approval"),  # nobody approves there
    ("requester", "'none' or 'approver'"),
])
def test_attestation_mistakes_name_their_key(value: str, reason: str) -> None:
    data = base_config()
    data["environments"]["staging"] = {"checklist_attestation": value}
    message = str(problem(data))
    assert "environments.staging.checklist_attestation" in message and reason in message, \
        message
