"""Running a deployment: no-approval environments, failures, the record thread, announcements."""

from __future__ import annotations

from bot.domain.record import Mark
from bot.domain.states import State
from bot.presentation.blocks import MARKS
from tests.conftest import APPROVER, REQUESTER, RunningBot
from tests.handlers.spine import (
    CHANNEL,
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    dms,
    ephemeral_text,
    has_buttons,
    posts_to,
    run_to_end,
    thread_replies,
    updates_of,
)

DONE, FAILED, PENDING, IN_PROGRESS = (MARKS[m] for m in (Mark.DONE, Mark.FAILED, Mark.PENDING,
                                                         Mark.IN_PROGRESS))


def permalink(ts: str) -> str:
    """The fake Slack's permalink of a message in the deployments channel."""
    return f"https://example.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"


def test_staging_needs_no_approval_runs_at_once_and_is_announced(bot: RunningBot) -> None:
    reply = bot.deploy("staging v1.2.3")
    assert reply.status == 200
    assert "Requesting `api` `v1.2.3` → *staging*" in reply.json["text"]
    text = ephemeral_text(bot, reply)
    assert "Deployment #1 started: `api` `v1.2.3` → *staging*" in text
    assert f"<#{CHANNEL}>" in text

    assert run_to_end(bot, 1) is State.SUCCEEDED
    d = bot.deployment(1)
    assert d.approvals_required == 0
    assert d.decisions == ()
    assert d.previous_version == "v1.2.2"
    assert d.started_at is not None and d.finished_at is not None
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.verifying",
                                     "deploy.succeeded"]
    card = bot.card(1)
    assert not has_buttons(card)
    assert "Succeeded" in card["text"]
    (ann,) = announcements(bot)
    assert "api `v1.2.3` is live in staging" in blocks_text(ann)
    assert f"Deployed by <@{REQUESTER}>" in blocks_text(ann)
    assert "approved by" not in blocks_text(ann)
    (dm,) = dms(bot)
    assert "succeeded" in dm["text"]
    record = bot.slack.messages(CHANNEL)[1]
    assert "Approval — not required in this environment" in blocks_text(record)


def test_a_failing_rollout_ends_failed_and_says_why_everywhere(bot: RunningBot) -> None:
    reply = bot.deploy("staging v1.2.3-bad")
    assert "Deployment #1 started" in ephemeral_text(bot, reply)

    assert run_to_end(bot, 1) is State.FAILED
    d = bot.deployment(1)
    assert d.error is not None and "simulated failure" in d.error
    assert d.finished_at is not None
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.failed"]
    (ann,) = announcements(bot)
    assert "Deploy of api `v1.2.3-bad` to staging failed" in blocks_text(ann)
    assert f"Cause: {d.error}" in blocks_text(ann)
    assert "failed" in ann["text"]
    (dm,) = dms(bot)
    assert "failed" in dm["text"] and "simulated failure" in dm["text"]
    card = bot.card(1)
    assert "Failed" in card["text"]
    assert "simulated failure" in blocks_text(card)
    record = thread_replies(bot, card["ts"])[0]
    assert f"{FAILED} Rollout — simulated failure" in blocks_text(record)
    # The running version did not change: the next deploy starts from the last good one.
    reply = bot.deploy("staging v1.2.4")
    ephemeral_text(bot, reply)
    assert bot.deployment(2).previous_version == "v1.2.2"


def test_a_failing_production_rollout_after_approval_tells_the_requester(
    bot: RunningBot,
) -> None:
    reply = bot.deploy("production v1.2.3-bad")
    ephemeral_text(bot, reply)

    assert "starting now" in click_reply(bot, 1, APPROVER)

    assert run_to_end(bot, 1) is State.FAILED
    (dm,) = dms(bot)
    assert "failed" in dm["text"]
    (ann,) = announcements(bot)
    assert f"approved by <@{APPROVER}>" in blocks_text(ann)
    assert "Cause: simulated failure" in blocks_text(ann)


