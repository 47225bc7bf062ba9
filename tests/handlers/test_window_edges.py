"""Window edges (issue 12, point 7), end to end over signed Slack HTTP with the fake Slack Web
API and a ManualClock, on production's guide schedule (Friday until 14:00, 2 h approval expiry):

- the expiry on a card is never later than the moment the deploy could still start (clipped to
  the window's closing; an emergency ignores windows);
- an approval after the window closed tells the approver what happened (the request expired
  with the window, not "approve it on Monday"), tells the requester, and offers the queue; so
  does the expiry job when nobody approved it before the window closed;
- a deploy queued for its window collects its approvals ahead of it and starts by itself when
  the window opens; without enough, its requester is asked as before.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.domain.states import State
from bot.presentation import ids
from bot.scheduling import jobs
from tests.conftest import APPROVER, APPROVER2, OUTSIDER, REQUESTER, RunningBot, running_version
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    decisions,
    deployment_ids,
    dms,
    has_buttons,
    request,
    wait_dm,
)
from tests.handlers.test_honest_record import record as honest_record
from tests.handlers.test_windows import (
    FRIDAY_1405,
    MONDAY_0000,
    MONDAY_0001,
    ONCALL,
    SCHEDULE_REASON,
    WEDNESDAY_10,
    audit_details,
    button,
    buttons,
    finish,
    ny,
    post_of,
    press,
    prompts,
    queue,
    refused,
    release,
    window_config,
)

FRIDAY_1359 = ny(11, 20, 13, 59)
FRIDAY_1400 = ny(11, 20, 14)
MONDAY_OPENS = "Mon 2026-11-23 00:00 EST"


@pytest.fixture
def config_data() -> dict[str, Any]:
    return window_config()


def context_lines(message: dict[str, Any]) -> list[str]:
    return [e["text"] for b in message.get("blocks") or [] if b.get("type") == "context"
            for e in b.get("elements") or []]


# -- 1. the expiry on a card ---------------------------------------------------------------


def test_a_request_at_friday_13_59_expires_at_14_00_on_its_card(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_1359)

    i = request(bot, "production v1.2.3")

    d = bot.deployment(i)
    assert d.expires_at == FRIDAY_1400  # not 15:59: nothing approved after 14:00 could start
    assert "Expires Fri 2026-11-20 14:00 EST if not approved." in context_lines(bot.card(i))
    assert "15:59" not in blocks_text(bot.card(i))


@pytest.mark.parametrize(("now", "expires"), [
    pytest.param(WEDNESDAY_10, ny(11, 18, 12), id="wednesday-not-clipped"),
    pytest.param(ny(11, 19, 23), ny(11, 20, 1), id="thursday-night-runs-into-friday"),
    pytest.param(ny(11, 20, 12, 30), FRIDAY_1400, id="friday-12:30-clipped"),
])
def test_the_expiry_is_clipped_only_when_the_window_closes_first(
    bot: RunningBot, now: Any, expires: Any
) -> None:
    bot.clock.set(now)
    i = request(bot, "production v1.2.3")
    assert bot.deployment(i).expires_at == expires


def test_an_emergency_request_ignores_windows_and_is_not_clipped(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_1359)
    i = request(bot, 'production v1.2.4 --emergency "INC-7"')
    assert bot.deployment(i).expires_at == FRIDAY_1359 + timedelta(hours=1)
    # ...and it can still be approved after 14:00.
    bot.clock.set(FRIDAY_1405)
    assert f"You approved deployment #{i}; it is starting now" in click_reply(bot, i, ONCALL)
    finish(bot)
    assert bot.deployment(i).state is State.SUCCEEDED


# -- 2. an approval after the window closed ------------------------------------------------


def test_an_approval_after_14_00_says_it_expired_tells_the_requester_and_offers_the_queue(
    bot: RunningBot,
) -> None:
    bot.clock.set(FRIDAY_1359)
    i = request(bot, "production v1.2.3")
    bot.clock.set(FRIDAY_1405)
    assert click_reply(bot, i, OUTSIDER) == (
        "⚠️ You are not an approver for production. Ask someone in its approvers role.")
    assert bot.deployment(i).state is State.AWAITING_APPROVAL  # an outsider changes nothing

    text = click_reply(bot, i, APPROVER)

    # The approver: why, what became of the request, and what can be done; no promise that
    # it "can be approved from Mon 00:00" (it expired at 14:00).
    assert text == (f"⚠️ Not approved: the deploy window is closed now — {SCHEDULE_REASON}. "
                    f"Deployment #{i} expired at Fri 2026-11-20 14:00 EST: it could not "
                    "start before the window opens again. I told <@U0ALICE> and offered to "
                    f"queue it. It can be queued for the next window, {MONDAY_OPENS}, and "
                    "approved ahead on its card then.")
    assert "can be approved from" not in text
    d = bot.deployment(i)
    assert d.state is State.EXPIRED
    assert (d.expires_at, d.finished_at, d.not_before) == (FRIDAY_1400, FRIDAY_1405, MONDAY_0000)
    assert d.error == f"the deploy window closed before it was approved: {SCHEDULE_REASON}"
    assert decisions(bot, i) == []  # the approval is not recorded
    assert audit_actions(bot, i) == ["deploy.requested", "deploy.expired"]
    details = audit_details(bot, i, "deploy.expired")
    assert details["approval_refused"] == APPROVER
    assert details["next_window"].startswith("2026-11-23T05:00")
    # The card says so, without buttons.
    card = bot.card(i)
    assert "Expired" in card["text"]
    assert not has_buttons(card)
    assert ("Expired at Fri 2026-11-20 14:00 EST without enough approvals (the deploy window "
            f"closed before it was approved: {SCHEDULE_REASON}). Request it again with "
            "`/deploy`.") in context_lines(card)

    # The requester is told, with a button to queue it for the next window.
    wait_dm(bot)
    (dm,) = dms(bot)
    assert dm["text"].startswith(
        f"⌛ Your deploy #{i} api v1.2.3 → production expired without enough approvals: the "
        f"deploy window closed before it was approved: {SCHEDULE_REASON}. The next window "
        f"opens {MONDAY_OPENS}; queue it for then")
    assert button(dm, ids.QUEUE_FOR_WINDOW)["text"]["text"] == f"Queue it for {MONDAY_OPENS}"

    # A second click changes nothing and says why.
    assert click_reply(bot, i, APPROVER2) == (
        f"⚠️ Deployment #{i} (api `v1.2.3` to production) expired without enough approvals; "
        "nothing to approve.")
    assert audit_actions(bot, i) == ["deploy.requested", "deploy.expired"]

    # The requester queues it from the DM: a new deploy waiting for Monday, approvable now.
    answer = press(bot, dm, ids.QUEUE_FOR_WINDOW)
    (j,) = set(deployment_ids(bot)) - {i}
    assert answer["text"].startswith(f"🗓️ Deployment #{j} queued: `api` `v1.2.3` → "
                                     "*production*. It needs 1 approval(s)")
    queued = bot.deployment(j)
    assert (queued.state, queued.not_before, queued.approvals_required) == (
        State.SCHEDULED, MONDAY_0000, 1)
    assert buttons(bot.card(j)) == [ids.APPROVE_AHEAD, ids.CANCEL_SCHEDULED]


def expire(bot: RunningBot) -> int:
    """Run the scheduler's job that expires unapproved requests; how many it expired."""
    jobs.register_instance(bot.container)
    try:
        return jobs.expire_approvals(bot.container.instance)
    finally:
        jobs.unregister_instance(bot.container.instance)


