"""The PagerDuty backend against a local Events API v2 endpoint (pytest-httpserver): the
trigger and resolve bodies as PagerDuty documents them, and how each answer is classified."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.backends.pagerduty import PagerDutyEvents
from bot.domain.alerts import PagerEvent, resolve_event
from bot.errors import PermanentError, RetryableError
from tests.backends.fake_smtp import free_port

KEY = "R0UTINGKEY0000000000000000000000"
PATH = "/v2/enqueue"
TRIGGER = PagerEvent(
    action="trigger", dedup_key="deploybot-production-api",
    summary="deploybot: Deploy #7 of api v1.2.3 to production failed", source="deploybot",
    severity="critical", component="api", group="production",
    event_class="production_failed", timestamp=datetime(2026, 11, 18, 15, 6, tzinfo=UTC),
    links=(("https://acme.slack.com/archives/C0DEPLOYS/p1", "Slack thread"),),
    details={"deployment": "#7", "error": "boom"})


def pager(server: HTTPServer) -> PagerDutyEvents:
    return PagerDutyEvents(routing_key=KEY, events_url=server.url_for(PATH), timeout=5)


def bodies(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in server.log]


def accepted(server: HTTPServer) -> None:
    server.expect_request(PATH, method="POST").respond_with_json(
        {"status": "success", "message": "Event processed", "dedup_key": "x"}, status=202)


def test_a_trigger_is_posted_as_the_events_api_documents_it(httpserver: HTTPServer) -> None:
    accepted(httpserver)
    pager(httpserver).send(TRIGGER)
    (body,) = bodies(httpserver)
    assert body == {
        "routing_key": KEY, "event_action": "trigger",
        "dedup_key": "deploybot-production-api", "client": "deploybot",
        "payload": {"summary": "deploybot: Deploy #7 of api v1.2.3 to production failed",
                    "source": "deploybot", "severity": "critical", "component": "api",
                    "group": "production", "class": "production_failed",
                    "timestamp": "2026-11-18T15:06:00+00:00",
                    "custom_details": {"deployment": "#7", "error": "boom"}},
        "links": [{"href": "https://acme.slack.com/archives/C0DEPLOYS/p1",
                   "text": "Slack thread"}],
    }
    (req, _), = httpserver.log
    assert req.headers["Content-Type"] == "application/json"


def test_a_resolve_names_only_the_key(httpserver: HTTPServer) -> None:
    accepted(httpserver)
    pager(httpserver).send(resolve_event("production", "api"))
    assert bodies(httpserver) == [{"routing_key": KEY, "event_action": "resolve",
                                   "dedup_key": "deploybot-production-api"}]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_server_error_or_throttling_is_retryable(httpserver: HTTPServer,
                                                   status: int) -> None:
    httpserver.expect_request(PATH).respond_with_data("oops", status=status)
    with pytest.raises(RetryableError, match=f"PagerDuty answered {status}"):
        pager(httpserver).send(TRIGGER)


def test_a_refused_event_is_permanent(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        {"status": "invalid event", "errors": ["'routing_key' is invalid"]}, status=400)
    with pytest.raises(PermanentError, match="routing_key"):
        pager(httpserver).send(TRIGGER)


def test_pagerduty_unreachable_is_retryable() -> None:
    events = PagerDutyEvents(routing_key=KEY,
                             events_url=f"http://127.0.0.1:{free_port()}{PATH}", timeout=2)
    with pytest.raises(RetryableError, match="unreachable"):
        events.send(TRIGGER)