def test_the_record_is_a_thread_reply_edited_in_place_and_the_announcement_links_it(
    bot: RunningBot,
) -> None:
    reply = bot.deploy("production v1.2.3")
    ephemeral_text(bot, reply)
    d = bot.deployment(1)
    card_ts = d.message_ts
    assert card_ts is not None and d.record_ts is not None
    # Posted: the card at the top of the channel, the record as a reply in its thread.
    card, record = bot.slack.messages(CHANNEL)
    assert (card["ts"], card["thread_ts"]) == (card_ts, None)
    assert (record["ts"], record["thread_ts"]) == (d.record_ts, card_ts)
    assert "*Deployment record*" in blocks_text(record)
    assert f"{PENDING} Approval — 0/1" in blocks_text(record)

    click_reply(bot, 1, APPROVER)
    assert run_to_end(bot, 1) is State.SUCCEEDED

    # Still one card and one reply, same ts: every change was an edit.
    top = [m for m in bot.slack.messages(CHANNEL) if m["thread_ts"] is None]
    assert [m["ts"] for m in top if m["ts"] == card_ts] == [card_ts]
    assert [m["ts"] for m in thread_replies(bot, card_ts)] == [d.record_ts]
    assert len(posts_to(bot, CHANNEL)) == 3  # card, record, announcement
    record_edits = updates_of(bot, d.record_ts)
    assert len(record_edits) >= 3  # approved, rolling out (progress), finished
    assert all(c.args["channel"] == CHANNEL for c in record_edits)
    assert any(f"{IN_PROGRESS} Rollout" in blocks_text(c.args) for c in record_edits)

    final = thread_replies(bot, card_ts)[0]
    body = blocks_text(final)
    assert f"{DONE} Approval — <@{APPROVER}>" in body
    assert f"{DONE} Rollout — v1.2.3 is live" in body
    assert f"{DONE} Post-deployment checks" in body
    assert f"{DONE} Announced in the deployments channel" in body
    assert "Duration:" in body

    # One announcement, at the top level, linking the deployment's thread.
    (ann,) = announcements(bot)
    assert ann["thread_ts"] is None
    assert f"<{permalink(card_ts)}|Deployment thread>" in blocks_text(ann)
    # The record ticks "announced" only once the announcement is out.
    calls = bot.slack.calls()
    ann_at = next(n for n, c in enumerate(calls)
                  if c.method == "chat.postMessage" and c.args.get("channel") == CHANNEL
                  and c.args.get("thread_ts") is None and "is live" in blocks_text(c.args))
    ticked_at = next(n for n, c in enumerate(calls)
                     if c.method == "chat.update" and c.args.get("ts") == d.record_ts
                     and f"{DONE} Announced" in blocks_text(c.args))
    assert ann_at < ticked_at
    # The requester's DM links the thread too.
    (dm,) = dms(bot)
    assert permalink(card_ts) in dm["text"]


def test_exactly_one_announcement_per_deployment(bot: RunningBot) -> None:
    for n, text in enumerate(["staging v1.2.3", "staging v1.2.4-bad", "staging v1.2.5"], 1):
        ephemeral_text(bot, bot.deploy(text))
        bot.slack.wait_for("chat.postMessage", count=n,
                           predicate=lambda c: c.args.get("channel") == REQUESTER)
        assert bot.container.runner.wait_idle()

    anns = announcements(bot)
    assert len(anns) == 3
    assert [a["text"].split(" ")[0] for a in anns] == ["#1", "#2", "#3"]
    for i in (1, 2, 3):
        ts = bot.deployment(i).message_ts
        assert ts is not None
        (ann,) = [a for a in anns if a["text"].startswith(f"#{i} ")]
        assert permalink(ts) in blocks_text(ann)
    assert [bot.deployment(i).state for i in (1, 2, 3)] == [
        State.SUCCEEDED, State.FAILED, State.SUCCEEDED]
    assert bot.deployment(3).previous_version == "v1.2.3"
