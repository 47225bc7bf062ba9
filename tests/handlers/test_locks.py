"""Deploy locks and one deployment at a time, end to end: signed Slack HTTP in, the fake
Slack Web API out, the real store (SQLite, or PostgreSQL from TEST_DATABASE_URL).

A lock refuses other people's deploys with who holds it, since and until when, and why
(worded on every screen as App Home words it: lock_views.lock_note); its holder
deploys through it; rollbacks are never held up; approvers may unlock; an expiring lock is
released and announced once by the scheduler's job, also with two bot processes; two
`/lock` at once give one lock; two deploys of one service at once run one at a time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from bot.container import Container, build_container
from bot.domain.deployment import Kind, NewDeployment
from bot.domain.states import State
from bot.scheduling import jobs
from devtools.slack_requests import Reply
from tests.conftest import (
    APPROVER,
    APPROVER2,
    BOT_TOKEN,
    OUTSIDER,
    REQUESTER,
    RunningBot,
    base_config,
    running_version,
)
from tests.handlers.spine import (
    CHANNEL,
    audit_actions,
    click_reply,
    deployment_ids,
    ephemeral_text,
    request,
    run_to_end,
    wait_dm,
)
from tests.slack_hold import SlackHold, acked_while_held

HOLDER, OTHER = APPROVER, REQUESTER  # Bob holds the lock; Alice (a deployer) wants to deploy
REASON = "investigating checkout errors"
T = TypeVar("T")


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config()


def command(bot: RunningBot, name: str, text_: str, user: str) -> Reply:
    reply = bot.requester.command(name, text_, user_id=user)
    assert reply.status == 200, reply.body
    return reply


def lock(bot: RunningBot, text_: str, *, user: str = HOLDER) -> str:
    """`/lock text` served in the background: the ephemeral answer."""
    return ephemeral_text(bot, command(bot, "/lock", text_, user))


def unlock(bot: RunningBot, text_: str, *, user: str = HOLDER) -> str:
    return ephemeral_text(bot, command(bot, "/unlock", text_, user))


def deploy_answer(bot: RunningBot, text_: str, *, user: str = OTHER) -> str:
    return ephemeral_text(bot, command(bot, "/deploy", text_, user))


def channel_texts(bot: RunningBot) -> list[str]:
    return [str(m["text"]) for m in bot.slack.messages(CHANNEL) if m["thread_ts"] is None]


def lock_posts(bot: RunningBot) -> list[str]:
    return [t for t in channel_texts(bot) if t.startswith(("🔒", "🔓", "⌛"))]


def lock_rows(bot: RunningBot) -> list[tuple[str, str, str, Any]]:
    with bot.container.database.engine.connect() as conn:
        return [(r[0], r[1], r[2], r[3]) for r in conn.execute(text(
            "SELECT environment, service, holder, released_by FROM locks ORDER BY id"))]


def lock_audit(bot: RunningBot) -> list[tuple[str, str, dict[str, Any]]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT action, actor, details, environment FROM "
                                 "audit_events WHERE action LIKE 'lock.%' ORDER BY id")).all()
    out = [(r[0], r[1], json.loads(r[2]) if isinstance(r[2], str) else dict(r[2]))
           for r in rows]
    assert [r[3] for r in rows] == [d["environment"] for _, _, d in out]  # for `/audit <env>`
    return out


def at_once(n: int, fn: Callable[[int], T]) -> list[T]:
    gate = threading.Barrier(n)

    def one(i: int) -> T:
        gate.wait(timeout=10)
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_a_lock_is_taken_after_the_ack(bot: RunningBot, slack_hold: SlackHold) -> None:
    # The ack comes back while the lock's announcement in the channel is held: the lock is
    # taken (stored, announced) after the ack, never before it.
    reply = acked_while_held(
        slack_hold, lambda: command(bot, "/lock", f'production api "{REASON}" for 2h', HOLDER),
        "chat.postMessage", "response_url",
        follow_up=lambda c: c.method == "chat.postMessage" and c.args.get("channel") == CHANNEL)
    assert ephemeral_text(bot, reply).startswith("🔒 You locked api in production")
    assert lock_rows(bot) == [("production", "api", HOLDER, None)]


# -- a lock refuses other people's deploys ------------------------------------------------------

def test_a_lock_refuses_another_users_deploy_with_holder_times_and_reason(
        bot: RunningBot) -> None:
    answer = lock(bot, f'production api "{REASON}" for 2h')

    # Each screen words the lock as App Home and /deploy status do (lock_views.lock_note).
    assert answer == (f"🔒 You locked api in production until Wed 2026-11-18 12:00 EST: "
                      f"{REASON}. Deploys there by anyone else are refused meanwhile "
                      "(rollbacks still go through); `/unlock production api` releases it.")
    assert lock_posts(bot) == [f"🔒 <@{HOLDER}> locked api in production until Wed 2026-11-18 "
                               f"12:00 EST: {REASON}. Deploys of api to production by anyone "
                               "else are refused meanwhile."]
    bot.clock.advance(timedelta(minutes=25))

    refusal = deploy_answer(bot, "production v1.2.3")

    assert refusal == (f"🔒 api in production is locked by <@{HOLDER}> since Wed 2026-11-18 "
                       f"10:00 EST, until Wed 2026-11-18 12:00 EST: {REASON}. Ask them, or "
                       "`/unlock production api` if you may.")
    assert deployment_ids(bot) == []  # nothing stored, no card posted
    assert len(channel_texts(bot)) == 1
    # Other services and environments are not locked.
    assert bot.deployment(request(bot, "staging v1.2.3")).environment == "staging"
    (action, actor, details) = lock_audit(bot)[0]
    assert (action, actor) == ("lock.locked", HOLDER)
    assert details["reason"] == REASON and details["environment"] == "production"
    assert details["expires_at"] is not None


def test_a_duration_in_words_is_taken_as_the_docs_write_it(bot: RunningBot) -> None:
    """`/lock production api "…" for 2 hours` as typed in Slack: a two-hour lock (was
    "Too many words: `hours`"); what is not a duration is answered with the forms."""
    answer = lock(bot, f'production api "{REASON}" for 2 hours')
    assert answer.startswith("🔒 You locked api in production until Wed 2026-11-18 12:00 EST"), \
        answer
    reply = bot.requester.command("/lock", 'staging api "x" for a fortnight', user_id=HOLDER)
    assert reply.status == 200
    assert str(reply.json["text"]).startswith(
        "⚠️ `a fortnight` is not a duration: use `for 30m`, `for 2h`, `for 2 hours` or "
        "`for 1 day` (or `for 1h30m`)."), reply.json


def test_a_lock_until_unlocked_says_so(bot: RunningBot) -> None:
    lock(bot, f'production api "{REASON}"')
    bot.clock.advance(timedelta(hours=3, minutes=5))
    assert deploy_answer(bot, "production v1.2.3") == (
        f"🔒 api in production is locked by <@{HOLDER}> since Wed 2026-11-18 10:00 EST, until "
        f"unlocked: {REASON}. Ask them, or `/unlock production api` if you may.")


def test_the_holder_deploys_through_their_own_lock(bot: RunningBot) -> None:
    lock(bot, f'staging api "{REASON}"')
    i = request(bot, "staging v1.2.3", user=HOLDER)
    assert run_to_end(bot, i, HOLDER) is State.SUCCEEDED
    # Production needs an approval by someone else: the deploy is still the holder's.
    lock(bot, f'production api "{REASON}"')
    j = request(bot, "production v1.2.4", user=HOLDER)
    assert "it is starting now" in click_reply(bot, j, APPROVER2)
    wait_dm(bot, HOLDER, count=2)
    assert bot.container.runner.wait_idle()
    assert bot.deployment(j).state is State.SUCCEEDED


def test_an_approval_while_someone_else_holds_the_lock_is_refused(bot: RunningBot) -> None:
    i = request(bot, "production v1.2.3", user=OTHER)
    lock(bot, f'production api "{REASON}"', user=HOLDER)
    bot.clock.advance(timedelta(minutes=5))

    answer = click_reply(bot, i, APPROVER2)

    assert answer == (f"🔒 Not approved: api in production is locked by <@{HOLDER}> since Wed "
                      f"2026-11-18 10:00 EST, until unlocked: {REASON}. Ask them, or `/unlock "
                      "production api` if you may.")
    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert bot.deployment(i).decisions == ()
    # Unlocked, the same click goes through.
    assert unlock(bot, "production api").startswith("🔓 api in production is unlocked")
    assert "it is starting now" in click_reply(bot, i, APPROVER2)
    assert run_to_end(bot, i) is State.SUCCEEDED


def test_a_deploy_queued_before_the_lock_does_not_start_and_says_why(
        bot: RunningBot) -> None:
    """What the runner does with work queued by anyone (a scheduled or automatic deploy)
    when it comes to start it."""
    lock(bot, f'staging api "{REASON}"', user=HOLDER)
    at = bot.clock.now()
    with bot.container.database.transaction() as r:
        queued = r.deployments.add(NewDeployment(
            service="api", environment="staging", version="v1.2.3", previous_version="v1.2.2",
            state=State.QUEUED, requested_by=OTHER, requested_at=at, approvals_required=0,
            expires_at=None))

    bot.container.runner.run_one(queued.id)

    d = bot.deployment(queued.id)
    assert d.state is State.CANCELLED
    assert d.error == (f"api in staging was locked by <@{HOLDER}> before it could start "
                       f"({REASON}); `/unlock staging api` or ask them, then deploy again")
    assert audit_actions(bot, queued.id) == ["deploy.refused_locked"]
    (dm,) = [m for m in bot.slack.messages("D" + OTHER)]
    assert "was locked by" in json.dumps(dm)


def test_a_rollback_is_never_held_up_by_a_lock(bot: RunningBot) -> None:
    lock(bot, f'staging api "{REASON}"', user=HOLDER)
    at = bot.clock.now()
    with bot.container.database.transaction() as r:
        rollback = r.deployments.add(NewDeployment(
            service="api", environment="staging", version="v1.2.1", previous_version="v1.2.2",
            state=State.QUEUED, requested_by=OTHER, requested_at=at, approvals_required=0,
            expires_at=None, kind=Kind.ROLLBACK))

    bot.container.runner.run_one(rollback.id)

    assert bot.deployment(rollback.id).state is State.SUCCEEDED
    assert running_version(bot.container.cluster, "staging", "api") == "v1.2.1"
    # The lock still stands for everything else.
    assert deploy_answer(bot, "staging v1.2.3").startswith("🔒 api in staging is locked")


# -- who may lock and unlock ---------------------------------------------------------------

def test_who_may_lock_and_unlock(bot: RunningBot) -> None:
    # Locking needs the environment's deployers role.
    assert lock(bot, f'production api "{REASON}"', user=OUTSIDER) == (
        "⚠️ You may not lock production: that needs the `deployers` role (who may deploy "
        "there). Ask a platform admin to add you in app.yaml.")
    assert lock_rows(bot) == []
    lock(bot, f'production api "{REASON}"', user=HOLDER)
    bot.clock.advance(timedelta(minutes=25))
    # A deployer who is no approver may not unlock someone else's production lock.
    assert unlock(bot, "production api", user=OTHER) == (
        f"⚠️ Only <@{HOLDER}>, who holds the lock on api in production, or the `approvers` "
        "role may unlock it. Ask them.")
    assert unlock(bot, "production api", user=OUTSIDER).startswith("⚠️ Only <@")
    # An approver may.
    assert unlock(bot, "production api", user=APPROVER2) == (
        f"🔓 api in production is unlocked (it was locked by <@{HOLDER}> since Wed "
        f"2026-11-18 10:00 EST: {REASON}).")
    assert lock_posts(bot)[-1] == (f"🔓 <@{APPROVER2}> unlocked api in production (locked by "
                                   f"<@{HOLDER}> since Wed 2026-11-18 10:00 EST: {REASON}).")
    assert unlock(bot, "production api", user=APPROVER2) == (
        "⚠️ api in production is not locked; there is nothing to unlock. `/lock list` shows "
        "the locks in force.")
    # Without an approval rule (staging), the deployers may unlock; the holder always may.
    lock(bot, f'staging api "{REASON}"', user=HOLDER)
    assert unlock(bot, "staging api", user=OUTSIDER) == (
        f"⚠️ Only <@{HOLDER}>, who holds the lock on api in staging, or the `deployers` role "
        "may unlock it. Ask them.")
    assert unlock(bot, "staging api", user=OTHER).startswith("🔓 api in staging is unlocked")
    lock(bot, f'staging api "{REASON}"', user=HOLDER)
    assert unlock(bot, "staging api", user=HOLDER).startswith("🔓 api in staging is unlocked")
    assert lock_posts(bot)[-1] == (f"🔓 <@{HOLDER}> unlocked api in staging (locked since Wed "
                                   f"2026-11-18 10:25 EST: {REASON}).")
    assert [(a, actor) for a, actor, _ in lock_audit(bot)] == [
        ("lock.locked", HOLDER), ("lock.released", APPROVER2), ("lock.locked", HOLDER),
        ("lock.released", OTHER), ("lock.locked", HOLDER), ("lock.released", HOLDER)]
    assert [r[3] for r in lock_rows(bot)] == [APPROVER2, OTHER, HOLDER]


def test_a_second_lock_says_who_holds_it(bot: RunningBot) -> None:
    lock(bot, f'production api "{REASON}" for 1h')
    bot.clock.advance(timedelta(minutes=5))
    assert lock(bot, 'production api "mine now"', user=OTHER) == (
        f"⚠️ api in production is already locked by <@{HOLDER}> since Wed 2026-11-18 10:00 "
        f"EST, until Wed 2026-11-18 11:00 EST: {REASON}.")
    assert lock(bot, 'production api "longer"', user=HOLDER) == (
        "⚠️ api in production is already locked by you since Wed 2026-11-18 10:00 EST, until "
        f"Wed 2026-11-18 11:00 EST: {REASON}. To change it, `/unlock production api` and lock "
        "it again.")
    assert len(lock_rows(bot)) == 1
    assert len(lock_posts(bot)) == 1


def test_lock_list(bot: RunningBot) -> None:
    for text_ in ("", "list"):
        reply = command(bot, "/lock", text_, OTHER)
        (post,) = bot.requester.response_posts(reply)
        assert "No locks" in json.dumps(post.args)
    lock(bot, f'production api "{REASON}" for 2h')
    lock(bot, 'staging api "load test <!channel>"', user=OTHER)
    bot.clock.advance(timedelta(minutes=10))
    reply = command(bot, "/lock", "list", OUTSIDER)  # anyone may look
    (post,) = bot.requester.response_posts(reply)
    assert post.args["text"] == "Locks in force: 2"
    shown = post.args["blocks"][0]["text"]["text"]
    assert shown == (
        "*Locks in force* — now Wed 2026-11-18 10:10 EST\n"
        # each lock worded as App Home and /deploy status word it (lock_views.lock_note)
        f"• `production` / `api` — 🔒 locked by <@{HOLDER}> since Wed 2026-11-18 10:00 EST, "
        f"until Wed 2026-11-18 12:00 EST: {REASON}\n"
        f"• `staging` / `api` — 🔒 locked by <@{OTHER}> since Wed 2026-11-18 10:00 EST, "
        "until unlocked: load test &lt;!channel&gt;")


@pytest.mark.parametrize(("command_", "text_", "problem"), [
    ("/lock", "production api", "Why lock it? Give a reason in quotes"),
    ("/lock", 'production api "x" for 2x', "`2x` is not a duration"),
    ("/lock", 'production api "unclosed', "The reason has no closing quote"),
    ("/lock", 'prod api "x"', "Unknown environment `prod`"),
    ("/lock", 'production web "x"', "Unknown service `web`"),
    ("/unlock", "", "Which environment?"),
    ("/unlock", "production api now", "Too many words: `now`"),
])
def test_bad_input_is_answered_in_the_ack_and_changes_nothing(
        bot: RunningBot, command_: str, text_: str, problem: str) -> None:
    reply = command(bot, command_, text_, HOLDER)
    assert reply.json["response_type"] == "ephemeral"
    assert reply.json["text"].startswith(f"⚠️ {problem}"), reply.json["text"]
    assert "*Usage*" in reply.json["text"]
    assert bot.slack.response_posts(reply.response_key) == []
    assert lock_rows(bot) == [] and bot.slack.calls("chat.postMessage") == []


def test_help(bot: RunningBot) -> None:
    for name in ("/lock", "/unlock"):
        reply = command(bot, name, "help", HOLDER)
        assert reply.json["text"].startswith("*Usage*")


# -- expiry --------------------------------------------------------------------------------------

@pytest.fixture
def second_process(bot: RunningBot, database_url: str) -> Iterator[Container]:
    """Another bot process (its own engine and pools) on the same database and Slack."""
    other = build_container(bot.container.config, database_url=database_url,
                            slack_token=BOT_TOKEN, slack_api_url=bot.slack.base_url,
                            clock=bot.clock, progress_every=timedelta(0))
    try:
        yield other
    finally:
        other.close()


def test_an_expiring_lock_is_released_and_announced_once(
        bot: RunningBot, second_process: Container) -> None:
    lock(bot, f'production api "{REASON}" for 30m')
    lock(bot, 'staging api "until unlocked"')
    bot.clock.advance(timedelta(minutes=29))
    processes = [bot.container, second_process]
    for c in processes:
        jobs.register_instance(c)
    try:
        assert jobs.expire_locks(bot.container.instance) == 0  # not yet
        bot.clock.advance(timedelta(minutes=2))
        # Both processes run the job at the same moment (the job store is shared).
        released = at_once(2, lambda n: jobs.expire_locks(processes[n].instance))
        assert sorted(released) == [0, 1]
        assert jobs.expire_locks(bot.container.instance) == 0  # and never again
        assert jobs.expire_locks(second_process.instance) == 0
    finally:
        for c in processes:
            jobs.unregister_instance(c.instance)

    expired = [t for t in lock_posts(bot) if t.startswith("⌛")]
    assert expired == ["⌛ The lock on api in production expired Wed 2026-11-18 10:30 EST "
                       f"(locked by <@{HOLDER}> since Wed 2026-11-18 10:00 EST: {REASON}); "
                       "deploys of api to production are open again."]
    assert [r[3] for r in lock_rows(bot)] == ["deploybot", None]  # staging's stands
    assert [(a, actor) for a, actor, _ in lock_audit(bot)] == [
        ("lock.locked", HOLDER), ("lock.locked", HOLDER), ("lock.expired", "deploybot")]
    # Deploys by others go through again.
    i = request(bot, "production v1.2.3", user=OTHER)
    assert bot.deployment(i).state is State.AWAITING_APPROVAL


def test_an_expired_lock_gives_way_to_a_new_one_and_is_announced(bot: RunningBot) -> None:
    lock(bot, f'production api "{REASON}" for 30m')
    bot.clock.advance(timedelta(minutes=45))  # the job has not run yet
    assert lock(bot, 'production api "my turn"', user=OTHER).startswith(
        "🔒 You locked api in production until unlocked: my turn")
    assert [t[:2] for t in lock_posts(bot)] == ["🔒 ", "⌛ ", "🔒 "]
    assert [r[2:] for r in lock_rows(bot)] == [(HOLDER, "deploybot"), (OTHER, None)]


# -- races ---------------------------------------------------------------------------------------

def test_two_simultaneous_locks_one_wins(bot: RunningBot) -> None:
    users = [HOLDER, OTHER]
    replies = at_once(2, lambda n: command(bot, "/lock", f'production api "{users[n]} was '
                                           'here"', users[n]))
    answers = [ephemeral_text(bot, r) for r in replies]

    (row,) = lock_rows(bot)
    winner = row[2]
    loser = users[1 - users.index(winner)]
    assert answers[users.index(winner)].startswith("🔒 You locked api in production")
    assert answers[users.index(loser)].startswith(
        f"⚠️ api in production is already locked by <@{winner}>")
    assert len(lock_posts(bot)) == 1


class TestOneDeploymentAtATime:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        cfg = base_config()
        cfg["simulated"]["rollout_seconds"] = 1.5  # long enough to ask again meanwhile
        return cfg

    def test_a_second_deploy_while_one_runs_is_refused_with_who_and_where(
            self, bot: RunningBot) -> None:
        i = request(bot, "staging v1.2.3", user=OTHER)
        bot.slack.wait_for("chat.update", predicate=lambda c: "Rolling out" in
                           json.dumps(c.args))

        answer = deploy_answer(bot, "staging v1.2.4", user=HOLDER)

        assert answer == (f"⚠️ Deployment #{i} of api to staging is running now (requested by "
                          f"<@{OTHER}>); only one runs at a time per service and environment. "
                          f"Wait for it to finish, or follow it in <#{CHANNEL}>.")
        assert deployment_ids(bot) == [i]
        assert run_to_end(bot, i, OTHER) is State.SUCCEEDED
        # Once it is over, the next one goes.
        j = request(bot, "staging v1.2.4", user=HOLDER)
        assert run_to_end(bot, j, HOLDER) is State.SUCCEEDED

    def test_two_deploys_of_one_service_at_once_one_is_refused(self, bot: RunningBot) -> None:
        users = [OTHER, HOLDER]
        replies = at_once(2, lambda n: command(bot, "/deploy", f"staging v1.2.{3 + n}",
                                               users[n]))
        answers = [ephemeral_text(bot, r) for r in replies]

        (i,) = deployment_ids(bot)
        d = bot.deployment(i)
        refused = answers[1 - users.index(d.requested_by)]
        assert f"Deployment #{i} started" in answers[users.index(d.requested_by)]
        assert refused.startswith(f"⚠️ Deployment #{i} of api to staging ")
        assert f"(requested by <@{d.requested_by}>)" in refused
        assert run_to_end(bot, i, d.requested_by) is State.SUCCEEDED

    def test_two_approved_at_once_one_starts(self, bot: RunningBot) -> None:
        # Two production requests can no longer both wait (the newer supersedes the older),
        # so the second waits in staging-free production only after the first was decided:
        # both are clicked at once; the superseded one is refused whole, the newer starts.
        first = request(bot, "production v1.2.3", user=OTHER)
        second = request(bot, "production v1.2.4", user=OTHER)
        assert bot.deployment(first).superseded_by == second
        ids_ = [first, second]
        answers = at_once(2, lambda n: click_reply(bot, ids_[n], [APPROVER, APPROVER2][n]))

        started = [i for i, a in zip(ids_, answers, strict=True) if "starting now" in a]
        assert started == [second]
        (refused,) = [a for a in answers if "starting now" not in a]
        assert refused == (f"⚠️ Deployment #{first} (api `v1.2.3` to production) was "
                           f"superseded by #{second}; nothing to approve."), refused
        assert bot.deployment(first).decisions == ()
        assert run_to_end(bot, started[0]) is State.SUCCEEDED


# -- configuration -----------------------------------------------------------------------------

class TestTheLongestLock:
    @pytest.fixture
    def config_data(self) -> dict[str, Any]:
        return base_config(locks={"max_duration": "4h"})

    def test_a_longer_lock_is_refused_in_the_ack(self, bot: RunningBot) -> None:
        reply = command(bot, "/lock", 'production api "x" for 5h', HOLDER)
        assert reply.json["text"].startswith(
            "⚠️ `5h` is longer than a lock may last (4h). Leave the duration out to hold the "
            "lock until someone unlocks it.")
        assert lock(bot, 'production api "x" for 4h').startswith("🔒 You locked")


@pytest.mark.parametrize("value", ["0s", "-1h", "soon"])
def test_the_longest_lock_must_be_a_positive_duration(value: str) -> None:
    from bot.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as e:
        parse_config(base_config(locks={"max_duration": value}), source="app.yaml")
    assert str(e.value).startswith("app.yaml: locks.max_duration: ")