def test_the_expiry_job_at_the_window_s_close_tells_why_and_offers_the_queue(
    bot: RunningBot,
) -> None:
    """Nobody approved the Friday 13:59 request by 14:00: the expiry job expires it with the
    window, says so, and its requester's DM offers to queue it for Monday."""
    bot.clock.set(FRIDAY_1359)
    i = request(bot, "production v1.2.3")
    assert expire(bot) == 0  # not yet

    bot.clock.set(FRIDAY_1400)
    assert expire(bot) == 1

    d = bot.deployment(i)
    assert d.state is State.EXPIRED
    assert (d.expires_at, d.finished_at, d.not_before) == (FRIDAY_1400, FRIDAY_1400, MONDAY_0000)
    assert d.error == f"the deploy window closed before it was approved: {SCHEDULE_REASON}"
    assert audit_actions(bot, i) == ["deploy.requested", "deploy.expired"]
    assert audit_details(bot, i, "deploy.expired")["next_window"].startswith(
        "2026-11-23T05:00")
    assert not has_buttons(bot.card(i))
    wait_dm(bot)
    (dm,) = dms(bot)
    assert dm["text"].startswith(
        f"⌛ Your deploy #{i} api v1.2.3 → production expired without enough approvals: the "
        f"deploy window closed before it was approved: {SCHEDULE_REASON}. The next window "
        f"opens {MONDAY_OPENS}; queue it for then")
    assert button(dm, ids.QUEUE_FOR_WINDOW)["text"]["text"] == f"Queue it for {MONDAY_OPENS}"

    answer = press(bot, dm, ids.QUEUE_FOR_WINDOW)
    (j,) = set(deployment_ids(bot)) - {i}
    assert answer["text"].startswith(f"🗓️ Deployment #{j} queued: `api` `v1.2.3` → "
                                     "*production*.")
    queued = bot.deployment(j)
    assert (queued.state, queued.not_before) == (State.SCHEDULED, MONDAY_0000)


