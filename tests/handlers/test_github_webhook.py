"""GitHub webhooks over real HTTP: `POST /github/webhook` verifies X-Hub-Signature-256,
claims each X-GitHub-Delivery once, and turns a push to a configured branch into an automatic
deploy that obeys locks like everyone's, announced when it is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.container import build_container
from bot.domain.states import State
from bot.web import build_asgi
from devtools.fake_github import FakeGitHub
from devtools.fake_slack import FakeSlack
from devtools.server import ThreadedServer
from handlers import build_app
from tests.conftest import BOT_TOKEN, REQUESTER, SIGNING_SECRET, RunningBot, base_config, serve_bot
from tests.handlers.spine import (
    CHANNEL,
    announcements,
    blocks_text,
    deployment_ids,
    ephemeral_text,
    in_flight_elsewhere,
    thread_replies,
)

SECRET = "gh-webhook-secret"
ACTOR = "deploybot (github)"
SHA = "0123456789abcdef0123456789abcdef01234567"
REPO = "acme/api"


@pytest.fixture
def config_data(local_github: FakeGitHub) -> dict[str, Any]:
    cfg = base_config(github={"api_url": local_github.url})
    cfg["environments"]["development"] = {}
    cfg["services"]["api"].update({
        "github": {"repository": REPO, "auto_deploy": {"main": "staging"},
                   "pull_requests": "development"},
        "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$",
    })
    return cfg


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock,
                   github_webhook_secret=SECRET) as running:
        yield running


def push(ref: str = "refs/heads/main", *, repo: str = REPO, after: str = SHA,
         message: str = "Fix checkout totals\n\nThe sum left out the tax.",
         head: dict[str, Any] | None = None) -> dict[str, Any]:
    """A push delivery as GitHub sends one (docs: "Webhook events and payloads", push): the
    pushed commit is `after`, and `head_commit` that commit (its message whole, its author
    with `username`, the GitHub login of the email); `pusher` is who pushed."""
    commit = head if head is not None else {
        "id": after, "tree_id": "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "distinct": True,
        "message": message, "timestamp": "2026-11-18T09:58:00-05:00",
        "url": f"https://github.com/{repo}/commit/{after}",
        "author": {"name": "The Octocat", "email": "octocat@github.com", "username": "octocat"},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [], "removed": [], "modified": ["checkout.py"]}
    return {"ref": ref, "before": "f" * 40, "after": after, "created": False, "deleted": False,
            "forced": False, "head_commit": commit,
            "pusher": {"name": "hubot", "email": "hubot@github.com"},
            "repository": {"full_name": repo}, "sender": {"login": "hubot"}}


def deliver(bot: RunningBot, payload: dict[str, Any], *, delivery: str = "d-1",
            event: str = "push", secret: str | None = SECRET) -> int:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery}
    if secret is not None:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(
            secret.encode(), body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{bot.server.url}/github/webhook", data=body,
                                 headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status = int(resp.status)
    except urllib.error.HTTPError as e:
        status = e.code
    assert bot.container.background.wait_idle(10)
    return status


def deliveries(bot: RunningBot) -> list[dict[str, Any]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, details FROM audit_events "
                                 "WHERE action = 'github.delivery' ORDER BY id"))
        out = []
        for actor, details in rows:
            d = details if isinstance(details, dict) else json.loads(details)
            out.append({"actor": actor, **d})
        return out


@pytest.mark.parametrize("secret", ["wrong", None])
def test_a_bad_or_missing_signature_is_refused_and_nothing_is_done(
        bot: RunningBot, secret: str | None) -> None:
    assert deliver(bot, push(), secret=secret) == 401
    assert deployment_ids(bot) == []
    assert deliveries(bot) == []
    with bot.container.database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM announcements")).scalar() == 0
    assert bot.slack.calls("chat.postMessage") == []


def test_a_push_to_main_deploys_the_commit_to_staging(bot: RunningBot) -> None:
    assert deliver(bot, push()) == 200
    assert deployment_ids(bot) == [1]
    assert bot.container.runner.wait_idle()
    d = bot.deployment(1)
    assert (d.service, d.environment, d.version) == ("api", "staging", SHA[:12])
    assert d.requested_by == ACTOR
    assert d.state is State.SUCCEEDED
    assert d.message_ts is not None  # announced: its card is in the deployments channel
    # Not a Slack user: named in bold (a mention of it would show raw), and no DM to it.
    card = blocks_text(bot.card(1))
    assert f"*Requested by:* *{ACTOR}*" in card, card
    assert f"<@{ACTOR}>" not in card
    bot.slack.wait_for("chat.postMessage", count=3)  # card, record, announcement
    assert not [c for c in bot.slack.calls("chat.postMessage")
                if c.args.get("channel") == ACTOR]
    (audit,) = deliveries(bot)
    assert audit["actor"] == ACTOR
    assert (audit["event"], audit["repository"], audit["ref"], audit["sha"],
            audit["delivery"]) == ("push", REPO, "refs/heads/main", SHA, "d-1")
    assert audit["outcome"] == ["api staging: deployment #1 requested (queued)"]


CAUSE = f"`main` moved to `{SHA[:12]}` — 'Fix checkout totals' by octocat"


def test_an_automatic_deploy_names_its_cause_on_its_card_record_announcement_and_history(
        bot: RunningBot) -> None:
    """Which branch moved to which commit, whose, and its message's first line: on the
    card, in the record, in the result announcement, in `/deploys`; audited with the
    request."""
    assert deliver(bot, push()) == 200
    assert bot.container.runner.wait_idle()
    bot.slack.wait_for("chat.postMessage", count=3)  # card, record, announcement
    card = bot.card(1)
    assert f"*Requested by:* *{ACTOR}*" in blocks_text(card)
    assert f"*Automatic:* {CAUSE}" in blocks_text(card), blocks_text(card)
    (record,) = thread_replies(bot, card["ts"])
    assert f"*Deployer:* *{ACTOR}*\n*Automatic:* {CAUSE}" in blocks_text(record)
    (live,) = [m for m in announcements(bot) if "is live in staging" in blocks_text(m)]
    assert f"Automatic: {CAUSE}\nDeployed by *{ACTOR}*" in blocks_text(live)
    reply = bot.requester.command("/deploys", "staging", user_id=REQUESTER)
    (post,) = bot.requester.response_posts(reply)
    assert f"*{ACTOR}* · " in blocks_text(post.args) and f"Automatic: {CAUSE}" in blocks_text(
        post.args), blocks_text(post.args)
    with bot.container.database.engine.connect() as conn:
        (details,) = conn.execute(text("SELECT details FROM audit_events WHERE action = "
                                       "'deploy.requested'")).scalars()
    details = details if isinstance(details, dict) else json.loads(details)
    assert details["cause"] == {"event": "push", "branch": "main", "sha": SHA,
                                "author": "octocat", "message": "Fix checkout totals"}


def test_a_pull_request_deploy_names_the_pull_request(bot: RunningBot) -> None:
    payload = {"action": "opened", "number": 7,
               "pull_request": {"number": 7, "title": "Add the feature x",
                                "user": {"login": "octocat"},
                                "head": {"ref": "feature-x", "sha": SHA}},
               "repository": {"full_name": REPO}, "sender": {"login": "octocat"}}
    assert deliver(bot, payload, event="pull_request") == 200
    assert bot.container.runner.wait_idle()
    assert ("*Automatic:* pull request #7 `feature-x` opened by octocat — 'Add the feature x'"
            in blocks_text(bot.card(1))), blocks_text(bot.card(1))


def test_a_push_without_its_head_commit_says_only_what_is_known(bot: RunningBot) -> None:
    """GitHub gives no head_commit (or another commit's): the branch and the commit, and
    neither a message nor an author (the pusher did not write the commit)."""
    payload = push(head={"id": "f" * 40, "message": "Another commit",
                         "author": {"name": "Mallory", "username": "mallory"}})
    assert deliver(bot, payload) == 200
    assert bot.container.runner.wait_idle()
    card = blocks_text(bot.card(1))
    assert f"*Automatic:* `main` moved to `{SHA[:12]}`\n" in card + "\n", card
    assert "Another commit" not in card and "mallory" not in card and "hubot" not in card


def test_a_commit_message_mentions_nobody(bot: RunningBot) -> None:
    message = f"<!channel> deploy now <@{REQUESTER}> *urgent* & see <https://x.test/1>\nbody"
    assert deliver(bot, push(message=message)) == 200
    assert bot.container.runner.wait_idle()
    bot.slack.wait_for("chat.postMessage", count=3)
    for m in bot.slack.messages(CHANNEL):
        shown = blocks_text(m) + str(m["text"])
        assert "<!channel>" not in shown and f"<@{REQUESTER}>" not in shown, shown
    assert ("'&lt;!channel&gt; deploy now &lt;@U0ALICE&gt; *urgent* &amp; see "
            "<https://x.test/1>' by octocat") in blocks_text(bot.card(1))


def test_a_redelivery_does_nothing(bot: RunningBot) -> None:
    assert deliver(bot, push(), delivery="same") == 200
    assert deliver(bot, push(), delivery="same") == 200
    assert bot.container.runner.wait_idle()
    assert deployment_ids(bot) == [1]
    outcomes = [a["outcome"] for a in deliveries(bot)]
    assert ["duplicate: ignored"] in outcomes and len(outcomes) == 2


def test_a_push_to_another_branch_deploys_nothing(bot: RunningBot) -> None:
    assert deliver(bot, push("refs/heads/feature-x")) == 200
    assert deployment_ids(bot) == []
    assert bot.slack.calls("chat.postMessage") == []
    (audit,) = deliveries(bot)
    assert audit["outcome"] == ["ignored: no automatic deploy configured for branch "
                                "'feature-x'"]


def test_a_push_while_staging_is_locked_is_announced_as_blocked(bot: RunningBot) -> None:
    answer = ephemeral_text(bot, bot.requester.command(
        "/lock", 'staging api "investigating checkout errors"', user_id=REQUESTER))
    assert "locked" in answer.lower()
    before = len(announcements(bot))
    assert deliver(bot, push()) == 200
    assert deployment_ids(bot) == []
    (blocked,) = [m for m in announcements(bot)[before:]
                  if "Automatic deploy" in m["text"]]
    # The lock worded as every screen words it (lock_views.lock_note), and the way on.
    assert blocked["text"] == (
        f":no_entry: Automatic deploy of api `{SHA[:12]}` to staging (push to main in "
        f"acme/api) was not started: api in staging is locked by <@{REQUESTER}> since Wed "
        "2026-11-18 10:00 EST, until unlocked: investigating checkout errors. Ask them, or "
        "`/unlock staging api` if you may.\n"
        f"Automatic: {CAUSE}")  # which change was not deployed, as its card would say
    (audit,) = deliveries(bot)
    assert audit["outcome"][0].startswith("api staging: blocked:")


def test_a_push_of_the_commit_already_running_is_skipped_and_announced(
        bot: RunningBot) -> None:
    """The commit the executor runs in staging already (read now) is not deployed again:
    the automatic deploy is announced as a skip, and nothing is requested."""
    bot.clock.set(datetime(2026, 11, 18, 15, 0, tzinfo=UTC))  # Wed 10:00 in New York
    assert deliver(bot, push(), delivery="d-1") == 200
    assert bot.container.runner.wait_idle()
    assert bot.deployment(1).state is State.SUCCEEDED  # simulated: live since the clock's now
    before = len(announcements(bot))

    assert deliver(bot, push(), delivery="d-2") == 200  # e.g. a re-run, or another branch

    assert deployment_ids(bot) == [1]
    (skipped,) = [m for m in announcements(bot)[before:] if "Automatic deploy" in m["text"]]
    assert skipped["text"].startswith(
        f":information_source: Automatic deploy of api `{SHA[:12]}` to staging (push to main "
        f"in acme/api) skipped: `{SHA[:12]}` already runs in staging (since Wed 2026-11-18 "
        "10:00 EST, read from the cluster): nothing to deploy."), skipped["text"]
    assert skipped["text"].endswith(f"\nAutomatic: {CAUSE}"), skipped["text"]
    assert deliveries(bot)[-1]["outcome"] == ["api staging: skipped: already running"]


def test_an_unknown_repository_is_ignored_and_audited(bot: RunningBot) -> None:
    assert deliver(bot, push(repo="someone/else")) == 200
    assert deployment_ids(bot) == []
    (audit,) = deliveries(bot)
    assert audit["repository"] == "someone/else"
    assert audit["outcome"] == ["ignored: repository 'someone/else' is not configured"]


def test_a_commit_not_matching_the_version_pattern_is_skipped_and_announced(
        bot: RunningBot, config_data: dict[str, Any]) -> None:
    assert deliver(bot, push(after="XYZ" + SHA[3:])) == 200
    assert deployment_ids(bot) == []
    (note,) = announcements(bot)
    assert "skipped" in note["text"] and "version_pattern" in note["text"]


def test_webhooks_are_off_without_a_secret(config: AppConfig, database_url: str,
                                           fake_slack: FakeSlack, clock: ManualClock,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
    container = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                                slack_api_url=fake_slack.base_url, clock=clock)
    assert container.webhooks is None
    server = ThreadedServer(build_asgi(build_app(container, signing_secret=SIGNING_SECRET),
                                       github=container.webhooks)).start()
    try:
        running = RunningBot(container, fake_slack, None, server, clock)  # type: ignore[arg-type]
        assert deliver(running, push()) == 404
        assert deployment_ids(running) == []
    finally:
        server.stop()
        container.close()


def test_auto_deploy_environments_are_validated() -> None:
    cfg = base_config()
    cfg["services"]["api"]["github"] = {"repository": REPO, "auto_deploy": {"main": "qa"}}
    with pytest.raises(Exception, match=r"auto_deploy\.main: unknown environment 'qa'"):
        parse_config(cfg, source="test")


@pytest.mark.parametrize("action,deploys", [("opened", True), ("synchronize", True),
                                            ("closed", False)])
def test_a_pull_request_deploys_its_head_to_development(bot: RunningBot, action: str,
                                                        deploys: bool) -> None:
    payload = {"action": action, "number": 7,
               "pull_request": {"head": {"ref": "feature-x", "sha": SHA}},
               "repository": {"full_name": REPO}}
    assert deliver(bot, payload, event="pull_request") == 200
    assert bot.container.runner.wait_idle()
    if not deploys:
        assert deployment_ids(bot) == []
        return
    d = bot.deployment(1)
    assert (d.environment, d.version, d.requested_by) == ("development", SHA[:12], ACTOR)
    assert d.state is State.SUCCEEDED


def test_a_push_while_staging_deploys_is_announced_as_not_deployed_later_without_polling(
        bot: RunningBot, clock: ManualClock) -> None:
    """GitHub does not redeliver a delivery answered 2xx and nothing polls: the refusal says
    the commit is not deployed by itself, and what deploys it."""
    busy = in_flight_elsewhere(bot, clock)
    assert bot.container.github_polling is None
    assert deliver(bot, push()) == 200
    (refused,) = [str(m["text"]) for m in announcements(bot) if "Automatic deploy" in m["text"]]
    assert refused.startswith(":no_entry:"), refused
    assert f"Deployment #{busy} of api to staging is running now" in refused, refused
    assert refused.endswith(
        f"This commit is not deployed by itself later: once #{busy} has finished, the "
        "next push to main deploys its head; to deploy this commit, `/deploy api staging "
        f"<tag>` with a tag of it.\nAutomatic: {CAUSE}"), refused
    with bot.container.database.engine.connect() as conn:  # nothing waits for a poll
        assert conn.execute(text("SELECT count(*) FROM announcements WHERE key LIKE "
                                 "'github-poll%'")).scalar() == 0
    # A person deploys a tag, not the commit: the command the announcement gives is that.
    refused_sha = ephemeral_text(bot, bot.deploy(f"staging {SHA[:12]}"))
    assert f"`{SHA[:12]}` is not a tag of {REPO}" in refused_sha, refused_sha


def test_a_push_while_staging_deploys_waits_for_the_poll_when_polling_is_on_too(
        config_data: dict[str, Any], database_url: str, fake_slack: FakeSlack,
        clock: ManualClock, local_github: FakeGitHub) -> None:
    """With `github.poll: on` next to webhooks, a delivered push refused as busy waits: the
    poll after the other deploy finished deploys it (announced once, not handed on twice)."""
    from datetime import timedelta

    from bot.scheduling import jobs
    from devtools.fake_github.repo import RepoState

    RepoState(local_github).set_branch(REPO, "main", SHA)
    config_data["github"].update({"poll": "on", "poll_every": "1m"})
    with serve_bot(parse_config(config_data, source="test"), database_url, fake_slack, clock,
                   github_webhook_secret=SECRET) as running:
        assert running.container.github_polling is not None
        busy = in_flight_elsewhere(running, clock)
        assert deliver(running, push()) == 200
        (waits,) = [str(m["text"]) for m in announcements(running)
                    if "Automatic deploy" in m["text"]]
        assert waits.startswith(":hourglass_flowing_sand:"), waits
        assert waits.endswith(f"This commit is deployed when #{busy} has finished (deploybot "
                              "looks again every 1m), unless main moves on first: then its "
                              f"newest head is.\nAutomatic: {CAUSE}"), waits
        jobs.register_instance(running.container)
        try:
            assert jobs.poll_github(running.container.instance) == 1  # still busy: quiet
            with running.container.database.transaction() as r:
                assert r.deployments.transition(busy, State.FAILED, at=clock.now(),
                                                finished_at=clock.now())
            clock.advance(timedelta(minutes=1))
            assert jobs.poll_github(running.container.instance) == 1
            assert running.container.runner.wait_idle()
            assert jobs.poll_github(running.container.instance) == 0
        finally:
            jobs.unregister_instance(running.container.instance)
        assert [running.deployment(i).version for i in deployment_ids(running)] == [
            "v1.2.3", SHA[:12]]
        assert len([m for m in announcements(running) if "Automatic deploy" in m["text"]]) == 1
        assert [a["outcome"] for a in deliveries(running)] == [
            [f"api staging: waiting: deployment #{busy} is in flight"],
            [f"api staging: deployment #{busy + 1} requested (queued) after waiting"]]
