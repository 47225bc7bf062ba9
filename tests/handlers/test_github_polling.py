"""GitHub polling (webhooks off): the whole bot with a fake GitHub API (branches, pull
requests) and the fake Slack. The scheduler's job (`jobs.poll_github`) looks at the heads; a
new head of main deploys to staging once, a new pull request head to development, through
the same processing as a webhook delivery; the first look is a baseline; two processes
deploy a change once; a rate limit backs off until it resets."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.container import Container, build_container
from bot.domain.cause import Cause
from bot.domain.states import State
from bot.scheduling import jobs
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import RepoState
from devtools.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, REQUESTER, RunningBot, base_config, serve_bot
from tests.handlers.conftest import GITHUB_MAIN_HEAD, GITHUB_REPO, polled_github
from tests.handlers.spine import (
    announcements,
    blocks_text,
    deployment_ids,
    ephemeral_text,
    in_flight_elsewhere,
)

REPO = GITHUB_REPO
ACTOR = "deploybot (github)"
OLD = GITHUB_MAIN_HEAD
NEW = "2222222222222222222222222222222222222222"
PR_SHA = "3333333333333333333333333333333333333333"


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    return polled_github(httpserver, monkeypatch)


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    cfg = base_config(github={"api_url": fake_github.url, "poll_every": "30s"})
    cfg["environments"]["development"] = {}
    cfg["services"]["api"].update({
        "github": {"repository": REPO, "auto_deploy": {"main": "staging"},
                   "pull_requests": "development"},
        "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$",
    })
    return cfg


def make_container(config: AppConfig, database_url: str, fake_slack: FakeSlack,
                   clock: ManualClock, **kw: Any) -> Container:
    return build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                           slack_api_url=fake_slack.base_url, clock=clock,
                           progress_every=timedelta(0), **kw)


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        gh: RepoState) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock) as running:
        jobs.register_instance(running.container)
        try:
            yield running
        finally:
            jobs.unregister_instance(running.container.instance)


def poll(bot: RunningBot) -> int:
    """One tick of the scheduler's job, then the deployments it started run to the end."""
    handled = jobs.poll_github(bot.container.instance)
    assert bot.container.runner.wait_idle()
    return handled


def deliveries(bot: RunningBot) -> list[dict[str, Any]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT details FROM audit_events "
                                 "WHERE action = 'github.delivery' ORDER BY id"))
        return [d if isinstance(d, dict) else json.loads(d) for (d,) in rows]