# -- 3. approvals collected ahead of the window --------------------------------------------


def test_a_queued_deploy_approved_ahead_starts_by_itself_when_the_window_opens(
    bot: RunningBot,
) -> None:
    bot.clock.set(FRIDAY_1405)
    i = queue(bot, "production v1.2.3")
    card = bot.card(i)
    assert buttons(card) == [ids.APPROVE_AHEAD, ids.CANCEL_SCHEDULED]
    assert "Approvals: 0/1" in blocks_text(card)
    assert ("It can be approved now, ahead of its window: with 1 more approval(s) it starts "
            f"by itself when the deploy window opens, {MONDAY_OPENS}. Without them, "
            f"<@{REQUESTER}> is asked to start it then and it goes to approval as usual."
            ) in context_lines(card)
    confirm = button(card, ids.APPROVE_AHEAD)["confirm"]["text"]["text"]
    assert "starts by itself when the deploy window opens" in confirm

    # The usual rules: approvers only (the requester is not one here).
    for user in (OUTSIDER, REQUESTER):
        assert press(bot, card, ids.APPROVE_AHEAD, user=user)["text"] == (
            "⚠️ You are not an approver for production. Ask someone in its approvers role.")
    assert decisions(bot, i) == []

    bot.clock.set(ny(11, 20, 16))
    answer = press(bot, card, ids.APPROVE_AHEAD, user=APPROVER)

    assert answer["text"] == (f"✅ You approved deployment #{i} ahead of its window. ✅ "
                              "Approved ahead of its window: it starts by itself when the "
                              f"deploy window opens, {MONDAY_OPENS}.")
    d = bot.deployment(i)
    assert d.state is State.SCHEDULED  # still Friday afternoon: it waits
    assert decisions(bot, i) == [(APPROVER, True)]
    assert audit_actions(bot, i) == ["deploy.scheduled", "deploy.approved"]
    approved = audit_details(bot, i, "deploy.approved")
    assert (approved["ahead_of_window"], approved["approvals"], approved["required"]) == (
        True, 1, 1)
    card = bot.card(i)
    text = blocks_text(card)
    assert (f"Approvals: 1/1 · ✅ approved by <@{APPROVER}> at Fri 2026-11-20 16:00 EST"
            in text)
    assert ("✅ Approved ahead of its window: it starts by itself when the deploy window "
            f"opens, {MONDAY_OPENS}.") in context_lines(card)
    assert buttons(card) == [ids.CANCEL_SCHEDULED]  # approved: nothing more to approve
    # The same person counts once (an old card's button).
    assert press(bot, {"blocks": [{"type": "actions", "elements": [
        {"action_id": ids.APPROVE_AHEAD, "value": str(i)}]}]}, ids.APPROVE_AHEAD,
        user=APPROVER)["text"] == (f"⚠️ You already approved deployment #{i}; each person "
                                   "counts once.")

    # Over the weekend nothing happens.
    bot.clock.set(ny(11, 22, 23, 59))
    assert release(bot) == 0
    assert bot.deployment(i).state is State.SCHEDULED

    # Monday 00:01: the scheduler's job starts it, nobody clicks anything.
    bot.clock.set(MONDAY_0001)
    assert release(bot) == 1
    assert release(bot) == 0
    finish(bot)
    d = bot.deployment(i)
    assert d.state is State.SUCCEEDED
    assert d.started_at == MONDAY_0001
    assert running_version(bot.container.cluster, "production", "api") == "v1.2.3"
    assert prompts(bot) == []  # the requester was not asked to start it
    assert audit_actions(bot, i) == ["deploy.scheduled", "deploy.approved",
                                     "deploy.window_open", "deploy.started",
                                     "deploy.verifying", "deploy.verification",
                                     "deploy.succeeded"]
    assert audit_details(bot, i, "deploy.window_open") == {
        "start": "by itself, approved ahead of the window", "approved_by": [APPROVER]}
    (ann,) = announcements(bot)
    assert "api `v1.2.3` is live in production" in blocks_text(ann)
    assert f"approved by <@{APPROVER}>" in blocks_text(ann)
    assert not has_buttons(bot.card(i))
    wait_dm(bot)
    assert "succeeded" in dms(bot)[-1]["text"]


