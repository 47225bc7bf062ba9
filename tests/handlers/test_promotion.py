"""End to end over signed Slack HTTP: the promotion gate (environments.production.
promote_from: staging). Production takes only a version that succeeded in staging — not one
that failed there, nor one that only succeeded elsewhere — unless it is an emergency, which
is audited as skipping the gate. Queued (scheduled) deploys are gated too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text as sql

from bot.domain.commands import DeployArgs
from bot.domain.states import State
from bot.errors import Conflict
from tests.conftest import APPROVER2, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    audit_actions,
    deployment_ids,
    ephemeral_text,
    request,
    run_to_end,
)

ONCALL = "U0DAVE"


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(
        roles={"deployers": [REQUESTER, APPROVER2],
               "approvers": [APPROVER2],
               "emergency_approvers": [ONCALL]},
        environments={
            "development": {},
            "staging": {},
            "production": {
                "promote_from": "staging",
                "approval": {"required": 1, "approvers": ["approvers"],
                             "expires_after": "2h"},
            },
        },
        emergency={"approvers": ["emergency_approvers"], "required": 1},
    )


def refusal(version: str) -> str:
    return (f"`{version}` has not succeeded in staging yet: production takes only versions "
            "that went live and passed their checks in staging first. Deploy it to staging "
            f"(`/deploy api staging {version}`), or, if production is broken, use "
            "`--emergency")


def refused(bot: RunningBot, text: str) -> str:
    before = deployment_ids(bot)
    answer = ephemeral_text(bot, bot.deploy(text))
    assert deployment_ids(bot) == before  # nothing stored
    return answer


def deployed(bot: RunningBot, text: str) -> State:
    i = request(bot, text)
    return run_to_end(bot, i)


def audit_details(bot: RunningBot, deployment_id: int, action: str) -> dict[str, Any]:
    with bot.container.database.engine.connect() as conn:
        (raw,) = conn.execute(
            sql("SELECT details FROM audit_events WHERE deployment_id = :d AND action = :a"),
            {"d": deployment_id, "a": action}).scalars().all()
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def test_production_refuses_a_version_not_yet_in_staging(bot: RunningBot) -> None:
    answer = refused(bot, "production v1.2.4")
    assert refusal("v1.2.4") in answer, answer
    assert deployment_ids(bot) == []
    # the refusal is on the Slack trail, no deployment was requested
    assert not [a for a in audit_actions(bot) if a.startswith("deploy.")]


def test_production_takes_a_version_after_it_succeeded_in_staging(bot: RunningBot) -> None:
    assert deployed(bot, "staging v1.2.4") is State.SUCCEEDED

    i = request(bot, "production v1.2.4")

    d = bot.deployment(i)
    assert (d.environment, d.version, d.state) == ("production", "v1.2.4",
                                                   State.AWAITING_APPROVAL)
    # only that version: another one is still refused
    assert refusal("v1.2.5") in refused(bot, "production v1.2.5")


def test_a_version_that_failed_in_staging_is_refused(bot: RunningBot) -> None:
    assert deployed(bot, "staging v1.2.4-bad") is State.FAILED

    assert refusal("v1.2.4-bad") in refused(bot, "production v1.2.4-bad")


def test_succeeding_in_another_environment_does_not_count(bot: RunningBot) -> None:
    assert deployed(bot, "development v1.2.4") is State.SUCCEEDED

    assert refusal("v1.2.4") in refused(bot, "production v1.2.4")


def test_an_emergency_skips_the_gate_and_the_audit_log_says_so(bot: RunningBot) -> None:
    i = request(bot, 'production v1.2.4 --emergency "checkout is down"')

    d = bot.deployment(i)
    assert (d.state, d.emergency_reason) == (State.AWAITING_APPROVAL, "checkout is down")
    assert audit_actions(bot, i) == ["deploy.emergency_requested"]
    details = audit_details(bot, i, "deploy.emergency_requested")
    assert details["skipped_promotion_gate"] == "staging"
    assert details["emergency_reason"] == "checkout is down"


def test_an_emergency_of_a_promoted_version_skips_nothing(bot: RunningBot) -> None:
    assert deployed(bot, "staging v1.2.4") is State.SUCCEEDED

    i = request(bot, 'production v1.2.4 --emergency "checkout is down"')

    assert "skipped_promotion_gate" not in audit_details(bot, i, "deploy.emergency_requested")


def test_a_deploy_queued_for_its_window_is_gated_too(bot: RunningBot) -> None:
    args = DeployArgs(service="api", environment="production", version="v1.2.4")
    with pytest.raises(Conflict) as info:
        bot.container.deployments.schedule_for_window(args, user_id=REQUESTER)
    assert refusal("v1.2.4") in str(info.value)
    assert deployment_ids(bot) == []


def test_a_version_changed_into_staging_outside_deploybot_is_not_promoted(
        bot: RunningBot) -> None:
    """The gate works from what runs (issue 12): staging runs v1.2.5 because someone put it
    there by hand; deploybot never checked it, and the refusal says so."""
    i = request(bot, "staging v1.2.3")
    assert run_to_end(bot, i) is State.SUCCEEDED
    bot.container.cluster.deploy("staging", "api", "v1.2.5",
                                 progress=lambda _line: None)  # not through deploybot
    answer = refused(bot, "production v1.2.5")
    assert answer.startswith("⚠️ " + refusal("v1.2.5").split(" Deploy it to")[0]), answer
    assert ("It runs in staging now, but deploybot did not put it there (changed outside "
            "deploybot), so nothing checked it.") in answer, answer
