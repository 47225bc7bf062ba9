"""A lock reads the same on every screen (lock_views, pure): who holds it, after which
rollback, since when, until when and why — the parts of `lock_note` (App Home's and
`/deploy status`'s service line, `/lock list`) — in the refusal a deploy gets (and the
runner's, for work queued before the lock), the `/lock` and `/unlock` replies and the
announcements in the deployments channel; each message keeps its own purpose (a refusal
says what the user can do, a reply what was done, an announcement who did what)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.locks import ABORT, AUTO_ROLLBACK, MANUAL, ROLLBACK, Lock
from bot.presentation.lock_views import (
    already_locked,
    expiry_announcement,
    lock_announcement,
    lock_list_view,
    lock_note,
    locked_reply,
    refusal,
    refusal_at_start,
    replaced_announcement,
    unlock_announcement,
    unlocked_reply,
)

NY = ZoneInfo("America/New_York")
AT = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)  # Fri 13:30 in New York
ABORTED = "v1.2.4 was aborted by <@U0BOB>; rolled back to v1.2.3"
SINCE = "since Fri 2026-12-04 13:05 EST"
BY_ROLLBACK = f"locked by <@U0BOB> after rollback #5 {SINCE}"


def rollback_lock(**kw: Any) -> Lock:
    base: dict[str, Any] = dict(
        id=1, environment="staging", service="api", holder="U0BOB", reason=ABORTED,
        origin=ROLLBACK, created_at=AT - timedelta(minutes=25), expires_at=None,
        deployment_id=5)
    return Lock(**(base | kw))


def typed_lock(**kw: Any) -> Lock:
    """`/lock production api "investigating <!channel> errors" for 2h`, 25 minutes ago."""
    base: dict[str, Any] = dict(
        id=2, environment="production", service="api", holder="U0CAROL",
        reason="investigating <!channel> errors", origin=MANUAL,
        created_at=AT - timedelta(minutes=25), expires_at=AT + timedelta(minutes=95))
    return Lock(**(base | kw))


TYPED = ("locked by <@U0CAROL> since Fri 2026-12-04 13:05 EST, until Fri 2026-12-04 "
         "15:05 EST: investigating &lt;!channel&gt; errors")


def test_a_rollbacks_lock_reads_as_on_the_status_line() -> None:
    message = lock_list_view([rollback_lock()], AT, NY)
    assert message.blocks[0]["text"]["text"] == (
        "*Locks in force* — now Fri 2026-12-04 13:30 EST\n"
        f"• `staging` / `api` — 🔒 {BY_ROLLBACK}, until unlocked: {ABORTED}")


def test_the_status_lines_note() -> None:
    assert lock_note(rollback_lock(), NY) == f"🔒 {BY_ROLLBACK}, until unlocked: {ABORTED}"
    assert lock_note(typed_lock(), NY) == f"🔒 {TYPED}"
    assert lock_note(rollback_lock(deployment_id=None), NY).startswith(
        "🔒 locked by <@U0BOB> after a rollback since")


def test_a_deploy_refused_by_a_lock_hears_the_note_and_what_to_do() -> None:
    # Until unlocked: the /unlock command is the way on.
    assert refusal(rollback_lock(), NY) == (
        f"api in staging is {BY_ROLLBACK}, until unlocked: {ABORTED}. Ask them, or "
        "`/unlock staging api` if you may.")
    # A timed lock says when it ends.
    assert refusal(typed_lock(), NY) == (
        f"api in production is {TYPED}. Ask them, or `/unlock production api` if you may.")


def test_a_reason_that_ends_its_sentence_is_not_given_a_second_stop() -> None:
    for reason, shown in (("checking.", "checking."), ("why?", "why?"),
                          ("a " * 80, ("a " * 59).strip() + "…")):
        assert refusal(typed_lock(reason=reason), NY).endswith(
            f": {shown} Ask them, or `/unlock production api` if you may.")


def test_the_runners_refusal_of_work_queued_before_the_lock() -> None:
    # Stored as the deployment's error; no zone where the runner writes it: who, after
    # which rollback, why, and what to do.
    assert refusal_at_start(rollback_lock(), AT) == (
        "api in staging was locked by <@U0BOB> after rollback #5 before it could start "
        f"({ABORTED}); `/unlock staging api` or ask them, then deploy again")


def test_a_second_lock_hears_the_note() -> None:
    assert already_locked(typed_lock(), NY, user_id="U0ALICE") == (
        f"api in production is already {TYPED}.")
    assert already_locked(typed_lock(), NY, user_id="U0CAROL") == (
        "api in production is already locked by you since Fri 2026-12-04 13:05 EST, until "
        "Fri 2026-12-04 15:05 EST: investigating &lt;!channel&gt; errors. To change it, "
        "`/unlock production api` and lock it again.")


def test_the_lock_reply_confirms_what_was_taken() -> None:
    reply = locked_reply(typed_lock(created_at=AT), NY, announced=True)
    assert reply.text == (
        "🔒 You locked api in production until Fri 2026-12-04 15:05 EST: investigating "
        "&lt;!channel&gt; errors. Deploys there by anyone else are refused meanwhile "
        "(rollbacks still go through); `/unlock production api` releases it.")
    assert locked_reply(typed_lock(expires_at=None), NY, announced=False).text == (
        "🔒 You locked api in production until unlocked: investigating &lt;!channel&gt; "
        "errors. Deploys there by anyone else are refused meanwhile (rollbacks still go "
        "through); `/unlock production api` releases it. ⚠️ I could not announce it in the "
        "deployments channel; please tell the team.")


def test_the_unlock_reply_says_what_was_released() -> None:
    assert unlocked_reply(rollback_lock(), NY, announced=True).text == (
        f"🔓 api in staging is unlocked (it was {BY_ROLLBACK}: {ABORTED}).")


def test_the_announcements_say_who_did_what() -> None:
    assert lock_announcement(typed_lock(created_at=AT), NY) == (
        "🔒 <@U0CAROL> locked api in production until Fri 2026-12-04 15:05 EST: "
        "investigating &lt;!channel&gt; errors. Deploys of api to production by anyone else "
        "are refused meanwhile.")
    assert unlock_announcement(rollback_lock(), "U0ALICE", NY) == (
        f"🔓 <@U0ALICE> unlocked api in staging ({BY_ROLLBACK}: {ABORTED}).")
    # Its holder is named once.
    assert unlock_announcement(rollback_lock(), "U0BOB", NY) == (
        f"🔓 <@U0BOB> unlocked api in staging (locked after rollback #5 {SINCE}: {ABORTED}).")
    assert expiry_announcement(typed_lock(), NY) == (
        "⌛ The lock on api in production expired Fri 2026-12-04 15:05 EST (locked by "
        "<@U0CAROL> since Fri 2026-12-04 13:05 EST: investigating &lt;!channel&gt; errors); "
        "deploys of api to production are open again.")


def test_a_lock_says_what_set_it_a_rollback_an_abort_or_an_automatic_rollback() -> None:
    """#5 is the rollback that set it; after an abort or an automatic rollback no rollback
    deployment exists: the number is the aborted or failed deploy's, and said so."""
    assert lock_note(rollback_lock(), NY).startswith(f"🔒 {BY_ROLLBACK}")
    assert lock_note(rollback_lock(origin=ABORT, deployment_id=2), NY).startswith(
        f"🔒 locked by <@U0BOB> after the abort of #2 {SINCE}, until unlocked: {ABORTED}")
    assert lock_note(rollback_lock(origin=AUTO_ROLLBACK, holder="deploybot",
                                   deployment_id=3), NY).startswith(
        f"🔒 locked by *deploybot* after the automatic rollback of #3 {SINCE}")
    assert lock_note(rollback_lock(origin=ABORT, deployment_id=None), NY).startswith(
        f"🔒 locked by <@U0BOB> after an abort {SINCE}")
    assert refusal_at_start(rollback_lock(origin=ABORT, deployment_id=2), AT).startswith(
        "api in staging was locked by <@U0BOB> after the abort of #2 before it could start")


