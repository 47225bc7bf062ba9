"""Per-PR previews over real HTTP: GitHub `pull_request` deliveries (signed, to
`POST /github/webhook`) for a service with `pull_requests: {environment: development, per_pr:
true}` deploy each pull request to its own instance of development (simulated cluster), side
by side with the other pull requests and the shared development deploys; a preview never
counts as what runs in development (promotion gate, /deploy status, rollback targets); closing
the pull request removes the preview once, announced and audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.container import build_container
from bot.domain.deployment import NewDeployment
from bot.domain.states import State
from bot.web import build_asgi
from devtools.fake_github import FakeGitHub
from devtools.fake_slack import FakeSlack
from devtools.server import ThreadedServer
from handlers import build_app
from tests.conftest import (
    BOT_TOKEN,
    SIGNING_SECRET,
    RunningBot,
    base_config,
    running_version,
    serve_bot,
)
from tests.handlers.spine import announcements, blocks_text, deployment_ids
from tests.handlers.test_github_webhook import SECRET, deliver, deliveries

REPO = "acme/api"
ACTOR = "deploybot (github)"
SHA7 = "7777777777777777777777777777777777777777"
SHA8 = "8888888888888888888888888888888888888888"
SHARED = "dddddddddddddddddddddddddddddddddddddddd"


@pytest.fixture
def config_data(local_github: FakeGitHub) -> dict[str, Any]:
    cfg = base_config(github={"api_url": local_github.url})
    cfg["environments"]["development"] = {}
    cfg["environments"]["staging"] = {"promote_from": "development"}
    cfg["services"]["api"].update({
        "github": {"repository": REPO,
                   "auto_deploy": {"develop": "development", "main": "staging"},
                   "pull_requests": {"environment": "development", "per_pr": True}},
        "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$",
    })
    return cfg


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock,
                   github_webhook_secret=SECRET) as running:
        yield running


def simulated(bot: RunningBot) -> SimulatedCluster:
    cluster = bot.container.cluster.for_service("api")  # type: ignore[attr-defined]
    assert isinstance(cluster, SimulatedCluster)
    return cluster


def pull_request(number: int, sha: str, action: str = "opened") -> dict[str, Any]:
    return {"action": action, "number": number,
            "pull_request": {"head": {"ref": f"feature-{number}", "sha": sha}},
            "repository": {"full_name": REPO}, "sender": {"login": "octocat"}}


def push_develop(sha: str = SHARED, branch: str = "develop") -> dict[str, Any]:
    return {"ref": f"refs/heads/{branch}", "after": sha, "deleted": False,
            "repository": {"full_name": REPO}, "sender": {"login": "octocat"}}


def open_pr(bot: RunningBot, number: int, sha: str, *, delivery: str) -> None:
    assert deliver(bot, pull_request(number, sha), delivery=delivery,
                   event="pull_request") == 200
    assert bot.container.runner.wait_idle()


def audit_count(bot: RunningBot, action: str) -> int:
    with bot.container.database.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_events WHERE action = :a"),
                                {"a": action}).scalar_one())


def texts(bot: RunningBot) -> list[str]:
    return [str(m["text"]) for m in announcements(bot)]


def test_two_pull_requests_deploy_to_their_own_previews(bot: RunningBot) -> None:
    open_pr(bot, 7, SHA7, delivery="d-7")
    open_pr(bot, 8, SHA8, delivery="d-8")
    d7, d8 = bot.deployment(1), bot.deployment(2)
    assert (d7.environment, d7.instance, d7.version, d7.state) == (
        "development", "pr-7", SHA7[:12], State.SUCCEEDED)
    assert (d8.environment, d8.instance, d8.version, d8.state) == (
        "development", "pr-8", SHA8[:12], State.SUCCEEDED)
    cluster = simulated(bot)
    assert cluster.instance_version("development", "api", "pr-7") == SHA7[:12]
    assert cluster.instance_version("development", "api", "pr-8") == SHA8[:12]
    # the environment's own instance is untouched
    assert running_version(cluster, "development", "api") == "v1.2.2"
    assert d7.previous_version is None  # a new preview replaces nothing
    # the card, and the announcement, say which preview
    assert f"#1 api {SHA7[:12]} → development (PR #7)" in bot.card(1)["text"]
    assert "(PR #7 preview)" in blocks_text(bot.card(1))
    bot.slack.wait_for("chat.postMessage", count=6)  # 2 x (card, record, announcement)
    assert f"#2 api {SHA8[:12]} → development (PR #8): succeeded" in texts(bot)
    outcomes = [d["outcome"] for d in deliveries(bot)]
    assert outcomes == [["api development (PR #7): deployment #1 requested (queued)"],
                        ["api development (PR #8): deployment #2 requested (queued)"]]


def test_a_preview_in_flight_blocks_neither_others_nor_the_shared_deploy(
        bot: RunningBot, clock: ManualClock) -> None:
    at = clock.now()
    with bot.container.database.transaction() as r:  # PR 7's preview runs in another process
        busy = r.deployments.add(NewDeployment(
            service="api", environment="development", version=SHA7[:12],
            previous_version=None, state=State.QUEUED, requested_by=ACTOR, requested_at=at,
            approvals_required=0, expires_at=None, instance="pr-7"))
        assert r.deployments.claim(busy.id, owner="elsewhere", at=at,
                                   until=at + timedelta(hours=1))
        assert r.deployments.transition(busy.id, State.RUNNING, at=at, started_at=at)
    open_pr(bot, 8, SHA8, delivery="d-8")
    assert deliver(bot, push_develop(), delivery="d-push") == 200
    assert bot.container.runner.wait_idle()
    d8, shared = bot.deployment(2), bot.deployment(3)
    assert (d8.instance, d8.state) == ("pr-8", State.SUCCEEDED)
    assert (shared.instance, shared.version, shared.state) == (
        None, SHARED[:12], State.SUCCEEDED)
    assert running_version(simulated(bot), "development", "api") == SHARED[:12]
    # but PR 7 itself has one run at a time
    assert deliver(bot, pull_request(7, SHA8, "synchronize"), delivery="d-7b",
                   event="pull_request") == 200
    assert deployment_ids(bot) == [1, 2, 3]
    refused = [t for t in texts(bot) if t.startswith(":no_entry:")]
    assert len(refused) == 1, texts(bot)
    assert "to development (PR #7)" in refused[0]
    assert "Deployment #1 of api to development (PR #7) is running now" in refused[0]


def test_previews_never_count_as_running_in_development(bot: RunningBot) -> None:
    open_pr(bot, 7, SHA7, delivery="d-7")
    # the promotion gate: staging takes only what succeeded on development itself
    assert deliver(bot, push_develop(SHA7, "main"), delivery="d-main") == 200
    assert deployment_ids(bot) == [1]
    (refused,) = [t for t in texts(bot) if t.startswith(":no_entry:")]
    assert "has not succeeded in development yet" in refused
    # status: development runs what the cluster says (no deploy of its own yet)
    status = bot.container.deployments.status()
    running = {(v.environment, v.service): v.version for v in status.running}
    assert running[("development", "api")] == "v1.2.2"
    assert bot.container.deployments.running_version("development", "api") == "v1.2.2"
    # rollback targets and the last live version there ignore the preview
    with bot.container.database.transaction() as r:
        assert r.deployments.good_versions("development", "api") == []
        assert r.deployments.latest_live("development", "api", SHA7[:12]) is None
        assert r.deployments.last_succeeded_version("development", "api", "pr-7") == SHA7[:12]
    # a shared deploy of the same commit then opens the gate
    assert deliver(bot, push_develop(SHA7), delivery="d-push") == 200
    assert bot.container.runner.wait_idle()
    assert bot.deployment(2).state is State.SUCCEEDED
    assert deliver(bot, push_develop(SHA7, "main"), delivery="d-main-2") == 200
    assert bot.container.runner.wait_idle()
    assert deployment_ids(bot) == [1, 2, 3]
    assert (bot.deployment(3).environment, bot.deployment(3).state) == (
        "staging", State.SUCCEEDED)


def test_closing_the_pull_request_removes_its_preview_once(bot: RunningBot) -> None:
    open_pr(bot, 7, SHA7, delivery="d-7")
    open_pr(bot, 8, SHA8, delivery="d-8")
    closed = pull_request(7, SHA7, "closed")
    assert deliver(bot, closed, delivery="d-close", event="pull_request") == 200
    assert deliver(bot, closed, delivery="d-close", event="pull_request") == 200  # redelivery
    # the same close in another delivery (e.g. polling saw it too)
    assert deliver(bot, closed, delivery="d-close-2", event="pull_request") == 200
    cluster = simulated(bot)
    assert cluster.instance_version("development", "api", "pr-7") is None
    assert cluster.instance_version("development", "api", "pr-8") == SHA8[:12]
    removed = [t for t in texts(bot) if "closed" in t]
    assert removed == [":broom: PR #7 closed: preview of api in development removed"]
    assert audit_count(bot, "preview.removed") == 1
    outcomes = [d["outcome"] for d in deliveries(bot)][2:]
    assert outcomes == [["api development (PR #7): preview removed"],
                        ["duplicate: ignored"],
                        ["api development (PR #7): preview removed already"]]
    assert deployment_ids(bot) == [1, 2]  # nothing deployed by a close
    # a pull request without a preview: nothing to remove, nothing announced
    assert deliver(bot, pull_request(9, SHA8, "closed"), delivery="d-9",
                   event="pull_request") == 200
    assert deliveries(bot)[-1]["outcome"] == ["api development (PR #9): no preview to remove"]
    assert [t for t in texts(bot) if "closed" in t] == removed
    # one whose only deploy never ran: it is cancelled (approving it later would bring the
    # preview back), nothing was running, nothing announced
    at = bot.clock.now()
    with bot.container.database.transaction() as r:
        waiting = r.deployments.add(NewDeployment(
            service="api", environment="development", version=SHA8[:12],
            previous_version=None, state=State.AWAITING_APPROVAL, requested_by=ACTOR,
            requested_at=at, approvals_required=1, expires_at=None, instance="pr-10"))
    assert deliver(bot, pull_request(10, SHA8, "closed"), delivery="d-10",
                   event="pull_request") == 200
    assert deliveries(bot)[-1]["outcome"] == ["api development (PR #10): no preview was running"]
    assert bot.deployment(waiting.id).state is State.CANCELLED
    assert bot.deployment(waiting.id).error == "PR #10 was closed"
    assert audit_count(bot, "deploy.cancelled") == 1
    assert [t for t in texts(bot) if "closed" in t] == removed
    # reopened and deployed again, then closed again: removed again
    assert deliver(bot, pull_request(7, SHA7, "reopened"), delivery="d-7r",
                   event="pull_request") == 200
    assert bot.container.runner.wait_idle()
    assert cluster.instance_version("development", "api", "pr-7") == SHA7[:12]
    assert deliver(bot, closed, delivery="d-close-3", event="pull_request") == 200
    assert cluster.instance_version("development", "api", "pr-7") is None
    assert audit_count(bot, "preview.removed") == 3  # PR 7 twice, PR 10 (nothing running)
    assert len([t for t in texts(bot) if "closed" in t]) == 2


def test_a_shared_pull_request_environment_is_unchanged(
        database_url: str, fake_slack: FakeSlack, clock: ManualClock) -> None:
    """`pull_requests: development` (the plain form) still deploys to development itself,
    and a close does nothing."""
    cfg = base_config()
    cfg["environments"]["development"] = {}
    cfg["services"]["api"].update({
        "github": {"repository": REPO, "pull_requests": "development"},
        "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$"})
    config = parse_config(cfg, source="test")
    container = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                                slack_api_url=fake_slack.base_url, clock=clock,
                                progress_every=timedelta(0), github_webhook_secret=SECRET)
    server = ThreadedServer(build_asgi(build_app(container, signing_secret=SIGNING_SECRET),
                                       background=container.background,
                                       github=container.webhooks)).start()
    try:
        running = RunningBot(container, fake_slack, None, server, clock)  # type: ignore[arg-type]
        open_pr(running, 7, SHA7, delivery="d-7")
        d = running.deployment(1)
        assert (d.instance, d.state) == (None, State.SUCCEEDED)
        assert running_version(simulated(running), "development", "api") == SHA7[:12]
        assert deliver(running, pull_request(7, SHA7, "closed"), delivery="d-c",
                       event="pull_request") == 200
        assert deliveries(running)[-1]["outcome"] == ["ignored: pull request closed"]
        assert running_version(simulated(running), "development", "api") == SHA7[:12]
    finally:
        server.stop()
        container.close()


def test_audit_details_name_the_instance(bot: RunningBot) -> None:
    open_pr(bot, 7, SHA7, delivery="d-7")
    with bot.container.database.engine.connect() as conn:
        (details,) = conn.execute(text(
            "SELECT details FROM audit_events WHERE action = 'deploy.requested'")).one()
    d = details if isinstance(details, dict) else json.loads(details)
    assert d["instance"] == "pr-7"


def test_a_preview_is_an_environment_of_its_own_on_github(
        bot: RunningBot, local_github: FakeGitHub) -> None:
    open_pr(bot, 7, SHA7, delivery="d-7")
    assert deliver(bot, push_develop(), delivery="d-develop", event="push") == 200
    assert bot.container.runner.wait_idle()
    mirror = bot.container.github_mirror
    assert mirror is not None and mirror.wait_idle(10)
    # The Deployments API sees development-pr-7 next to development: a preview never shows
    # as what runs in development on the repository's Environments page.
    assert [d["environment"] for d in local_github.deployments] == [
        "development-pr-7", "development"]
    assert {body["environment"] for _, body in local_github.statuses} == {
        "development-pr-7", "development"}
