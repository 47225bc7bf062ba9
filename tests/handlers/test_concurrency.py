"""Simultaneous clicks: however many arrive at once, a deployment runs exactly once.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (row locks, READ COMMITTED)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from bot.domain.states import State
from bot.presentation import ids
from devtools.slack_requests import Reply, text_value
from tests.conftest import APPROVER, APPROVER2, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    decisions,
    ephemeral_text,
    opened_modal,
    request,
    wait_dm,
)
from tests.slack_hold import SlackHold, acked_while_held

CLICKS = 20
MANY = [f"U0APPR{n:02d}" for n in range(CLICKS)]


def config_with(required: int) -> dict[str, Any]:
    return base_config(
        roles={"deployers": [REQUESTER, APPROVER, APPROVER2],
               "approvers": [APPROVER, APPROVER2, "S0LEADS", *MANY]},
        environments={"staging": {}, "production": {"approval": {
            "required": required, "approvers": ["approvers"], "expires_after": "2h"}}},
    )


def click_all_at_once(bot: RunningBot, deployment_id: int, users: list[str],
                      approve: list[bool] | None = None) -> list[str]:
    """Send one click per user, all released together; the ephemeral answers, in order."""
    return [ephemeral_text(bot, r) for r in clicks_at_once(bot, deployment_id, users, approve)]


def clicks_at_once(bot: RunningBot, deployment_id: int, users: list[str],
                   approve: list[bool] | None = None) -> list[Reply]:
    """Send one decision per user, all released together; the acks, in order. A
    rejection is its Reject click (which opens the modal asking why) first, one by one,
    then its submission, released with the approvals' clicks; its answer comes on the
    click's response_url, as an approval's does (the click's reply is returned)."""
    card = bot.card(deployment_id)
    approve = approve or [True] * len(users)
    modals: dict[int, tuple[Reply, dict[str, Any]]] = {}
    for n in (n for n in range(len(users)) if not approve[n]):
        opened = len(bot.slack.open_views())
        clicked = bot.requester.click(user_id=users[n], action_id=ids.REJECT,
                                      value=str(deployment_id), message=card)
        view = opened_modal(bot, clicked, opened)
        assert view is not None, "nothing was decided yet: Reject asks why"
        modals[n] = (clicked, view)
    gate = threading.Barrier(len(users))

    def one(n: int) -> Reply:
        gate.wait(timeout=10)
        if n in modals:
            clicked, view = modals[n]
            submitted = bot.requester.submit_view(
                view, {ids.REJECT_REASON: {ids.REJECT_REASON: text_value("no")}},
                user_id=users[n])
            assert submitted.status == 200 and submitted.body == "", submitted.body
            return clicked
        return bot.requester.click(user_id=users[n], action_id=ids.APPROVE,
                                   value=str(deployment_id), message=card)

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        replies = list(pool.map(one, range(len(users))))
    assert [r.status for r in replies] == [200] * len(users)
    return replies


def started_events(bot: RunningBot, deployment_id: int) -> int:
    with bot.container.database.engine.connect() as conn:
        return int(conn.execute(
            text("SELECT count(*) FROM audit_events "
                 "WHERE action = 'deploy.started' AND deployment_id = :d"),
            {"d": deployment_id},
        ).scalar_one())


def finish(bot: RunningBot) -> None:
    wait_dm(bot)
    assert bot.container.runner.wait_idle()


def kinds(answers: list[str]) -> Counter[str]:
    def kind(a: str) -> str:
        if "it is starting now" in a:
            return "started"
        if "more approval(s) needed" in a:
            return "counted"
        if "already decided" in a:
            return "already decided"
        if "already approved and under way" in a or "has already finished" in a:
            return "under way"
        if "You rejected" in a:
            return "rejected"
        if "was rejected by" in a:
            return "closed"
        return a
    return Counter(kind(a) for a in answers)


def assert_ran_once(bot: RunningBot, i: int) -> None:
    finish(bot)
    assert bot.deployment(i).state is State.SUCCEEDED
    assert started_events(bot, i) == 1
    assert len(announcements(bot)) == 1
    assert len(bot.slack.messages("D" + REQUESTER)) == 1


class TestOneApprovalRequired:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return config_with(1)

    def test_twenty_approvers_at_once_start_it_exactly_once(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3")

        answers = click_all_at_once(bot, i, MANY)

        assert kinds(answers) == {"started": 1, "under way": CLICKS - 1}
        assert_ran_once(bot, i)
        (who,) = decisions(bot, i)
        assert answers[MANY.index(who[0])].endswith("it is starting now.")

    def test_twenty_clicks_at_once_are_all_acked_before_any_is_answered(
        self, bot: RunningBot, slack_hold: SlackHold
    ) -> None:
        i = request(bot, "production v1.2.3")
        # Every ack comes back while the answers are held: no ack waits for a decision,
        # however many are being made at once.
        replies = acked_while_held(slack_hold, lambda: clicks_at_once(bot, i, MANY),
                                   "response_url")

        answers = [ephemeral_text(bot, r) for r in replies]
        assert kinds(answers) == {"started": 1, "under way": CLICKS - 1}
        assert_ran_once(bot, i)

    def test_one_approver_clicking_twenty_times_starts_it_exactly_once(
        self, bot: RunningBot
    ) -> None:
        i = request(bot, "production v1.2.3")

        answers = click_all_at_once(bot, i, [APPROVER] * CLICKS)

        assert kinds(answers)["started"] == 1
        assert sum(kinds(answers).values()) == CLICKS
        assert set(kinds(answers)) <= {"started", "under way", "already decided"}
        assert_ran_once(bot, i)
        assert decisions(bot, i) == [(APPROVER, True)]

    def test_a_double_click_starts_it_once(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3")

        answers = click_all_at_once(bot, i, [APPROVER, APPROVER])

        assert kinds(answers)["started"] == 1
        assert_ran_once(bot, i)

    def test_approvals_and_rejections_at_once_have_one_outcome(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3")

        answers = click_all_at_once(bot, i, MANY, approve=[n % 2 == 0 for n in range(CLICKS)])

        k = kinds(answers)
        assert k["started"] + k["rejected"] == 1
        assert len(decisions(bot, i)) == 1
        if k["started"]:
            assert_ran_once(bot, i)
        else:
            wait_dm(bot)
            assert bot.deployment(i).state is State.REJECTED
            assert started_events(bot, i) == 0
            assert announcements(bot) == []


class TestTwoApprovalsRequired:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return config_with(2)

    def test_twenty_approvers_at_once_start_it_exactly_once(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3")

        answers = click_all_at_once(bot, i, MANY)

        assert kinds(answers) == {"counted": 1, "started": 1, "under way": CLICKS - 2}
        assert_ran_once(bot, i)
        assert len(decisions(bot, i)) == 2

    def test_one_approver_clicking_twenty_times_counts_once(self, bot: RunningBot) -> None:
        i = request(bot, "production v1.2.3")

        answers = click_all_at_once(bot, i, [APPROVER] * CLICKS)

        assert kinds(answers) == {"counted": 1, "already decided": CLICKS - 1}
        assert bot.deployment(i).state is State.AWAITING_APPROVAL
        assert decisions(bot, i) == [(APPROVER, True)]
        assert started_events(bot, i) == 0
        # A second approver then starts it, once.
        answers = click_all_at_once(bot, i, [APPROVER2] * 2)
        assert kinds(answers) == {"started": 1, "already decided": 1} or \
            kinds(answers) == {"started": 1, "under way": 1}
        assert_ran_once(bot, i)


class TestTwoProcessesOnOneDatabase:
    """Two bot instances (each its own engine, runner and listener pool, as two replicas
    would have) deciding on one deployment at the same moment, straight at the service:
    exactly one execution, whichever instance wins."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return config_with(required=1)

    def test_twenty_decisions_across_two_instances_start_it_once(
            self, bot: RunningBot, database_url: str) -> None:
        from datetime import timedelta

        from bot.container import build_container
        from bot.errors import Conflict
        from tests.conftest import BOT_TOKEN

        other = build_container(bot.container.config, database_url=database_url,
                                slack_token=BOT_TOKEN, slack_api_url=bot.slack.base_url,
                                clock=bot.clock, progress_every=timedelta(0))
        try:
            assert request(bot, "production v1.2.3") == 1
            instances = [bot.container, other]
            gate = threading.Barrier(CLICKS)

            def one(n: int) -> bool:
                gate.wait(timeout=10)
                try:
                    result = instances[n % 2].deployments.decide(1, user_id=MANY[n],
                                                                  approve=True)
                except Conflict as e:  # the losers are told it is under way, or done
                    assert ("already approved and under way" in str(e)
                            or "has already finished (succeeded)" in str(e)), e
                    return False
                return result.started

            with ThreadPoolExecutor(max_workers=CLICKS) as pool:
                outcomes = list(pool.map(one, range(CLICKS)))
            assert outcomes.count(True) == 1
            assert other.runner.wait_idle() and bot.container.runner.wait_idle()
            assert started_events(bot, 1) == 1
            assert bot.deployment(1).state is State.SUCCEEDED
        finally:
            other.close()
