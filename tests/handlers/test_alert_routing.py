"""Alert routing by severity end to end (issue 7), over signed Slack HTTP with the fake
Slack Web API, a local PagerDuty Events API endpoint (pytest-httpserver) and a real local
SMTP server (aiosmtpd): a failed production deploy pages on-call (trigger, keyed by service
and environment, linked to the Slack thread) and the next good deploy resolves it; medium
alerts go to #engineering; PagerDuty failing is retried and never changes how a deployment
ends; the daily summary is emailed once at its time, whichever process runs the job.
Deploys run on the simulated cluster: versions ending in -bad fail mid-rollout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from bot.config import AppConfig
from bot.container import build_container
from bot.domain.deployment import NewDeployment
from bot.domain.states import State
from bot.scheduling import jobs
from tests.backends.fake_smtp import FakeSmtp
from tests.conftest import APPROVER, BOT_TOKEN, REQUESTER, RunningBot, base_config
from tests.handlers.spine import announcements, click_reply, ephemeral_text, request

KEY = "R0UTINGKEY0000000000000000000000"
PATH = "/v2/enqueue"
NY = ZoneInfo("America/New_York")


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def config_data(httpserver: HTTPServer, smtp: FakeSmtp,
                monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # Secrets and servers from the environment, as in production.
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", KEY)
    for name, value in smtp.env().items():
        monkeypatch.setenv(name, value)
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_SSL"):
        monkeypatch.delenv(name, raising=False)
    return base_config(alerts={
        "routes": {"critical": ["pagerduty", "slack:#ops-alerts"],
                   "high": ["slack:#ops-alerts"], "medium": ["slack:#engineering"],
                   "low": ["summary"]},
        "pagerduty": {"events_url": httpserver.url_for(PATH)},
        "attempts": 3, "backoff": 0.01,
        "email": {"to": ["team@acme.test"], "from": "deploybot@acme.test",
                  "send_at": "17:00"}})


def accept(server: HTTPServer) -> None:
    server.expect_request(PATH, method="POST").respond_with_json(
        {"status": "success", "message": "Event processed"}, status=202)


def pager_events(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in server.log]


def routed(bot: RunningBot) -> None:
    assert bot.container.runner.wait_idle()
    assert bot.container.alerts is not None
    assert bot.container.alerts.wait_idle(10)


def posted(bot: RunningBot, channel: str) -> list[str]:
    return [str(m["text"]) for m in bot.slack.messages(channel)]


def deploy_production(bot: RunningBot, version: str) -> int:
    i = request(bot, f"production {version}")
    assert "starting now" in click_reply(bot, i, APPROVER)
    routed(bot)
    return i


def test_a_failed_production_deploy_pages_and_the_next_good_one_resolves(
        bot: RunningBot, httpserver: HTTPServer) -> None:
    accept(httpserver)
    bad = deploy_production(bot, "v1.2.3-bad")
    assert bot.deployment(bad).state is State.FAILED
    (trigger,) = pager_events(httpserver)
    d = bot.deployment(bad)
    assert d.message_ts is not None
    thread = f"https://example.slack.com/archives/{d.channel}/p{d.message_ts.replace('.', '')}"
    assert trigger["event_action"] == "trigger" and trigger["routing_key"] == KEY
    assert trigger["dedup_key"] == "deploybot-production-api"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"].startswith(
        f"deploybot: Deploy #{bad} of api v1.2.3-bad to production failed")
    assert trigger["links"] == [{"href": thread, "text": "Slack thread"}]
    (ops,) = posted(bot, "#ops-alerts")
    assert ops.startswith(f"🚨 *Critical* · Deploy #{bad} of api v1.2.3-bad to production")
    assert thread in ops

    good = deploy_production(bot, "v1.2.4")
    assert bot.deployment(good).state is State.SUCCEEDED
    assert pager_events(httpserver)[1:] == [{"routing_key": KEY, "event_action": "resolve",
                                             "dedup_key": "deploybot-production-api"}]
    assert len(posted(bot, "#ops-alerts")) == 1  # low: only the summary has it


def test_pagerduty_answering_500_then_202_is_retried_and_the_deployment_is_unaffected(
        bot: RunningBot, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(PATH).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(PATH).respond_with_json({"status": "success"},
                                                              status=202)
    bad = deploy_production(bot, "v1.2.3-bad")
    assert [e["event_action"] for e in pager_events(httpserver)] == ["trigger", "trigger"]
    assert pager_events(httpserver)[0] == pager_events(httpserver)[1]  # the same event
    d = bot.deployment(bad)
    assert d.state is State.FAILED and d.error is not None
    assert d.error.startswith("simulated failure")
    (ann,) = announcements(bot)  # the result is announced as always
    assert "failed" in ann["text"]


def test_pagerduty_down_never_holds_up_or_fails_a_deployment(
        bot: RunningBot, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("down", status=503)
    bad = deploy_production(bot, "v1.2.3-bad")
    assert bot.deployment(bad).state is State.FAILED
    assert len(httpserver.log) == 3  # alerts.attempts, then given up (logged)
    assert len(posted(bot, "#ops-alerts")) == 1  # the other destination still got it
    good = deploy_production(bot, "v1.2.4")
    assert bot.deployment(good).state is State.SUCCEEDED


def test_medium_alerts_go_to_engineering(bot: RunningBot, httpserver: HTTPServer) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3-bad"))  # a staging failure: medium
    routed(bot)
    expiring = request(bot, "production v1.2.3")
    bot.clock.advance(timedelta(hours=2, seconds=1))
    assert bot.container.deployments.expire_due(at=bot.clock.now()) == [expiring]
    routed(bot)
    staging, expired = posted(bot, "#engineering")
    assert staging.startswith("❌ *Medium* · Deploy #1 of api v1.2.3-bad to staging failed")
    assert expired.startswith(f"⌛ *Medium* · Deploy #{expiring} of api v1.2.3 to "
                              "production expired")
    assert httpserver.log == [] and posted(bot, "#ops-alerts") == []


def test_the_daily_summary_is_emailed_once_at_its_time(
        bot: RunningBot, smtp: FakeSmtp, config: AppConfig, database_url: str) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    routed(bot)
    ephemeral_text(bot, bot.deploy("staging v1.2.4-bad"))
    routed(bot)
    jobs.register_instance(bot.container)
    try:
        assert jobs.send_daily_summary(bot.container.instance) == 0  # 10:00: not yet
        bot.clock.set(datetime(2026, 11, 18, 17, 0, tzinfo=NY))
        assert jobs.send_daily_summary(bot.container.instance) == 1
        assert jobs.send_daily_summary(bot.container.instance) == 0  # run again
    finally:
        jobs.unregister_instance(bot.container.instance)
    other = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                            slack_api_url=bot.slack.base_url, clock=bot.clock)
    try:  # another process, on the same database
        assert other.summary is not None
        assert other.summary.send_due(at=bot.clock.now() + timedelta(minutes=1)) is None
    finally:
        other.close()
    (mail,) = smtp.messages
    assert mail.recipients == ("team@acme.test",)
    assert mail.message["Subject"] == "deploybot daily summary — Wed 18 Nov 2026: " \
                                      "2 deployments"
    assert "staging: 2 deployments, 1 succeeded, 1 failed" in mail.body
    assert "  #1 Wed 10:00 api deploy v1.2.3: succeeded (by U0ALICE)" in mail.body
    assert "  #2 Wed 10:00 api deploy v1.2.4-bad: failed (by U0ALICE) — simulated failure" \
        in mail.body
    assert "production: no deployments" in mail.body
    assert "Low-severity events (1):\n  [low] api v1.2.3 is live in staging (#1)" in mail.body


def test_a_deploy_blocked_by_a_lock_is_high_and_goes_to_ops_alerts_once(
        bot: RunningBot, httpserver: HTTPServer) -> None:
    lock = bot.requester.command("/lock", 'production api "checkout errors"', user_id=APPROVER)
    assert ephemeral_text(bot, lock).startswith("🔒 You locked api in production")
    for _ in range(2):  # asking again is not news
        assert ephemeral_text(bot, bot.deploy("production v1.2.3")).startswith(
            "🔒 api in production is locked by")
    routed(bot)
    (ops,) = posted(bot, "#ops-alerts")
    assert ops.startswith(f"🔒 *High* · Deploy of api to production by <@{REQUESTER}> was "
                          "blocked by a lock")
    assert "Cause: api in production is locked by" in ops
    # queued before the lock, cancelled by the runner when it came to start it
    with bot.container.database.transaction() as r:
        queued = r.deployments.add(NewDeployment(
            service="api", environment="production", version="v1.2.4",
            previous_version="v1.2.2", state=State.QUEUED, requested_by=REQUESTER,
            requested_at=bot.clock.now(), approvals_required=0, expires_at=None))
    bot.container.runner.run_one(queued.id)
    routed(bot)
    assert bot.deployment(queued.id).state is State.CANCELLED
    assert posted(bot, "#ops-alerts")[1].startswith(
        f"🔒 *High* · Deploy #{queued.id} of api v1.2.4 to production was blocked by a lock")
    assert httpserver.log == []
