"""Slack as a readiness dependency (GET /readyz): `auth.test` with the bot's token."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.backends.slack.client import slack_call


class SlackDependency:
    """Implements the Dependency port. Its own client, without the retries of the bot's (a
    probe wants one quick answer), on the same token and API URL."""

    name = "slack"

    def __init__(self, client: WebClient, *, timeout: int = 5) -> None:
        self._client = WebClient(token=client.token, base_url=client.base_url,
                                 timeout=timeout)

    def check(self) -> None:
        slack_call(self._client.auth_test)
