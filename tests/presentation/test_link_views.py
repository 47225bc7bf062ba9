"""bot.presentation.link_views: a link as Slack mrkdwn `<url|text>` — `&` as `&amp;`, and
`|`, `<`, `>` percent-encoded so that none ends the URL or the link early — and as plain
`Label: URL` lines for the email; and where the card, the record and a failure's
announcement show them (valid Block Kit as slack_sdk reads it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from bot.domain.deployment import Deployment
from bot.domain.links import Link
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.presentation.card import deployment_card
from bot.presentation.link_views import (
    MONITOR,
    links_line,
    plain_lines,
    slack_href,
    slack_link,
)
from bot.presentation.parts import Message
from bot.presentation.record_views import announcement, deployment_record


def test_a_plain_url_is_left_as_it_is() -> None:
    assert slack_link("https://grafana.acme.test/d/abc/api", "Dashboard") == \
        "<https://grafana.acme.test/d/abc/api|Dashboard>"


def test_the_control_characters_of_a_url_are_escaped() -> None:
    url = "https://g.acme.test/d?a=1&panel=x|y&expr=<b>"
    assert slack_href(url) == "https://g.acme.test/d?a=1&amp;panel=x%7Cy&amp;expr=%3Cb%3E"
    # one `|`, the separator: the URL cannot end early or close the link
    link = slack_link(url, "Dashboard")
    assert link.count("|") == 1 and link.count("<") == 1 and link.count(">") == 1


def test_the_text_of_a_link_is_escaped_as_mrkdwn_text() -> None:
    assert slack_link("https://x.test/", "a<b>&c") == "<https://x.test/|a&lt;b&gt;&amp;c>"


def test_links_line_and_plain_lines() -> None:
    links = (Link("dashboard", "https://g.test/?s=api&e=prod"),
             Link("error_budget", "https://slo.test/api"))
    assert links_line(links) == ("<https://g.test/?s=api&amp;e=prod|Dashboard> · "
                                 "<https://slo.test/api|Error budget>")
    assert plain_lines(links, "  ") == ["  Dashboard: https://g.test/?s=api&e=prod",
                                        "  Error budget: https://slo.test/api"]
    assert links_line(()) == "" and plain_lines(()) == []


# -- where they are shown: valid Block Kit, as slack_sdk reads it -------------------------

AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
ZONE = ZoneInfo("America/New_York")
LINKS = (Link("dashboard", "https://g.test/d?s=api&panel=a|b"),
         Link("runbook", "https://runbooks.internal.com/api"))
LINE = "<https://g.test/d?s=api&amp;panel=a%7Cb|Dashboard> · " \
       "<https://runbooks.internal.com/api|Runbook>"


def deployment(state: State, **kw: Any) -> Deployment:
    base: dict[str, Any] = dict(id=7, service="api", environment="production",
                                version="v1.2.3", previous_version="v1.2.2", state=state,
                                requested_by="U0ALICE", requested_at=AT,
                                approvals_required=1, channel="C0DEPLOYS",
                                message_ts="1700000000.000100")
    return Deployment(**(base | kw))


def valid(msg: Message) -> str:
    for block in msg.blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    return "\n".join(str(b.get("text", {}).get("text", "")) + "".join(
        str(e.get("text", "")) for e in b.get("elements", [])) for b in msg.blocks)


def test_the_card_the_record_and_a_failure_announcement_show_them() -> None:
    card = deployment_card(deployment(State.AWAITING_APPROVAL), ZONE, LINKS)
    assert f"🔗 {LINE}" in valid(card)
    record = deployment_record(deployment(State.SUCCEEDED, finished_at=AT), ZONE, None, LINKS)
    assert valid(record).split("*Post-deployment*\n")[1].splitlines()[-1] == MONITOR + LINE
    failed = deployment(State.FAILED, finished_at=AT, error="simulated failure")
    shown = valid(announcement(failed, ZONE, "https://x.slack.test/p1",
                               severity=Severity.CRITICAL, links=LINKS))
    assert f"<https://x.slack.test/p1|Deployment thread> · {LINE}" in shown


def test_without_links_nothing_changes_and_a_success_is_announced_without_them() -> None:
    d = deployment(State.AWAITING_APPROVAL)
    assert deployment_card(d, ZONE) == deployment_card(d, ZONE, ())
    assert "🔗" not in valid(deployment_card(d, ZONE))
    ok = deployment(State.SUCCEEDED, finished_at=AT)
    assert "Runbook" not in valid(announcement(ok, ZONE, None, severity=Severity.LOW,
                                               links=LINKS))
