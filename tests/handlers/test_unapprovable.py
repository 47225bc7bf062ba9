"""A request nobody can approve is refused when it is made, not left to expire: the
approver group's known members other than the requester (when self-approval is off) are
fewer than the approvals required. When the group cannot be read, the request goes on."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import audit_actions, deployment_ids, ephemeral_text, request

ONCALL = APPROVER  # the one emergency approver, who also deploys (app.yaml's U0CAROL)
EMERGENCY = 'production v1.2.4 --emergency "checkout down"'


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(
        roles={"deployers": [REQUESTER, APPROVER], "approvers": [APPROVER],
               "emergency_approvers": [ONCALL], "leads": ["S0LEADS"]},
        environments={
            "staging": {"approval": {"required": 1, "approvers": ["leads"]}},
            "production": {"approval": {"required": 1, "approvers": ["approvers"]}},
        },
        emergency={"approvers": ["emergency_approvers"], "required": 1},
    )


def test_the_only_emergency_approvers_own_emergency_deploy_is_refused(
        bot: RunningBot) -> None:
    reply = bot.deploy(EMERGENCY, user=ONCALL)

    text = ephemeral_text(bot, reply)
    assert "Nobody can approve this emergency deploy" in text
    assert "the emergency approvers (`emergency_approvers`) are only you" in text
    assert "self-approval is off (`emergency.allow_self_approval`)" in text
    assert "Ask an admin to add an approver to `roles.emergency_approvers`" in text
    assert deployment_ids(bot) == []
    assert audit_actions(bot) == []
    assert bot.slack.calls("chat.postMessage") == []


def test_someone_elses_emergency_deploy_still_waits_for_her(bot: RunningBot) -> None:
    i = request(bot, EMERGENCY, user=REQUESTER)
    assert bot.deployment(i).state is State.AWAITING_APPROVAL


def test_a_production_deploy_by_its_only_approver_is_refused(bot: RunningBot) -> None:
    text = ephemeral_text(bot, bot.deploy("production v1.2.4", user=APPROVER))

    assert "Nobody can approve this deploy to production" in text
    assert "the approvers (`approvers`) are only you" in text
    assert "environments.production.approval.allow_self_approval" in text
    assert deployment_ids(bot) == []


def test_a_group_whose_members_cannot_be_read_does_not_refuse(bot: RunningBot) -> None:
    bot.slack.fail_next("usergroups.users.list", "internal_error", times=5)

    i = request(bot, "staging v1.2.4")

    assert bot.deployment(i).state is State.AWAITING_APPROVAL


def test_a_group_read_in_slack_counts_its_members(bot: RunningBot) -> None:
    # S0LEADS (fake Slack) holds U0LEAD: the requester's staging deploy can be approved.
    i = request(bot, "staging v1.2.4")
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert bot.slack.calls("usergroups.users.list")[0].args["usergroup"] == "S0LEADS"
