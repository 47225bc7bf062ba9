"""A service deployed by a GitHub Actions workflow (executor: github-actions, issue 6), over
signed Slack HTTP with a local fake GitHub API: `/deploy` dispatches the workflow once and
follows its run job by job in the card; a failed run fails the deployment naming the failed
job, its step and the run; a restarted runner follows the same run; `/rollback` runs the
rollback workflow with the version rolled back to, and so does an automatic rollback after a
failed watch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.domain.deployment import Kind
from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.actions import FakeActions, Workflow
from devtools.fake_slack import FakeSlack
from tests.conftest import REQUESTER, RunningBot, base_config, serve_bot
from tests.handlers.spine import (
    CHANNEL,
    announcements,
    audit_actions,
    blocks_text,
    request,
    run_to_end,
    updates_of,
    wait_dm,
)

TAGS = ["v1.3.0", "v1.2.4", "v1.2.3"]
RUN = "https://github.com/acme/api/actions/runs/"


class Killed(Exception):
    """The runner's process died (raised from its sleep)."""


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # a secret: from the environment only
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": TAGS})


@pytest.fixture
def actions(fake_github: FakeGitHub, clock: ManualClock) -> FakeActions:
    fake = FakeActions(fake_github, now=clock.now)
    fake.workflows["rollback.yml"] = Workflow(
        "Roll back", ("environment", "version", "deploybot_run"),
        "Roll back {environment} to {version} ({deploybot_run})", jobs=("rollback",))
    return fake


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "github-actions", "github": {
            "repository": "acme/api",
            "actions": {"workflow": "deploy.yml", "rollback_workflow": "rollback.yml",
                        "timeout": "30m", "poll_every": "10s"}}}},
        github={"api_url": fake_github.url})


class Ticks:
    """The runner's sleep: time passes on the manual clock and the workflow moves on; told
    to, it kills the runner (raises) at its `die_at`th call."""

    def __init__(self, clock: ManualClock, actions: FakeActions) -> None:
        self.clock, self.actions = clock, actions
        self.calls = 0
        self.die_at: int | None = None

    def __call__(self, seconds: float) -> None:
        self.calls += 1
        if self.calls == self.die_at:
            self.die_at = None
            raise Killed
        self.clock.advance(timedelta(seconds=seconds))
        self.actions.advance()


@pytest.fixture
def ticks(clock: ManualClock, actions: FakeActions) -> Ticks:
    return Ticks(clock, actions)


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        ticks: Ticks) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock, sleep=ticks) as running:
        yield running


def card_updates(bot: RunningBot, deployment_id: int) -> list[str]:
    ts = bot.deployment(deployment_id).message_ts
    assert ts is not None
    return [blocks_text(c.args) for c in updates_of(bot, ts)]


def test_a_deploy_runs_the_workflow_once_and_shows_its_jobs_and_run_in_the_card(
        bot: RunningBot, actions: FakeActions) -> None:
    d = request(bot, "staging v1.2.3")
    assert run_to_end(bot, d) is State.SUCCEEDED

    assert actions.dispatches == [("acme/api", "deploy.yml", {
        "ref": "main", "inputs": {"environment": "staging", "version": "v1.2.3",
                                  "deploybot_run": f"deploybot-{d}-v1.2.3"}})]
    run = actions.runs[0]
    assert run.conclusion == "success"
    shown = "\n".join(card_updates(bot, d))
    for line in ("build ⏳ in progress", "build ✅", "deploy ⏳ in progress", "deploy ✅",
                 "deploy.yml succeeded"):
        assert f"{line} · run #1 {RUN}{run.id}" in shown, line
    announced = blocks_text(announcements(bot)[-1])
    assert "✅ *api `v1.2.3` is live in staging*" in announced
    # Which run deployed it stays with the result: on the announcement and the final card.
    assert f"deploy.yml run #1: {RUN}{run.id}" in announced
    assert f"deploy.yml run #1: {RUN}{run.id}" in blocks_text(bot.card(d))
    # What runs there is read from GitHub: the last successful run naming staging.
    seen = bot.container.cluster.observe("staging", "api")
    assert seen is not None
    assert (seen.version, seen.deployment_id, seen.image) == ("v1.2.3", d, f"{RUN}{run.id}")


def test_a_failed_run_fails_the_deploy_naming_the_job_the_step_and_the_run(
        bot: RunningBot, actions: FakeActions) -> None:
    actions.fail = {"deploy": "Roll out"}
    d = request(bot, "staging v1.2.3")
    assert run_to_end(bot, d) is State.FAILED

    run = actions.runs[0]
    cause = (f"workflow run #1 of deploy.yml ended failure: failed jobs: deploy (failure at "
             f"step 'Roll out') — {RUN}{run.id}")
    assert bot.deployment(d).error == cause
    assert cause in blocks_text(bot.card(d))
    assert cause in blocks_text(announcements(bot)[-1])
    assert "build ✅" in "\n".join(card_updates(bot, d))
    assert len(actions.dispatches) == 1


