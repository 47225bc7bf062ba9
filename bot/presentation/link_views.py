"""How a service's links (bot.domain.links) read (pure): as Slack mrkdwn links on the card,
in the record's post-deployment section, in failure announcements and in the alert
channels' messages, and as plain `Label: URL` lines in the daily summary email.

Slack's mrkdwn link is `<url|text>`, and `&`, `<` and `>` are its control characters: in
text they are written as HTML entities (Slack's "Formatting message text": "Escaping text",
https://docs.slack.dev/messaging/formatting-message-text/). In a link's URL a `&` is written
`&amp;` (Slack shows and opens it as `&`), and `|`, `<` and `>` — which would end the URL or
the link — are percent-encoded (%7C, %3C, %3E: the same URL to the server).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.links import Link

_URL_ESCAPES = {"&": "&amp;", "|": "%7C", "<": "%3C", ">": "%3E"}
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def slack_href(url: str) -> str:
    """`url` as the first half of a mrkdwn link `<url|text>`."""
    return "".join(_URL_ESCAPES.get(c, c) for c in url)


def slack_link(url: str, text: str) -> str:
    """`<url|text>`, escaped so that neither half ends the link early."""
    return f"<{slack_href(url)}|{''.join(_TEXT_ESCAPES.get(c, c) for c in text)}>"


def thread_link(permalink: str | None, label: str) -> str | None:
    """`<permalink|label>`, or None when Slack gave no usable link (chat.getPermalink can
    fail, or answer without one): never `<None|Deployment thread>`."""
    if not permalink or not permalink.startswith(("https://", "http://")):
        return None
    return slack_link(permalink, label)


def links_line(links: Sequence[Link]) -> str:
    """'<…|Dashboard> · <…|Runbook> · <…|Logs>' (empty without links)."""
    return " · ".join(slack_link(link.url, link.label) for link in links)


#: What the record's post-deployment section calls its links (the guide: "monitor the
#: dashboards; the first 5 minutes are critical").
MONITOR = "🔗 *Monitor* (the first 5 minutes are critical): "


def plain_lines(links: Sequence[Link], indent: str = "") -> list[str]:
    """'Dashboard: https://…', one line a link, for plain text (an email)."""
    return [f"{indent}{link.label}: {link.url}" for link in links]