def test_polling_is_on_without_a_webhook_secret_and_off_with_one(
        bot: RunningBot, config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> None:
    assert bot.container.github_polling is not None
    with_hooks = make_container(config, database_url, fake_slack, clock,
                                github_webhook_secret="s")
    socket = make_container(config, database_url, fake_slack, clock,
                            github_webhook_secret="s", socket_mode=True)
    try:
        assert with_hooks.github_polling is None  # webhooks arrive: no polling
        assert socket.github_polling is not None  # Socket Mode: no endpoint for them
    finally:
        with_hooks.close()
        socket.close()


def test_the_first_look_is_a_baseline_and_a_merge_to_main_deploys_to_staging_once(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    assert poll(bot) == 0  # what is there already is not deployed again
    assert deployment_ids(bot) == []
    assert f"/repos/{REPO}/branches/main" in fake_github.calls()
    assert f"/repos/{REPO}/pulls" in fake_github.calls()

    assert poll(bot) == 0  # unchanged head: nothing
    assert deployment_ids(bot) == []

    gh.set_branch(REPO, "main", NEW)  # a merge
    assert poll(bot) == 1
    assert deployment_ids(bot) == [1]
    d = bot.deployment(1)
    assert (d.service, d.environment, d.version, d.requested_by) == (
        "api", "staging", NEW[:12], ACTOR)
    assert d.state is State.SUCCEEDED

    assert poll(bot) == 0  # the same head again: once only
    assert deployment_ids(bot) == [1]
    (audit,) = deliveries(bot)  # audited like a webhook delivery, the claim key its id
    assert (audit["event"], audit["ref"], audit["sha"]) == ("push", "refs/heads/main", NEW)
    assert audit["delivery"] == f"github-poll:{REPO}:branch:main:{NEW}"
    assert audit["outcome"] == ["api staging: deployment #1 requested (queued)"]


def finish(bot: RunningBot, clock: ManualClock, deployment_id: int) -> None:
    at = clock.now()
    with bot.container.database.transaction() as r:
        assert r.deployments.transition(deployment_id, State.FAILED, at=at, finished_at=at)


def waiting_announcements(bot: RunningBot) -> list[str]:
    return [str(m["text"]) for m in announcements(bot) if "Automatic deploy" in m["text"]]


def test_a_merge_while_staging_deploys_is_announced_once_and_deployed_after_it(
        bot: RunningBot, gh: RepoState, clock: ManualClock) -> None:
    """A merge polled while a deploy to staging is in flight is refused by the one-at-a-time
    rule: announced once as deployed when that one has finished, looked at again every poll
    (silently while still busy), and deployed by the first poll after it finished."""
    assert poll(bot) == 0  # the baseline
    busy = in_flight_elsewhere(bot, clock)

    gh.set_branch(REPO, "main", NEW)  # a merge
    assert poll(bot) == 1
    assert deployment_ids(bot) == [busy]
    (waiting,) = waiting_announcements(bot)
    assert waiting.startswith(f":hourglass_flowing_sand: Automatic deploy of api "
                              f"`{NEW[:12]}` to staging (push to main in acme/api) waits:"), waiting
    assert f"Deployment #{busy} of api to staging is running now" in waiting, waiting
    said, cause = waiting.split("\n")
    assert said.endswith(
        f"This commit is deployed when #{busy} has finished (deploybot looks again every "
        "30s), unless main moves on first: then its newest head is."), waiting
    assert cause.startswith(f"Automatic: `main` moved to `{NEW[:12]}`"), waiting
    (first,) = deliveries(bot)
    assert first["delivery"] == f"github-poll:{REPO}:branch:main:{NEW}"
    assert first["outcome"] == [f"api staging: waiting: deployment #{busy} is in flight"]

    clock.advance(timedelta(seconds=30))
    assert poll(bot) == 1  # looked at again: still busy, nothing said, nothing audited
    assert poll(bot) == 1
    assert deployment_ids(bot) == [busy]
    assert len(waiting_announcements(bot)) == 1
    assert len(deliveries(bot)) == 1

    finish(bot, clock, busy)
    clock.advance(timedelta(seconds=30))
    assert poll(bot) == 1  # the next look deploys the head
    assert deployment_ids(bot) == [busy, busy + 1]
    d = bot.deployment(busy + 1)
    assert (d.version, d.requested_by, d.state) == (NEW[:12], ACTOR, State.SUCCEEDED)
    assert len(waiting_announcements(bot)) == 1
    retried = deliveries(bot)[1]
    assert retried["delivery"] == f"github-poll:{REPO}:branch:main:{NEW}"
    assert retried["outcome"] == [
        f"api staging: deployment #{busy + 1} requested (queued) after waiting"]
    assert poll(bot) == 0  # once only
    assert deployment_ids(bot) == [busy, busy + 1]
    assert len(deliveries(bot)) == 2


def test_a_newer_merge_while_waiting_is_what_deploys(
        bot: RunningBot, gh: RepoState, clock: ManualClock) -> None:
    newer = "4444444444444444444444444444444444444444"
    assert poll(bot) == 0
    busy = in_flight_elsewhere(bot, clock)
    gh.set_branch(REPO, "main", NEW)
    assert poll(bot) == 1
    gh.set_branch(REPO, "main", newer)  # main moves on while #1 still runs
    assert poll(bot) == 1
    assert len(waiting_announcements(bot)) == 2  # each head told once
    assert deployments_of(bot) == ["v1.2.3"]
    finish(bot, clock, busy)
    assert poll(bot) == 1
    assert poll(bot) == 0
    assert deployments_of(bot) == ["v1.2.3", newer[:12]]  # only the newest
    outcomes = [a["outcome"] for a in deliveries(bot)]
    assert outcomes[1] == [
        f"api staging: waiting: deployment #{busy} is in flight",
        f"api: {NEW[:12]} no longer waits: superseded by this head"], outcomes
    assert outcomes[2] == [
        f"api staging: deployment #{busy + 1} requested (queued) after waiting"], outcomes


def deployments_of(bot: RunningBot) -> list[str]:
    return [bot.deployment(i).version for i in deployment_ids(bot)]


def test_a_merge_refused_by_a_lock_is_not_tried_again(
        bot: RunningBot, gh: RepoState, clock: ManualClock) -> None:
    """Only "another deployment is in flight" is looked at again: a lock needs a person."""
    assert poll(bot) == 0
    answer = ephemeral_text(bot, bot.requester.command(
        "/lock", 'staging api "investigating checkout errors"', user_id=REQUESTER))
    assert "locked" in answer.lower()
    gh.set_branch(REPO, "main", NEW)
    assert poll(bot) == 1
    (blocked,) = waiting_announcements(bot)
    assert blocked.startswith(":no_entry:"), blocked
    answer = ephemeral_text(bot, bot.requester.command("/unlock", "staging api",
                                                       user_id=REQUESTER))
    assert "unlocked" in answer.lower() or "released" in answer.lower(), answer
    clock.advance(timedelta(minutes=1))
    assert poll(bot) == 0
    assert deployment_ids(bot) == []
    assert len(deliveries(bot)) == 1


def test_two_processes_retrying_a_waiting_head_deploy_it_once(
        bot: RunningBot, gh: RepoState, config: AppConfig, database_url: str,
        fake_slack: FakeSlack, clock: ManualClock) -> None:
    other = make_container(config, database_url, fake_slack, clock)
    try:
        pollers = [bot.container.github_polling, other.github_polling]
        assert pollers[0] is not None and pollers[1] is not None
        assert pollers[0].poll() == 0  # the baseline
        busy = in_flight_elsewhere(bot, clock)
        gh.set_branch(REPO, "main", NEW)

        def both() -> None:
            start = threading.Barrier(2)

            def run(p: Any) -> None:
                start.wait()
                p.poll()

            threads = [threading.Thread(target=run, args=(p,)) for p in pollers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)

        both()  # refused: busy, told once
        both()  # still busy
        assert len(waiting_announcements(bot)) == 1
        finish(bot, clock, busy)
        both()  # one of them deploys it
        assert other.runner.wait_idle() and bot.container.runner.wait_idle()
        both()
        assert other.runner.wait_idle() and bot.container.runner.wait_idle()
    finally:
        other.close()
    assert deployments_of(bot) == ["v1.2.3", NEW[:12]]
    assert len(waiting_announcements(bot)) == 1
    assert len(deliveries(bot)) == 2


def test_a_pull_request_opened_deploys_its_head_to_development(bot: RunningBot,
                                                               gh: RepoState) -> None:
    assert poll(bot) == 0
    gh.open_pull(REPO, 7, "feature-x", PR_SHA)
    assert poll(bot) == 1
    d = bot.deployment(1)
    assert (d.environment, d.version, d.requested_by) == ("development", PR_SHA[:12], ACTOR)
    assert d.state is State.SUCCEEDED
    assert poll(bot) == 0
    (audit,) = deliveries(bot)
    assert (audit["event"], audit["pull_request"]) == ("pull_request", 7)


def test_a_merge_found_by_polling_names_its_commit_on_the_card(bot: RunningBot,
                                                              gh: RepoState) -> None:
    """The branch's answer (GitHub's "Get a branch") carries its head commit whole: its
    author and its message's first line come with the look."""
    assert poll(bot) == 0
    gh.set_branch(REPO, "main", NEW, message="Fix checkout totals\n\nTax was left out.",
                  author="octocat")
    assert poll(bot) == 1
    assert (f"*Automatic:* `main` moved to `{NEW[:12]}` — 'Fix checkout totals' by octocat"
            in blocks_text(bot.card(1))), blocks_text(bot.card(1))
    assert bot.deployment(1).cause == Cause("push", "main", NEW, author="octocat",
                                            message="Fix checkout totals")


def test_a_head_read_without_its_commits_details_says_only_what_is_known(
        bot: RunningBot, gh: RepoState) -> None:
    assert poll(bot) == 0
    gh.bare_commits = True  # the answer holds the head's sha and nothing of its commit
    gh.set_branch(REPO, "main", NEW, message="Fix checkout totals")
    assert poll(bot) == 1
    card = blocks_text(bot.card(1))
    assert f"*Automatic:* `main` moved to `{NEW[:12]}`\n" in card + "\n", card
    assert "Fix checkout totals" not in card


def test_a_pull_request_found_by_polling_names_itself(bot: RunningBot,
                                                     gh: RepoState) -> None:
    """A poll sees a new head, not what made it (opened, or pushed to): the pull request,
    its branch, its head, who opened it and its title."""
    assert poll(bot) == 0
    gh.open_pull(REPO, 7, "feature-x", PR_SHA, author="octocat", title="Add the feature x")
    assert poll(bot) == 1
    assert (f"*Automatic:* pull request #7 `feature-x` at `{PR_SHA[:12]}` by octocat — "
            "'Add the feature x'") in blocks_text(bot.card(1)), blocks_text(bot.card(1))


def test_what_was_seen_survives_a_restart_and_what_changed_meanwhile_deploys(
        bot: RunningBot, gh: RepoState, config: AppConfig, database_url: str,
        fake_slack: FakeSlack, clock: ManualClock) -> None:
    assert poll(bot) == 0  # baseline: OLD
    restarted = make_container(config, database_url, fake_slack, clock)
    try:
        assert restarted.github_polling is not None
        assert restarted.github_polling.poll() == 0  # OLD is still there: not deployed
        gh.set_branch(REPO, "main", NEW)  # merged while the first process was down
        assert restarted.github_polling.poll() == 1
        assert restarted.runner.wait_idle()
    finally:
        restarted.close()
    assert [bot.deployment(i).version for i in deployment_ids(bot)] == [NEW[:12]]


def test_two_processes_polling_at_once_deploy_a_change_once(
        bot: RunningBot, gh: RepoState, config: AppConfig, database_url: str,
        fake_slack: FakeSlack, clock: ManualClock) -> None:
    other = make_container(config, database_url, fake_slack, clock)
    try:
        pollers = [bot.container.github_polling, other.github_polling]
        assert None not in pollers
        assert pollers[0] is not None and pollers[1] is not None
        results: list[int] = []
        start = threading.Barrier(2)

        def run(p: Any) -> None:
            start.wait()
            results.append(p.poll())

        for step in ("baseline", "merge"):
            if step == "merge":
                gh.set_branch(REPO, "main", NEW)
            threads = [threading.Thread(target=run, args=(p,)) for p in pollers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        assert sorted(results) == [0, 0, 0, 1]
        assert other.runner.wait_idle() and bot.container.runner.wait_idle()
    finally:
        other.close()
    assert deployment_ids(bot) == [1]
    assert len(deliveries(bot)) == 1


def test_a_blocked_automatic_deploy_is_announced_like_a_webhook_one(
        bot: RunningBot, gh: RepoState) -> None:
    assert poll(bot) == 0
    answer = ephemeral_text(bot, bot.requester.command(
        "/lock", 'staging api "investigating checkout errors"', user_id=REQUESTER))
    assert "locked" in answer.lower()
    before = len(announcements(bot))
    gh.set_branch(REPO, "main", NEW)
    assert poll(bot) == 1
    assert deployment_ids(bot) == []
    (blocked,) = [m for m in announcements(bot)[before:] if "Automatic deploy" in m["text"]]
    assert blocked["text"].startswith(f":no_entry: Automatic deploy of api `{NEW[:12]}` to "
                                      "staging (push to main in acme/api) was not started:")


def test_a_poll_that_finds_nothing_changed_costs_only_304s(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    assert poll(bot) == 0  # the baseline: 200s
    first = len(fake_github.server.log)
    assert first >= 2 and fake_github.counted() == first
    assert poll(bot) == 0  # nothing changed: every request a 304
    again = fake_github.answered()[first:]
    assert again and all(status == 304 for _, _, status in again), again
    assert fake_github.counted() == first

    gh.set_branch(REPO, "main", NEW)  # a merge: the branch is answered anew
    assert poll(bot) == 1
    changed = [(p, st) for _, p, st in fake_github.answered()[first + len(again):]
               if p.startswith(f"/repos/{REPO}/") and "branches" in p]
    assert changed == [(f"/repos/{REPO}/branches/main", 200)]


def test_rate_limited_backs_off_until_the_reset_with_a_log_line(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> None:
    assert poll(bot) == 0
    gh.set_branch(REPO, "main", NEW)
    reset = clock.now() + timedelta(minutes=10)
    gh.rate_limit(reset)
    with caplog.at_level(logging.INFO, logger="bot.services.github_polling"):
        assert poll(bot) == 0  # no crash
    assert any("rate limit" in r.getMessage() and "backing off until" in r.getMessage()
               and f"{reset:%H:%M}" in r.getMessage() for r in caplog.records), caplog.text
    polling = bot.container.github_polling
    assert polling is not None and polling.backoff_until == reset.replace(microsecond=0)

    asked = len(fake_github.calls())
    gh.lift_rate_limit()
    clock.advance(timedelta(minutes=5))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.services.github_polling"):
        assert poll(bot) == 0  # still before the reset: GitHub is not asked
    assert len(fake_github.calls()) == asked
    assert "waiting until" in caplog.text

    clock.advance(timedelta(minutes=5, seconds=1))
    assert poll(bot) == 1  # after the reset: the merge deploys
    assert [bot.deployment(i).version for i in deployment_ids(bot)] == [NEW[:12]]


def test_polling_as_a_github_app_uses_its_installation_token(
        config_data: dict[str, Any], database_url: str, fake_slack: FakeSlack,
        clock: ManualClock, gh: RepoState, fake_github: FakeGitHub,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.config import parse_config
    from devtools.fake_github.repo import AppTokens

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo
                                           ).decode()
    tokens = AppTokens(fake_github, 31, public, 5)
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("GITHUB_APP_ID", "31")
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", pem)
    monkeypatch.delenv("GITHUB_APP_INSTALLATION_ID", raising=False)
    config_data["github"]["app"] = {"installation_id": 5}  # the installation from app.yaml
    container = make_container(parse_config(config_data, source="test"), database_url,
                               fake_slack, clock)
    try:
        polling = container.github_polling
        assert polling is not None
        assert polling.poll() == 0
        gh.set_branch(REPO, "main", NEW)
        assert polling.poll() == 1
        assert container.runner.wait_idle()
    finally:
        container.close()
    assert tokens.issued == ["ghs_1"]  # one installation token, used by every later request
    assert fake_github.calls().count("/app/installations/5/access_tokens") == 1


def test_only_part_of_the_github_app_settings_fails_at_start(
        config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import SettingsError

    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("GITHUB_APP_ID", "31")
    with pytest.raises(SettingsError, match="GITHUB_APP_PRIVATE_KEY"):
        make_container(config, database_url, fake_slack, clock)
