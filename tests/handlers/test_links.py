"""A service's links (issue 16) end to end, over signed Slack HTTP with the fake Slack Web
API, a local PagerDuty Events API endpoint (pytest-httpserver) and a real local SMTP server:
the dashboard, runbook, logs and named links of app.yaml, with {service}, {environment}
and {version} filled in (URL-encoded), on the approval card, in the record's
post-deployment section, in the failure announcement, in the PagerDuty trigger's `links`,
in the alert channel's message and in the daily summary email. Deploys run on the simulated
cluster: versions ending in -bad fail mid-rollout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from bot.domain.states import State
from bot.presentation import ids
from bot.scheduling import jobs
from tests.backends.fake_smtp import FakeSmtp
from tests.conftest import APPROVER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    blocks_text,
    click_reply,
    ephemeral_text,
    request,
    thread_replies,
)

KEY = "R0UTINGKEY0000000000000000000000"
PATH = "/v2/enqueue"
NY = ZoneInfo("America/New_York")

# A `|` in the template itself: Slack's link needs it percent-encoded, PagerDuty gets it
# as it is (JSON).
DASHBOARD = ("https://grafana.acme.test/d/deploys?var-service={service}&var-env={environment}"
             "&panel=errors|latency")
LINKS = {"runbook": "https://runbooks.internal.com/{service}",
         "logs": "https://logs.acme.test/search?q=version:{version}",
         "error_budget": "https://slo.acme.test/{environment}/{service}"}
# "+" and "/" in a version: URL-encoded where {version} goes (-bad: the rollout fails)
BAD = "v1.2.3+build.7-bad"


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def config_data(httpserver: HTTPServer, smtp: FakeSmtp,
                monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", KEY)
    for name, value in smtp.env().items():
        monkeypatch.setenv(name, value)
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_SSL"):
        monkeypatch.delenv(name, raising=False)
    return base_config(
        environments={
            "staging": {"links": {"dashboard": "https://grafana.acme.test/d/staging"
                                               "?var-service={service}"}},
            "production": {"approval": {"required": 1, "approvers": ["approvers"]},
                           "links": {"dashboard": DASHBOARD,
                                     "runbook": "https://wiki.acme.test/prod-runbook"}},
        },
        services={"api": {"executor": "simulated", "links": LINKS}},
        alerts={"routes": {"critical": ["pagerduty", "slack:#ops-alerts"],
                           "high": ["slack:#ops-alerts"], "low": ["summary"]},
                "pagerduty": {"events_url": httpserver.url_for(PATH)},
                "attempts": 2, "backoff": 0.01,
                "email": {"to": ["team@acme.test"], "from": "deploybot@acme.test",
                          "send_at": "17:00"}})


def routed(bot: RunningBot) -> None:
    assert bot.container.runner.wait_idle()
    assert bot.container.alerts is not None
    assert bot.container.alerts.wait_idle(10)


def slack_line(version: str, environment: str = "production") -> str:
    """The links as the Slack messages show them: the environment's dashboard, the
    service's runbook (over the environment's), logs, then error_budget."""
    return ("<https://grafana.acme.test/d/deploys?var-service=api&amp;var-env=production"
            "&amp;panel=errors%7Clatency|Dashboard> · "
            "<https://runbooks.internal.com/api|Runbook> · "
            f"<https://logs.acme.test/search?q=version:{version}|Logs> · "
            f"<https://slo.acme.test/{environment}/api|Error budget>")


BAD_ENCODED = "v1.2.3%2Bbuild.7-bad"


def test_a_failed_production_deploy_carries_its_links_on_every_surface(
        bot: RunningBot, httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"status": "success", "message": "Event processed"}, status=202)
    i = request(bot, f"production {BAD}")

    # the approval card, under what it deploys
    card = bot.card(i)
    (links_block,) = [b for b in card["blocks"] if b.get("block_id") == ids.LINKS_BLOCK]
    assert links_block["elements"][0]["text"] == "🔗 " + slack_line(BAD_ENCODED)
    assert [b["block_id"] for b in card["blocks"] if "block_id" in b].index(
        ids.LINKS_BLOCK) < [b.get("block_id") for b in card["blocks"]].index(
        ids.APPROVAL_BLOCK)

    assert "starting now" in click_reply(bot, i, APPROVER)
    routed(bot)
    d = bot.deployment(i)
    assert d.state is State.FAILED and d.message_ts is not None

    # the record: its post-deployment section ends with them
    (record,) = [m for m in thread_replies(bot, d.message_ts)
                 if str(m["text"]).startswith("Deployment record")]
    text = blocks_text(record)
    post = text.split("*Post-deployment*\n", 1)[1].split("\n\nDuration:")[0]
    assert post.endswith("🔗 *Monitor* (the first 5 minutes are critical): "
                         + slack_line(BAD_ENCODED))

    # the failure announcement: beside the thread's link
    thread = f"https://example.slack.com/archives/{d.channel}/p{d.message_ts.replace('.', '')}"
    (ann,) = announcements(bot)
    assert f"<{thread}|Deployment thread> · {slack_line(BAD_ENCODED)}" in blocks_text(ann)

    # PagerDuty: the thread first, then each link with its label, as it is (no mrkdwn)
    (trigger,) = [json.loads(req.get_data()) for req, _ in httpserver.log]
    assert trigger["event_action"] == "trigger"
    assert trigger["links"] == [
        {"href": thread, "text": "Slack thread"},
        {"href": "https://grafana.acme.test/d/deploys?var-service=api&var-env=production"
                 "&panel=errors|latency", "text": "Dashboard"},
        {"href": "https://runbooks.internal.com/api", "text": "Runbook"},
        {"href": f"https://logs.acme.test/search?q=version:{BAD_ENCODED}", "text": "Logs"},
        {"href": "https://slo.acme.test/production/api", "text": "Error budget"},
    ]

    # the alert channel's message
    (ops,) = bot.slack.messages("#ops-alerts")
    assert str(ops["text"]).endswith(
        f"<{thread}|Deployment thread> · {slack_line(BAD_ENCODED)}")


def test_a_success_shows_them_on_its_card_and_record_and_the_daily_summary_lists_them(
        bot: RunningBot, smtp: FakeSmtp) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    routed(bot)
    d = bot.deployment(1)
    assert d.state is State.SUCCEEDED and d.message_ts is not None
    staging = ("<https://grafana.acme.test/d/staging?var-service=api|Dashboard> · "
               "<https://runbooks.internal.com/api|Runbook> · "
               "<https://logs.acme.test/search?q=version:v1.2.3|Logs> · "
               "<https://slo.acme.test/staging/api|Error budget>")
    assert f"🔗 {staging}" in blocks_text(bot.card(1))
    (record,) = [m for m in thread_replies(bot, d.message_ts)
                 if str(m["text"]).startswith("Deployment record")]
    assert f"🔗 *Monitor* (the first 5 minutes are critical): {staging}" in \
        blocks_text(record)
    (ann,) = announcements(bot)  # a success's announcement stays short
    assert "Runbook" not in blocks_text(ann)
    assert bot.slack.messages("#ops-alerts") == []  # low: the summary only

    jobs.register_instance(bot.container)
    try:
        bot.clock.set(datetime(2026, 11, 18, 17, 0, tzinfo=NY))
        assert jobs.send_daily_summary(bot.container.instance) == 1
    finally:
        jobs.unregister_instance(bot.container.instance)
    (mail,) = smtp.messages
    assert ("Low-severity events (1):\n"
            "  [low] api v1.2.3 is live in staging (#1)\n"
            "      Dashboard: https://grafana.acme.test/d/staging?var-service=api\n"
            "      Runbook: https://runbooks.internal.com/api\n"
            "      Logs: https://logs.acme.test/search?q=version:v1.2.3\n"
            "      Error budget: https://slo.acme.test/staging/api\n") in mail.body


def test_a_deploy_a_lock_refused_has_no_version_so_no_link_needing_one(
        bot: RunningBot) -> None:
    lock = bot.requester.command("/lock", 'production api "checkout errors"', user_id=APPROVER)
    assert ephemeral_text(bot, lock).startswith("🔒 You locked api in production")
    assert ephemeral_text(bot, bot.deploy("production v1.2.3")).startswith(
        "🔒 api in production is locked by")
    routed(bot)
    (ops,) = bot.slack.messages("#ops-alerts")
    assert str(ops["text"]).startswith(f"🔒 *High* · Deploy of api to production by "
                                       f"<@{REQUESTER}> was blocked by a lock")
    assert str(ops["text"]).endswith(
        "<https://grafana.acme.test/d/deploys?var-service=api&amp;var-env=production"
        "&amp;panel=errors%7Clatency|Dashboard> · <https://runbooks.internal.com/api|Runbook>"
        " · <https://slo.acme.test/production/api|Error budget>")
