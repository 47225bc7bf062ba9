"""GET /metrics after real work: deploys requested, approved and rolled out over signed
Slack HTTP, the ack latency of those requests, and the lag of scheduled jobs that ran or
were missed. Each container has its own registry; labels stay bounded."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client.parser import text_string_to_metric_families

from bot.config import AppConfig
from bot.container import build_container
from bot.domain.states import State
from bot.metrics import DeploybotMetrics, slack_request_labels
from bot.presentation import ids
from bot.scheduling.lag import watch_lag
from bot.scheduling.scheduler import build_scheduler
from devtools.fake_slack import FakeSlack
from tests.conftest import APPROVER, BOT_TOKEN, REQUESTER, RunningBot
from tests.handlers.spine import click_reply, request, run_to_end

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(bot: RunningBot) -> tuple[str, Samples]:
    with urllib.request.urlopen(f"{bot.server.url}/metrics", timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    return text, parse(text)


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


def test_a_production_deploy_shows_in_the_counter_and_histograms(bot: RunningBot) -> None:
    deployment_id = request(bot, "production v1.2.3")
    bot.clock.advance(timedelta(minutes=5))  # the approver takes five minutes
    click_reply(bot, deployment_id, APPROVER)
    assert run_to_end(bot, deployment_id) is State.SUCCEEDED

    text, samples = scrape(bot)
    assert value(samples, "deploybot_deployments_total",
                 environment="production", result="succeeded") == 1
    assert value(samples, "deploybot_deployments_total",
                 environment="staging", result="succeeded") == 0
    # requested → approved: five minutes on the bot's clock.
    assert value(samples, "deploybot_approval_wait_seconds_count", environment="production") == 1
    assert value(samples, "deploybot_approval_wait_seconds_sum", environment="production") \
        == pytest.approx(300)
    assert value(samples, "deploybot_approval_wait_seconds_bucket", environment="production",
                 le="600.0") == 1
    assert value(samples, "deploybot_approval_wait_seconds_bucket", environment="production",
                 le="120.0") == 0
    assert value(samples, "deploybot_rollout_duration_seconds_count",
                 environment="production", result="succeeded") == 1
    # The acks of the slash command and of the click, measured where they were answered.
    assert value(samples, "deploybot_slack_ack_seconds_count",
                 kind="command", name=ids.DEPLOY_COMMAND) >= 1
    assert value(samples, "deploybot_slack_ack_seconds_count",
                 kind="block_actions", name=ids.APPROVE) == 1
    ack_sum = value(samples, "deploybot_slack_ack_seconds_sum",
                    kind="block_actions", name=ids.APPROVE)
    assert 0 < ack_sum < 3
    # Bounded labels: no user ids, versions or deployment ids.
    for unbounded in (REQUESTER, APPROVER, "v1.2.3", 'id="'):
        assert unbounded not in text


def test_a_failed_rollout_counts_as_failed(bot: RunningBot) -> None:
    deployment_id = request(bot, "staging v1.2.4-bad")
    assert run_to_end(bot, deployment_id) is State.FAILED
    _, samples = scrape(bot)
    assert value(samples, "deploybot_deployments_total",
                 environment="staging", result="failed") == 1
    assert value(samples, "deploybot_rollout_duration_seconds_count",
                 environment="staging", result="failed") == 1
    # No approval in staging: nothing waited.
    assert value(samples, "deploybot_approval_wait_seconds_count", environment="staging") == 0


def test_rejected_and_expired_requests_are_results_too(bot: RunningBot) -> None:
    rejected = request(bot, "production v1.2.3")
    assert "rejected" in click_reply(bot, rejected, APPROVER, approve=False).lower()
    expired = request(bot, "production v1.2.4")
    bot.clock.advance(timedelta(hours=2, seconds=1))  # past the approval's expires_after
    assert bot.container.deployments.expire_due(at=bot.clock.now()) == [expired]
    _, samples = scrape(bot)
    assert value(samples, "deploybot_deployments_total",
                 environment="production", result="rejected") == 1
    assert value(samples, "deploybot_deployments_total",
                 environment="production", result="expired") == 1
    assert value(samples, "deploybot_rollout_duration_seconds_count",
                 environment="production", result="rejected") == 0  # nothing rolled out


def test_unknown_slack_names_are_labelled_other() -> None:
    assert slack_request_labels({"command": "/deploy"}, 200) == ("command", "/deploy")
    assert slack_request_labels({"command": "/U0ALICE-was-here"}, 200) == ("command", "other")
    assert slack_request_labels(
        {"type": "block_actions", "actions": [{"action_id": ids.APPROVE}]}, 200) \
        == ("block_actions", ids.APPROVE)
    assert slack_request_labels(
        {"type": "block_actions", "actions": [{"action_id": "v1.2.3"}]}, 200) \
        == ("block_actions", "other")
    assert slack_request_labels(
        {"type": "event_callback", "event": {"type": ids.APP_HOME_OPENED}}, 200) \
        == ("event", ids.APP_HOME_OPENED)
    assert slack_request_labels({"command": "/deploy"}, 401) == ("rejected", "-")
    # Signed but malformed (handlers.payloads) or too large: refused, not counted as clicks.
    assert slack_request_labels({"type": "block_actions", "actions": 5}, 400) == (
        "rejected", "-")
    assert slack_request_labels({}, 413) == ("rejected", "-")


def test_environments_outside_the_config_are_other() -> None:
    m = DeploybotMetrics(environments=["staging"])
    m.deployment_finished("staging", "succeeded")
    m.deployment_finished("U0ALICE's laptop", "succeeded")
    samples = parse(m.render()[0].decode())
    assert value(samples, "deploybot_deployments_total",
                 environment="staging", result="succeeded") == 1
    assert value(samples, "deploybot_deployments_total",
                 environment="other", result="succeeded") == 1


def test_two_containers_in_one_process_keep_their_own_registries(
        config: AppConfig, database_url: str, fake_slack: FakeSlack, bot: RunningBot) -> None:
    other = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                            slack_api_url=fake_slack.base_url, clock=bot.clock)
    try:
        other.metrics.deployment_finished("staging", "succeeded")
        assert value(parse(other.metrics.render()[0].decode()), "deploybot_deployments_total",
                     environment="staging", result="succeeded") == 1
        _, samples = scrape(bot)
        assert value(samples, "deploybot_deployments_total",
                     environment="staging", result="succeeded") == 0
    finally:
        other.close()


def noop() -> None:
    return None


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    s = BackgroundScheduler(timezone=UTC)
    yield s
    if s.running:
        s.shutdown(wait=True)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_scheduler_lag_is_recorded_when_a_job_runs_and_when_one_is_missed(
        scheduler: BackgroundScheduler) -> None:
    metrics = DeploybotMetrics()
    watch_lag(scheduler, metrics, expected=["announce", "expire-locks"])
    scheduler.start()
    now = datetime.now(UTC)
    # Due now: runs at once, a little late.
    scheduler.add_job(noop, "date", run_date=now, id="announce")
    # Due 20 s ago with 1 s of grace: given up, 20 s late.
    scheduler.add_job(noop, "date", run_date=now - timedelta(seconds=20), id="expire-locks",
                      misfire_grace_time=1)
    # Not a job the bot knows: its label is "other".
    scheduler.add_job(noop, "date", run_date=now, id="someone-elses-job")

    def samples() -> Samples:
        return parse(metrics.render()[0].decode())

    wait_for(lambda: value(samples(), "deploybot_scheduler_jobs_total",
                           job="announce", outcome="executed") == 1
             and value(samples(), "deploybot_scheduler_jobs_total",
                       job="expire-locks", outcome="missed") == 1
             and value(samples(), "deploybot_scheduler_jobs_total",
                       job="other", outcome="executed") == 1)
    s = samples()
    assert value(s, "deploybot_scheduler_lag_seconds_count", job="announce",
                 outcome="executed") == 1
    assert 0 <= value(s, "deploybot_scheduler_lag_seconds_sum", job="announce",
                      outcome="executed") < 5
    assert value(s, "deploybot_scheduler_lag_seconds_count", job="expire-locks",
                 outcome="missed") == 1
    assert value(s, "deploybot_scheduler_lag_seconds_sum", job="expire-locks",
                 outcome="missed") >= 20
    assert value(s, "deploybot_scheduler_lag_seconds_count", job="expire-locks",
                 outcome="executed") == 0


def test_the_bots_scheduler_reports_to_the_containers_metrics(bot: RunningBot) -> None:
    scheduler = build_scheduler(bot.container)
    scheduler.start()
    try:
        scheduler.modify_job("expire-locks", next_run_time=datetime.now(UTC))
        wait_for(lambda: value(scrape(bot)[1], "deploybot_scheduler_jobs_total",
                               job="expire-locks", outcome="executed") == 1)
        _, samples = scrape(bot)
        assert value(samples, "deploybot_scheduler_lag_seconds_count",
                     job="expire-locks", outcome="executed") == 1
    finally:
        scheduler.shutdown(wait=True)