def test_a_runner_killed_mid_run_is_resumed_and_follows_the_same_run(
        bot: RunningBot, actions: FakeActions, ticks: Ticks, config: AppConfig,
        database_url: str, fake_slack: FakeSlack, clock: ManualClock) -> None:
    ticks.die_at = 3  # the run was found; its first job runs
    d = request(bot, "staging v1.2.3")
    assert bot.container.runner.wait_idle()
    assert bot.deployment(d).state is State.RUNNING  # left behind, its lease running out
    assert actions.runs[0].status == "in_progress"

    clock.advance(bot.container.config.runner.lease + timedelta(seconds=1))
    with serve_bot(config, database_url, fake_slack, clock,
                   sleep=ticks) as other:  # another process
        assert other.container.runner.resume() == 1
        assert other.container.runner.wait_idle()
    assert bot.deployment(d).state is State.SUCCEEDED
    assert len(actions.dispatches) == 1
    assert actions.runs[0].conclusion == "success"
    assert "deploy.resumed" in audit_actions(bot, d)
    assert f"found run #1 of deploy.yml again: {RUN}{actions.runs[0].id}" in \
        "\n".join(card_updates(bot, d))


def test_rollback_runs_the_rollback_workflow_with_the_earlier_version(
        bot: RunningBot, actions: FakeActions) -> None:
    for version in ("v1.2.3", "v1.3.0"):
        assert run_to_end(bot, request(bot, f"staging {version}")) is State.SUCCEEDED

    reply = bot.requester.command("/rollback", "staging", user_id=REQUESTER)
    (answer,) = bot.requester.response_posts(reply)
    assert "back from `v1.3.0` to `v1.2.3`" in blocks_text(dict(answer.args))
    button = next(b["elements"][0] for b in answer.args["blocks"]
                  if b.get("block_id") == ids.ROLLBACK_BLOCK)
    clicked = bot.requester.click(user_id=REQUESTER, action_id=ids.ROLLBACK_CONFIRM,
                                  value=button["value"], channel_id=CHANNEL)
    (started,) = bot.requester.response_posts(clicked)
    assert "Rollback #3 started" in started.args["text"]
    wait_dm(bot, REQUESTER, count=3)
    assert bot.container.runner.wait_idle()

    rb = bot.deployment(3)
    assert (rb.kind, rb.version, rb.state) == (Kind.ROLLBACK, "v1.2.3", State.SUCCEEDED)
    assert [(w, body["inputs"]["version"]) for _, w, body in actions.dispatches] == [
        ("deploy.yml", "v1.2.3"), ("deploy.yml", "v1.3.0"), ("rollback.yml", "v1.2.3")]
    assert actions.runs[-1].title == "Roll back staging to v1.2.3 (deploybot-3-v1.2.3)"


@pytest.fixture
def health() -> Iterator[tuple[HTTPServer, list[int]]]:
    """The service's smoke URL: it answers the first status of the list."""
    server = HTTPServer(host="127.0.0.1")
    status = [200]
    server.expect_request("/healthz").respond_with_handler(
        lambda _request: Response("", status=status[0]))
    server.start()
    try:
        yield server, status
    finally:
        server.stop()


def test_a_failed_watch_rolls_back_automatically_through_the_rollback_workflow(
        config_data: dict[str, Any], health: tuple[HTTPServer, list[int]],
        database_url: str, fake_slack: FakeSlack, clock: ManualClock, ticks: Ticks,
        actions: FakeActions) -> None:
    server, status = health
    config_data["environments"]["staging"] = {"verify": {
        "bake": "0s", "auto_rollback": True,
        "smoke": [{"url": server.url_for("/healthz")}]}}
    with serve_bot(parse_config(config_data), database_url, fake_slack, clock,
                   sleep=ticks) as running:
        assert run_to_end(running, request(running, "staging v1.2.3")) is State.SUCCEEDED
        status[0] = 503
        bad = request(running, "staging v1.3.0")
        assert run_to_end(running, bad) is State.ROLLED_BACK
        d = running.deployment(bad)
    assert "rolled back to v1.2.3" in (d.error or "")
    assert [(w, body["inputs"]["version"], body["inputs"]["deploybot_run"])
            for _, w, body in actions.dispatches] == [
        ("deploy.yml", "v1.2.3", "deploybot-1-v1.2.3"),
        ("deploy.yml", "v1.3.0", "deploybot-2-v1.3.0"),
        ("rollback.yml", "v1.2.3", "deploybot-2-v1.2.3")]
    assert all(r.conclusion == "success" for r in actions.runs)