def test_approving_ahead_follows_the_self_approval_rule(bot: RunningBot) -> None:
    bot.clock.set(FRIDAY_1405)
    refusal = bot.deploy("production v1.2.3", user=APPROVER)
    (post,) = bot.requester.response_posts(refusal)
    press(bot, post.args, ids.QUEUE_FOR_WINDOW, user=APPROVER)
    (i,) = deployment_ids(bot)

    answer = press(bot, bot.card(i), ids.APPROVE_AHEAD, user=APPROVER)

    assert answer["text"] == (f"⚠️ You requested Deployment #{i} (api `v1.2.3` to "
                              "production), so you cannot approve it yourself: another "
                              "approver has to.")
    assert decisions(bot, i) == []
    assert audit_actions(bot, i) == ["deploy.scheduled"]


class TestTwoApprovals:
    """Without enough approvals ahead, the requester is asked when the window opens, as
    before; the approvals given ahead still count."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        cfg = window_config()
        cfg["environments"]["production"]["approval"]["required"] = 2
        return cfg

    def queued_with_one_approval(self, bot: RunningBot) -> int:
        bot.clock.set(FRIDAY_1405)
        i = queue(bot, "production v1.2.3")
        answer = press(bot, bot.card(i), ids.APPROVE_AHEAD, user=APPROVER)
        assert answer["text"].startswith(f"✅ You approved deployment #{i} ahead of its "
                                         "window. It can be approved now, ahead of its "
                                         "window: with 1 more approval(s)")
        bot.clock.set(MONDAY_0001)
        assert release(bot) == 1
        (dm,) = prompts(bot)
        assert "still needs its approvals" in dm["text"]
        d = bot.deployment(i)
        assert (d.state, d.prompted_at) == (State.SCHEDULED, MONDAY_0001)
        assert audit_actions(bot, i) == ["deploy.scheduled", "deploy.approved",
                                         "deploy.window_open"]
        return i

    def test_the_requester_starts_it_and_the_approval_given_ahead_counts(
        self, bot: RunningBot
    ) -> None:
        i = self.queued_with_one_approval(bot)
        bot.clock.set(ny(11, 23, 9))

        (dm,) = prompts(bot)
        press(bot, dm, ids.START_SCHEDULED)

        d = bot.deployment(i)
        assert d.state is State.AWAITING_APPROVAL
        assert d.approvals_required == 2 and decisions(bot, i) == [(APPROVER, True)]
        assert "Approvals: 1/2" in blocks_text(bot.card(i))
        assert f"You approved deployment #{i}; it is starting now" in click_reply(
            bot, i, APPROVER2)
        finish(bot)
        assert bot.deployment(i).state is State.SUCCEEDED

    def test_the_second_approval_after_the_window_opened_starts_it_at_once(
        self, bot: RunningBot
    ) -> None:
        i = self.queued_with_one_approval(bot)
        bot.clock.set(ny(11, 23, 8))

        answer = press(bot, bot.card(i), ids.APPROVE_AHEAD, user=APPROVER2)

        assert answer["text"] == (f"✅ You approved deployment #{i}; its window is open: it "
                                  "is starting now.")
        finish(bot)
        assert bot.deployment(i).state is State.SUCCEEDED
        assert decisions(bot, i) == [(APPROVER, True), (APPROVER2, True)]
        # The requester's Start button, pressed late, does nothing more.
        (dm,) = prompts(bot)
        assert "no longer waiting for its window" in press(bot, dm, ids.START_SCHEDULED)["text"]


class TestAttestedAhead:
    """`checklist_attestation: approver`: the approval that completes a queued deploy's
    approvals ahead of its window attests the items nothing checked, and that is kept."""

    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        cfg = window_config()
        cfg["environments"]["production"]["checklist_attestation"] = "approver"
        return cfg

    def test_the_approval_ahead_attests_and_the_record_keeps_it(self, bot: RunningBot) -> None:
        bot.clock.set(FRIDAY_1405)
        i = queue(bot, "production v1.2.3")
        bot.clock.set(ny(11, 20, 16))
        press(bot, bot.card(i), ids.APPROVE_AHEAD, user=APPROVER)
        with bot.container.database.transaction() as r:
            attested = [t for t in r.checklists.ticks(i) if t.attested]
        assert attested and {t.by for t in attested} == {APPROVER}
        bot.clock.set(MONDAY_0001)
        assert release(bot) == 1
        finish(bot)
        assert bot.deployment(i).state is State.SUCCEEDED
        text = honest_record(bot, i)
        assert f"☑️ Rollback plan documented — attested by <@{APPROVER}> on approval" \
            in text, text


def test_queue_it_again_once_approved_ahead_does_not_say_it_still_needs_approval(
    bot: RunningBot,
) -> None:
    """The requester clicks the refusal's Queue button again once the deploy it queued was
    approved ahead: the answer names the queued deploy as
    it is — approved, starting by itself — not as needing approvals it already has."""
    bot.clock.set(FRIDAY_1405)
    first = refused(bot, "production v1.2.3")
    press(bot, first, ids.QUEUE_FOR_WINDOW)
    (i,) = deployment_ids(bot)
    press(bot, bot.card(i), ids.APPROVE_AHEAD, user=APPROVER)

    answer = press(bot, first, ids.QUEUE_FOR_WINDOW)  # the refusal's button, again

    assert deployment_ids(bot) == [i]  # the same queued deploy
    assert "needs 1 approval(s)" not in answer["text"], answer["text"]
    assert (f"Deployment #{i} is queued: `api` `v1.2.3` → *production*. It is approved "
            f"(1/1): it starts by itself when the window opens, {MONDAY_OPENS}."
            ) in answer["text"], answer["text"]


def ask_again(bot: RunningBot, text: str, *, user: str = REQUESTER) -> dict[str, Any]:
    """`/deploy text` once more for a deploy queued already: the ephemeral answer."""
    reply = bot.deploy(text, user=user)
    assert reply.status == 200
    return post_of(bot, reply)


class TestAskedAgainOnceQueued:
    """`/deploy` of the version already queued for the window, asked again while the window
    is closed: the answer names the queued deploy, when it starts and how far its approval
    is — no "Not now", no Queue button for a duplicate, nothing new queued."""

    def test_approved_ahead(self, bot: RunningBot) -> None:
        bot.clock.set(FRIDAY_1405)
        i = queue(bot, "production v1.2.3")
        press(bot, bot.card(i), ids.APPROVE_AHEAD, user=APPROVER)

        answer = ask_again(bot, "api production v1.2.3")

        assert answer["text"].startswith(
            f"🗓️ Deployment #{i} is already queued for {MONDAY_OPENS}: `api` `v1.2.3` → "
            "*production*, queued by you. It is approved (1/1): it starts by itself when the "
            "window opens."), answer["text"]
        assert f"`/deploy cancel {i}`" in answer["text"]
        assert not has_buttons(answer)
        assert "Not now" not in answer["text"]
        assert deployment_ids(bot) == [i]

    def test_not_approved_yet_and_asked_by_someone_else(self, bot: RunningBot) -> None:
        bot.clock.set(FRIDAY_1405)
        i = queue(bot, "production v1.2.3")

        answer = ask_again(bot, "production v1.2.3", user=APPROVER2)

        text = answer["text"]
        assert text.startswith(
            f"🗓️ Deployment #{i} is already queued for {MONDAY_OPENS}: `api` `v1.2.3` → "
            f"*production*, queued by <@{REQUESTER}>. It has 0/1 approval(s): "), text
        assert "approved ahead on its card" in text, text
        assert not has_buttons(answer)
        assert deployment_ids(bot) == [i]

    def test_another_version_is_still_offered_the_queue(self, bot: RunningBot) -> None:
        bot.clock.set(FRIDAY_1405)
        queue(bot, "production v1.2.3")

        answer = refused(bot, "production v1.2.4")

        assert has_buttons(answer)
