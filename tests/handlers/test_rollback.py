"""End to end: `/rollback` over signed Slack HTTP on the simulated cluster: the plan to
confirm, the rollback deployment, the version left marked faulty, `/deploy` of it refused
without `--force`, named versions, refusals, and the migration warning."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.deployment import Kind
from bot.domain.states import State
from bot.presentation import ids
from bot.store.models import AuditRow
from devtools.slack_requests import Reply
from tests.conftest import APPROVER, OUTSIDER, REQUESTER, RunningBot, base_config, running_version
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    deployment_ids,
    ephemeral_text,
    run_to_end,
    wait_dm,
)


@pytest.fixture
def config_data() -> dict[str, Any]:
    cfg = base_config()
    cfg["simulated"]["fail_verify"] = "-flaky$"
    cfg["environments"]["staging"] = {"verify": {"bake": "5m", "auto_rollback": False}}
    return cfg


def deployed(bot: RunningBot, version: str, expect: State = State.SUCCEEDED) -> int:
    before = set(deployment_ids(bot))
    ephemeral_text(bot, bot.deploy(f"staging {version}"))
    (new,) = set(deployment_ids(bot)) - before
    assert run_to_end(bot, new) is expect
    return new


def plan(bot: RunningBot, text: str, *, user: str = REQUESTER) -> tuple[Reply, dict[str, Any]]:
    """`/rollback text`: the request and the one ephemeral answer (the plan or a refusal)."""
    return plan_of(bot, "/rollback", text, user=user)


def plan_of(bot: RunningBot, command: str, text: str, *,
            user: str = REQUESTER) -> tuple[Reply, dict[str, Any]]:
    """`command text`: the request and the one ephemeral answer."""
    reply = bot.requester.command(command, text, user_id=user)
    assert reply.status == 200, reply.body
    (post,) = bot.requester.response_posts(reply)
    assert post.args.get("response_type") == "ephemeral"
    return reply, dict(post.args)


def confirm_button(answer: dict[str, Any]) -> dict[str, Any]:
    for block in answer.get("blocks") or []:
        if block.get("block_id") == ids.ROLLBACK_BLOCK:
            (button,) = block["elements"]
            return dict(button)
    raise AssertionError(f"no confirmation button in {answer.get('text')!r}")


def confirm(bot: RunningBot, answer: dict[str, Any], *, user: str = REQUESTER) -> dict[str, Any]:
    button = confirm_button(answer)
    reply = bot.requester.click(user_id=user, action_id=ids.ROLLBACK_CONFIRM,
                                value=button["value"], channel_id="C0DEPLOYS")
    assert reply.status == 200, reply.body
    (post,) = bot.requester.response_posts(reply)
    return dict(post.args)


def test_the_issue_story_deploy_v1_v2_fails_rollback_marks_v2_faulty(bot: RunningBot) -> None:
    deployed(bot, "v1.3.0")
    bad = deployed(bot, "v1.4.0-flaky", expect=State.FAILED)

    _, answer = plan(bot, "staging")
    text = blocks_text(answer)
    assert "Roll *api* in *staging* back from `v1.4.0-flaky` to `v1.3.0`?" in text, text
    assert "`v1.4.0-flaky` will be marked faulty there" in text
    button = confirm_button(answer)
    assert button["style"] == "danger" and "confirm" in button  # a dialog before it runs
    assert deployment_ids(bot) == [1, 2]  # nothing happens before the click

    started = confirm(bot, answer)
    assert started["replace_original"] is True  # the confirmation cannot be clicked again
    assert "↩️ Rollback #3 started: `api` back to `v1.3.0` in *staging*" in started["text"]
    wait_dm(bot, REQUESTER, count=3)
    assert bot.container.runner.wait_idle()
    rb = bot.deployment(3)
    assert (rb.kind, rb.version, rb.previous_version, rb.rollback_of, rb.state,
            rb.approvals_required) == (Kind.ROLLBACK, "v1.3.0", "v1.4.0-flaky", bad,
                                       State.SUCCEEDED, 0)
    assert running_version(bot.container.cluster, "staging", "api") == "v1.3.0"
    assert bot.deployment(bad).state is State.ROLLED_BACK
    assert audit_actions(bot, 3)[:3] == ["rollback.requested", "deploy.started",
                                         "version.marked_faulty"]
    rolled = blocks_text(announcements(bot)[-1])
    assert "↩️ *api is rolled back to `v1.3.0` in staging*" in rolled
    assert "Severity: high" in rolled

    # The rollback locked api in staging: others cannot deploy until someone unlocks it.
    with bot.container.database.transaction() as r:
        lock = r.locks.get("staging", "api", at=bot.clock.now())
    assert lock is not None and (lock.holder, lock.origin, lock.deployment_id) == (
        REQUESTER, "rollback", 3)
    blocked = ephemeral_text(bot, bot.deploy("staging v1.3.1", user=APPROVER))
    assert f"locked by <@{REQUESTER}>" in blocked, blocked
    assert deployment_ids(bot) == [1, 2, 3]

    # v1.4.0-flaky is faulty now: a deploy of it is refused without --force ...
    refused = ephemeral_text(bot, bot.deploy("staging v1.4.0-flaky"))
    assert "`v1.4.0-flaky` of api is marked faulty in staging: rolled back to v1.3.0 " \
           "(deployment #3)" in refused, refused
    assert '--force \\"reason\\"' in refused or '--force "reason"' in refused
    assert deployment_ids(bot) == [1, 2, 3]
    # ... and goes with a reason, which is audited.
    ok = ephemeral_text(bot, bot.deploy('staging v1.4.0-flaky --force "retry with the flag '
                                        'off"'))
    assert "Deployment #4 started" in ok, ok
    details = details_of(bot, 4, "deploy.requested")
    assert details["forced_over_faulty"] == "retry with the flag off"


def audit_rows(bot: RunningBot, deployment_id: int) -> list[tuple[str, dict[str, Any]]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(select(AuditRow.action, AuditRow.details)
                            .where(AuditRow.deployment_id == deployment_id)
                            .order_by(AuditRow.id)).all()
    return [(action, dict(details or {})) for action, details in rows]


def test_a_named_version_that_ran_before(bot: RunningBot) -> None:
    for v in ("v1.3.0", "v1.4.0", "v1.5.0"):
        deployed(bot, v)
    _, answer = plan(bot, "staging api v1.3.0")
    assert "back from `v1.5.0` to `v1.3.0`?" in blocks_text(answer)
    confirm(bot, answer)
    wait_dm(bot, REQUESTER, count=4)
    assert bot.container.runner.wait_idle()
    assert running_version(bot.container.cluster, "staging", "api") == "v1.3.0"
    assert bot.deployment(4).version == "v1.3.0"


def test_a_version_that_never_ran_there_is_refused_with_the_candidates(
    bot: RunningBot,
) -> None:
    deployed(bot, "v1.3.0")
    deployed(bot, "v1.4.0")
    _, answer = plan(bot, "staging --version=v9.9.9")
    text = answer["text"]
    assert "`v9.9.9` has not run in staging before" in text, text
    assert "Versions you can roll back to: `v1.3.0`, `v1.2.2`" in text, text
    _, same = plan(bot, "staging v1.4.0")
    assert "`v1.4.0` is what runs in staging now; nothing to roll back" in same["text"]
    assert deployment_ids(bot) == [1, 2]


def test_a_version_marked_faulty_is_refused_saying_why_and_how_to_run_it_anyway(
        bot: RunningBot) -> None:
    """`/rollback` to the version a rollback left: the refusal says when and why it was
    marked, and that `/deploy … --force` runs it again (a rollback never does)."""
    deployed(bot, "v1.3.0")
    deployed(bot, "v1.4.0-flaky", expect=State.FAILED)
    _, answer = plan(bot, "staging")
    confirm(bot, answer)
    wait_dm(bot, REQUESTER, count=3)
    assert bot.container.runner.wait_idle()

    _, refused = plan(bot, "staging api v1.4.0-flaky")
    text = refused["text"]
    assert text.startswith(f"⚠️ `v1.4.0-flaky` is marked faulty in staging: rolled back to "
                           f"v1.3.0 (deployment #3) (<@{REQUESTER}>, "), text
    assert "so it is no rollback target. Versions you can roll back to: `v1.2.2`." in text
    assert text.endswith('To run it again anyway, say why: `/deploy api staging v1.4.0-flaky '
                         '--force "reason"`.'), text

    _, back = plan(bot, "staging api v1.2.2")  # the one left; then none to offer
    confirm(bot, back)
    wait_dm(bot, REQUESTER, count=4)
    assert bot.container.runner.wait_idle()
    _, none_left = plan(bot, "staging api v1.3.0")
    assert "so it is no rollback target. No other version is known to roll back to." \
        in none_left["text"], none_left["text"]
    assert deployment_ids(bot) == [1, 2, 3, 4]


def test_someone_who_may_not_deploy_there_cannot_roll_back(bot: RunningBot) -> None:
    deployed(bot, "v1.3.0")
    _, answer = plan(bot, "staging", user=OUTSIDER)
    assert "You may not roll back in staging" in answer["text"]


def test_a_confirmation_clicked_after_the_version_moved_does_nothing(bot: RunningBot) -> None:
    deployed(bot, "v1.3.0")
    _, answer = plan(bot, "staging")
    deployed(bot, "v1.4.0")  # someone deployed meanwhile
    stale = confirm(bot, answer)
    assert "runs v1.4.0 in staging now, not v1.3.0 as when you asked" in stale["text"]
    assert deployment_ids(bot) == [1, 2]


@pytest.mark.parametrize("text", ["", "nowhere", "staging api v1 v2", "staging --force"])
def test_bad_input_is_answered_in_the_ack(bot: RunningBot, text: str) -> None:
    reply = bot.requester.command("/rollback", text, user_id=REQUESTER)
    assert reply.status == 200
    assert str(reply.json["text"]).startswith("⚠️"), reply.json
    assert deployment_ids(bot) == []


@pytest.mark.parametrize(("text", "meant"), [
    ("api staging", "/rollback staging api"),
    ("api production v1.2.2", "/rollback production api v1.2.2"),
    ("api production --version=v1.2.2", "/rollback production api v1.2.2"),
])
def test_the_service_before_the_environment_names_the_command_meant(
        bot: RunningBot, text: str, meant: str) -> None:
    reply = bot.requester.command("/rollback", text, user_id=REQUESTER)
    assert reply.status == 200
    assert f"Did you mean `{meant}`?" in str(reply.json["text"]), reply.json
    assert deployment_ids(bot) == []


def _rollback_approval() -> dict[str, Any]:
    cfg = base_config()
    cfg["environments"]["production"]["rollbacks"] = {"approval": True}
    return cfg


@pytest.mark.parametrize("config_data", [_rollback_approval()])
def test_rollbacks_can_need_approval(bot: RunningBot) -> None:
    ephemeral_text(bot, bot.deploy("production v1.3.0"))
    click_reply(bot, 1, APPROVER)
    assert run_to_end(bot, 1) is State.SUCCEEDED
    _, answer = plan(bot, "production")
    assert "need 1 approval(s)" in blocks_text(answer)
    started = confirm(bot, answer)
    assert "📝 Rollback #2 requested" in started["text"], started["text"]
    assert bot.deployment(2).state is State.AWAITING_APPROVAL
    assert "Approve" in blocks_text(bot.card(2))


def _with_migrations() -> dict[str, Any]:
    cfg = base_config()
    cfg["services"]["api"]["migrations"] = {"command": ["python", "manage.py", "migrate"]}
    return cfg


@pytest.mark.parametrize("config_data", [_with_migrations()])
def test_leaving_a_version_that_migrated_warns_and_shows_the_migration_rollback(
    bot: RunningBot,
) -> None:
    deployed(bot, "v1.3.0")
    deployed(bot, "v1.4.0")
    assert bot.deployment(2).migrations is not None
    _, answer = plan(bot, "staging")
    text = blocks_text(answer)
    assert "⚠️ `v1.4.0` ran database migrations (Job " in text, text
    assert "Rolling the code back does not undo them, and deploybot will not run a " \
           "down-migration by itself" in text
    # escaped: Slack would read a bare <app> as markup and show nothing
    assert "`/migrate staging api &lt;app&gt; &lt;previous_migration&gt;` (runs `python " \
           "manage.py migrate &lt;app&gt; &lt;previous_migration&gt;`)" in text
    confirm(bot, answer)
    wait_dm(bot, REQUESTER, count=3)
    assert bot.container.runner.wait_idle()
    rb = bot.deployment(3)
    assert rb.state is State.SUCCEEDED
    assert rb.migrations is None  # no migrations run by the rollback, up or down
    assert details_of(bot, 3, "rollback.requested")["from_ran_migrations"] is True


def details_of(bot: RunningBot, deployment_id: int, action: str) -> dict[str, Any]:
    return next(d for a, d in audit_rows(bot, deployment_id) if a == action)


def test_a_second_rollback_replaces_the_first_rollbacks_lock_and_says_so(
        bot: RunningBot) -> None:
    """Rollback #4 locks api in staging ("v1.5.0 rolled back to v1.4.0"); rollback #5, by
    someone else while that lock holds, takes v1.4.0 back to v1.3.0: the lock now says that
    (whose, after which rollback, from and to what), the first one is released as replaced,
    and the channel is told what the lock became and what it was."""
    for v in ("v1.3.0", "v1.4.0", "v1.5.0"):
        deployed(bot, v)
    _, answer = plan(bot, "staging")
    confirm(bot, answer)
    wait_dm(bot, REQUESTER, count=4)
    assert bot.container.runner.wait_idle()
    with bot.container.database.transaction() as r:
        first = r.locks.get("staging", "api", at=bot.clock.now())
    assert first is not None and (first.holder, first.deployment_id) == (REQUESTER, 4)

    _, again = plan(bot, "staging", user=APPROVER)
    assert "back from `v1.4.0` to `v1.3.0`?" in blocks_text(again)
    confirm(bot, again, user=APPROVER)
    wait_dm(bot, APPROVER)
    assert bot.container.runner.wait_idle()
    assert bot.deployment(5).state is State.SUCCEEDED
    assert running_version(bot.container.cluster, "staging", "api") == "v1.3.0"

    with bot.container.database.transaction() as r:
        lock = r.locks.get("staging", "api", at=bot.clock.now())
    assert lock is not None and lock.id != first.id
    assert (lock.holder, lock.origin, lock.deployment_id) == (APPROVER, "rollback", 5)
    assert lock.reason == ("v1.4.0 rolled back to v1.3.0 (deployment #5); unlock when it "
                           "is safe to deploy again")
    _, answer = plan_of(bot, "/lock", "list")
    listed = blocks_text(answer)
    assert f"locked by <@{APPROVER}> after rollback #5 since " in listed, listed
    assert "v1.4.0 rolled back to v1.3.0 (deployment #5)" in listed
    assert "rollback #4" not in listed and "v1.5.0" not in listed

    (note,) = [m["text"] for m in bot.slack.messages("C0DEPLOYS")
               if m["thread_ts"] is None and str(m["text"]).startswith("🔒")]
    assert note.startswith(f"🔒 api in staging is now locked by <@{APPROVER}> after rollback "
                           "#5 since "), note
    assert ("until unlocked: v1.4.0 rolled back to v1.3.0 (deployment #5); unlock when it is "
            f"safe to deploy again. It was locked by <@{REQUESTER}> after rollback #4 since "
            ) in note, note
    assert note.endswith("; that lock is replaced."), note

    rows = [(a, d) for a, d in audit_rows(bot, 5) if a.startswith("lock.")]
    assert [a for a, _ in rows] == ["lock.released", "lock.locked"], rows
    assert rows[0][1]["lock_id"] == first.id and rows[0][1]["replaced_by"] == lock.id
    assert rows[1][1]["lock_id"] == lock.id and rows[1][1]["environment"] == "staging"


def _auto_rollback() -> dict[str, Any]:
    cfg = base_config()
    cfg["simulated"]["fail_verify"] = "-flaky$"
    cfg["environments"]["staging"] = {"verify": {"bake": "5m", "auto_rollback": True}}
    return cfg


@pytest.mark.parametrize("config_data", [_auto_rollback()])
def test_the_lock_an_automatic_rollback_leaves_names_the_failed_deploy(
        bot: RunningBot) -> None:
    """Deploy #2 fails its watch and deploybot rolls it back by itself: the lock it leaves
    says "after the automatic rollback of #2" (#2 is the failed deploy, no rollback
    deployment exists); a `/rollback` later replaces that lock with its own."""
    deployed(bot, "v1.3.0")
    deployed(bot, "v1.4.0-flaky", expect=State.ROLLED_BACK)
    _, answer = plan_of(bot, "/lock", "list")
    listed = blocks_text(answer)
    assert "🔒 locked by *deploybot* after the automatic rollback of #2 since " in listed, \
        listed
    assert "rollback #2" not in listed

    _, again = plan(bot, "staging")
    assert "back from `v1.3.0` to `v1.2.2`?" in blocks_text(again)
    confirm(bot, again)
    wait_dm(bot, REQUESTER, count=3)
    assert bot.container.runner.wait_idle()
    with bot.container.database.transaction() as r:
        lock = r.locks.get("staging", "api", at=bot.clock.now())
    assert lock is not None
    assert (lock.holder, lock.origin, lock.deployment_id) == (REQUESTER, "rollback", 3)
    (note,) = [m["text"] for m in bot.slack.messages("C0DEPLOYS")
               if m["thread_ts"] is None and str(m["text"]).startswith("🔒")]
    assert "It was locked by *deploybot* after the automatic rollback of #2 since " in note