def test_a_lock_a_rollback_replaced_is_announced_with_what_it_says_now_and_said() -> None:
    old = rollback_lock(reason="v1.2.4 rolled back to v1.2.3 (deployment #5); unlock when "
                        "it is safe to deploy again")
    new = rollback_lock(id=3, holder="U0CAROL", deployment_id=6, created_at=AT,
                        reason="v1.2.3 rolled back to v1.2.2 (deployment #6); unlock when "
                        "it is safe to deploy again")
    assert replaced_announcement(old, new, NY) == (
        "🔒 api in staging is now locked by <@U0CAROL> after rollback #6 since Fri "
        "2026-12-04 13:30 EST, until unlocked: v1.2.3 rolled back to v1.2.2 (deployment #6); "
        f"unlock when it is safe to deploy again. It was {BY_ROLLBACK}; that lock is "
        "replaced.")


def test_a_refusal_of_a_faulty_version_names_the_lock_and_the_mark_and_both_ways() -> None:
    lock = rollback_lock(origin=ABORT, deployment_id=2)
    assert refusal(lock, NY, faulty="v1.2.4") == (
        f"api in staging is locked by <@U0BOB> after the abort of #2 {SINCE}, until "
        f"unlocked: {ABORTED}. `v1.2.4` is also marked faulty there: to deploy it, ask them "
        "or `/unlock staging api` if you may, then `/deploy api staging v1.2.4 --force "
        "\"reason\"`.")
