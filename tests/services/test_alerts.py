"""AlertRouter on a real database (SQLite, or PostgreSQL from TEST_DATABASE_URL), the fake
Slack Web API and a local PagerDuty Events API endpoint (pytest-httpserver): each severity
goes where alerts.routes says; PagerDuty gets a trigger keyed by service and environment
and the resolve of the same key on recovery; a failing destination is retried with
backoff, bounded, and logged; each alert is routed once, whoever shows the deployment."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bot.backends.pagerduty import PagerDutyEvents
from bot.backends.slack import SlackNotifier, make_client
from bot.clock import ManualClock
from bot.config import AppConfig
from bot.domain.deployment import Deployment, Kind, NewDeployment
from bot.domain.locks import MANUAL, Lock
from bot.domain.states import State
from bot.ports import MessageRefs
from bot.presentation.lock_views import refusal_at_start
from bot.services.alerts import AlertRouter
from bot.store.db import Database
from devtools.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, WEDNESDAY, base_config
from tests.ended import ended

KEY = "R0UTINGKEY0000000000000000000000"
PATH = "/v2/enqueue"
ROUTES = {"critical": ["pagerduty", "slack:#ops-alerts"], "high": ["slack:#ops-alerts"],
          "medium": ["slack:#engineering"], "low": ["summary"]}


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config(alerts={"routes": ROUTES, "attempts": 3, "backoff": 0.01,
                               "email": {"to": ["ops@acme.test"], "from": "bot@acme.test"}})


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database.from_url(database_url)
    yield db
    db.dispose()


@pytest.fixture
def notifier(config: AppConfig, fake_slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(make_client(BOT_TOKEN, fake_slack.base_url), channel="C0DEPLOYS",
                         zone=config.zone)


class Routers:
    def __init__(self, config: AppConfig, notifier: SlackNotifier, clock: ManualClock,
                 pager_url: str) -> None:
        self.config, self.notifier, self.clock, self.url = config, notifier, clock, pager_url
        self.sleeps: list[float] = []
        self.made: list[AlertRouter] = []

    def make(self, database: Database, *, key: str | None = KEY) -> AlertRouter:
        router = AlertRouter(
            config=self.config.alerts, production=self.config.production_environments(),
            severity=self.config.announcements.severity.mapping, store=database,
            poster=self.notifier,
            pager=PagerDutyEvents(routing_key=key, events_url=self.url, timeout=5)
            if key else None,
            permalink=self.notifier.permalink, clock=self.clock, sleep=self.sleeps.append)
        self.made.append(router)
        return router


@pytest.fixture
def routers(config: AppConfig, notifier: SlackNotifier, clock: ManualClock,
            httpserver: HTTPServer) -> Iterator[Routers]:
    made = Routers(config, notifier, clock, httpserver.url_for(PATH))
    yield made
    for r in made.made:
        r.shutdown(timeout=2)


def accept(server: HTTPServer) -> None:
    server.expect_request(PATH, method="POST").respond_with_json(
        {"status": "success", "message": "Event processed"}, status=202)


def events(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in server.log]


def add(database: Database, state: State, environment: str = "production", *,
        kind: Kind = Kind.DEPLOY, version: str = "v1.2.3", error: str | None = None,
        at: datetime = WEDNESDAY) -> Deployment:
    """A deployment that ended (`state`) at `at`, with a card in the deployments channel."""
    with database.transaction() as r:
        d = ended(r, NewDeployment(
            service="api", environment=environment, version=version,
            previous_version="v1.2.2", state=state, requested_by="U0ALICE",
            requested_at=at - timedelta(minutes=10), approvals_required=0, expires_at=None,
            kind=kind), at=at, finished_at=at, error=error)
        r.deployments.record_messages(d.id, channel="C0DEPLOYS",
                                      message_ts=f"1700000000.{d.id:06d}", record_ts=None)
        got = r.deployments.get(d.id)
    assert got is not None
    return got


def posts(fake: FakeSlack, channel: str) -> list[str]:
    return [str(c.args["text"]) for c in fake.calls("chat.postMessage")
            if c.args.get("channel") == channel]


def test_a_critical_failure_pages_with_the_service_key_and_posts_to_ops_alerts(
        routers: Routers, database: Database, httpserver: HTTPServer,
        fake_slack: FakeSlack) -> None:
    accept(httpserver)
    d = add(database, State.FAILED, error="rollout failed: pods crash")
    sent = routers.make(database).route(d)
    assert sent == ["pagerduty", "slack:#ops-alerts"]
    (ev,) = events(httpserver)
    assert ev["event_action"] == "trigger" and ev["routing_key"] == KEY
    assert ev["dedup_key"] == "deploybot-production-api"
    assert ev["payload"]["severity"] == "critical"
    assert ev["payload"]["source"] == "deploybot"
    assert ev["payload"]["summary"] == (f"deploybot: Deploy #{d.id} of api v1.2.3 to production "
                                        "failed: rollout failed: pods crash")
    link = f"https://example.slack.com/archives/C0DEPLOYS/p1700000000{d.id:06d}"
    assert ev["links"] == [{"href": link, "text": "Slack thread"}]
    (text,) = posts(fake_slack, "#ops-alerts")
    assert text.startswith(f"🚨 *Critical* · Deploy #{d.id} of api v1.2.3 to production failed")
    assert "Cause: rollout failed: pods crash" in text and link in text


def test_each_alert_is_routed_once_whoever_shows_it(routers: Routers, database: Database,
                                                   database_url: str, httpserver: HTTPServer,
                                                   fake_slack: FakeSlack) -> None:
    accept(httpserver)
    d = add(database, State.FAILED, error="boom")
    other = Database.from_url(database_url)  # another process
    try:
        assert routers.make(database).route(d) == ["pagerduty", "slack:#ops-alerts"]
        assert routers.make(database).route(d) == []
        assert routers.make(other).route(d) == []
        # its record changing later (a rollback replaced it) raises nothing new
        assert routers.make(other).route(replace(d, state=State.ROLLED_BACK)) == []
    finally:
        other.dispose()
    assert len(events(httpserver)) == 1
    assert len(posts(fake_slack, "#ops-alerts")) == 1


def test_recovery_resolves_the_incident_with_the_same_key(
        routers: Routers, database: Database, httpserver: HTTPServer,
        fake_slack: FakeSlack) -> None:
    accept(httpserver)
    router = routers.make(database)
    failed = add(database, State.FAILED, error="boom")
    router.route(failed)
    fixed = add(database, State.SUCCEEDED, version="v1.2.4",
                at=WEDNESDAY + timedelta(hours=1))
    assert router.route(fixed) == ["pagerduty:resolve"]  # low: the summary, nothing posted
    trigger, resolve = events(httpserver)
    assert resolve == {"routing_key": KEY, "event_action": "resolve",
                       "dedup_key": trigger["dedup_key"]}
    # the next success has nothing left to resolve
    again = add(database, State.SUCCEEDED, version="v1.2.5", at=WEDNESDAY + timedelta(hours=2))
    assert router.route(again) == []
    assert len(events(httpserver)) == 2
    assert posts(fake_slack, "#ops-alerts") and not posts(fake_slack, "#engineering")


def test_a_successful_rollback_resolves_it_and_is_posted_as_high(
        routers: Routers, database: Database, httpserver: HTTPServer,
        fake_slack: FakeSlack) -> None:
    accept(httpserver)
    router = routers.make(database)
    router.route(add(database, State.FAILED, error="boom"))
    rollback = add(database, State.SUCCEEDED, kind=Kind.ROLLBACK, version="v1.2.2",
                   at=WEDNESDAY + timedelta(minutes=5))
    assert router.route(rollback) == ["slack:#ops-alerts", "pagerduty:resolve"]
    assert [e["event_action"] for e in events(httpserver)] == ["trigger", "resolve"]
    assert posts(fake_slack, "#ops-alerts")[-1].startswith(
        f"↩️ *High* · Rollback #{rollback.id}: api is back on v1.2.2 in production")


def test_pagerduty_answering_500_then_202_is_retried_with_backoff(
        routers: Routers, database: Database, httpserver: HTTPServer,
        caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_ordered_request(PATH).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(PATH).respond_with_json({"status": "success"},
                                                              status=202)
    d = add(database, State.FAILED, error="boom")
    with caplog.at_level(logging.WARNING, logger="bot.services.alerts"):
        assert routers.make(database).route(d) == ["pagerduty", "slack:#ops-alerts"]
    assert [e["event_action"] for e in events(httpserver)] == ["trigger", "trigger"]
    assert routers.sleeps == [0.01]
    assert "attempt 1 of 3, retrying" in caplog.text and "PagerDuty answered 500" in caplog.text


def test_pagerduty_down_is_given_up_after_the_attempts_and_slack_still_gets_it(
        routers: Routers, database: Database, httpserver: HTTPServer, fake_slack: FakeSlack,
        caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request(PATH).respond_with_data("down", status=503)
    d = add(database, State.FAILED, error="boom")
    with caplog.at_level(logging.WARNING, logger="bot.services.alerts"):
        assert routers.make(database).route(d) == ["slack:#ops-alerts"]
    assert len(httpserver.log) == 3  # alerts.attempts
    assert routers.sleeps == [0.01, 0.02]  # doubled each time
    assert "could not trigger a PagerDuty incident after 3 attempts" in caplog.text


def test_slack_failing_once_is_retried(routers: Routers, database: Database,
                                       fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", "service_unavailable")
    d = add(database, State.FAILED, "staging", error="rollout failed")  # medium
    assert routers.make(database).route(d) == ["slack:#engineering"]
    assert len(posts(fake_slack, "#engineering")) == 2  # the failed try, then the post
    assert fake_slack.messages("#engineering")[0]["text"].startswith(
        f"❌ *Medium* · Deploy #{d.id} of api v1.2.3 to staging failed")


def test_each_severity_goes_to_its_channel(routers: Routers, database: Database,
                                           httpserver: HTTPServer,
                                           fake_slack: FakeSlack) -> None:
    accept(httpserver)
    router = routers.make(database)
    lock = Lock(id=1, environment="production", service="api", holder="U0BOB",
                reason="db maintenance", origin=MANUAL, created_at=WEDNESDAY)
    blocked = add(database, State.CANCELLED, error=refusal_at_start(lock, WEDNESDAY))
    expired = add(database, State.EXPIRED)
    staging_failed = add(database, State.FAILED, "staging", error="rollout failed")
    assert router.route(blocked) == ["slack:#ops-alerts"]  # high
    assert router.route(expired) == ["slack:#engineering"]  # medium
    assert router.route(staging_failed) == ["slack:#engineering"]  # medium
    assert router.route(add(database, State.SUCCEEDED, "staging")) == []  # low: summary
    assert httpserver.log == []  # nothing critical
    (ops,) = posts(fake_slack, "#ops-alerts")
    assert f"Deploy #{blocked.id} of api v1.2.3 to production was blocked by a lock" in ops
    assert [t.split(" · ")[0] for t in posts(fake_slack, "#engineering")] == [
        "⌛ *Medium*", "❌ *Medium*"]


def test_without_a_routing_key_nothing_is_paged_and_it_is_logged(
        routers: Routers, database: Database, httpserver: HTTPServer,
        caplog: pytest.LogCaptureFixture) -> None:
    d = add(database, State.FAILED, error="boom")
    with caplog.at_level(logging.WARNING, logger="bot.services.alerts"):
        assert routers.make(database, key=None).route(d) == ["slack:#ops-alerts"]
    assert httpserver.log == []
    assert "PAGERDUTY_ROUTING_KEY is not set" in caplog.text


def test_the_watcher_never_holds_up_the_caller(routers: Routers, database: Database,
                                               httpserver: HTTPServer) -> None:
    answer = threading.Event()
    answered_when_told: list[bool] = []

    def held(request: Request) -> Response:  # PagerDuty answers once the test says so
        answered_when_told.append(answer.wait(30))
        return Response('{"status": "success"}', status=202,
                        content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(held)
    router = routers.make(database)
    d = add(database, State.FAILED, error="boom")
    try:
        # Told to answer only after deployment_changed returned: had it waited for the page,
        # the page would have been answered on the handler's own timeout instead.
        router.deployment_changed(d, MessageRefs("C0DEPLOYS", "1700000000.000001", None))
    finally:
        answer.set()
    assert router.wait_idle(timeout=5)
    assert answered_when_told == [True]
    assert len(httpserver.log) == 1
    # in flight: nothing queued, nothing claimed
    router.deployment_changed(replace(d, id=99, state=State.RUNNING), None)
    assert router.wait_idle(timeout=5)
    with database.transaction() as r:
        assert r.announcements.claimed(f"alert:{d.id}")
        assert not r.announcements.claimed("alert:99")
