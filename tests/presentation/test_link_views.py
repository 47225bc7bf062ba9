"""bot.presentation.link_views: a link as Slack mrkdwn `<url|text>` — `&` as `&amp;`, and
`|`, `<`, `>` percent-encoded so that none ends the URL or the link early — and as plain
`Label: URL` lines for the email."""

from __future__ import annotations

from bot.domain.links import Link
from bot.presentation.link_views import links_line, plain_lines, slack_href, slack_link


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
