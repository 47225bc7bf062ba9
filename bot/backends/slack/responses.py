"""The Responses port: a post to a request's response_url made later, by any process (the
one that received the request may be gone). Over the bot's kept connections when its client
keeps them (bot/backends/slack/transport.py), else slack_sdk's WebhookClient.

Slack answers a response_url post 200 "ok", or 404 `expired_url` / `used_url` when its
time (30 minutes) or its posts (5) are spent:
https://docs.slack.dev/interactivity/handling-user-interaction#message_responses
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.backends.slack.transport import KeepAliveWebClient, KeepAliveWebhookClient
from bot.errors import RetryableError

log = logging.getLogger(__name__)


class SlackResponses:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def respond_later(self, response_url: str, text: str,
                      blocks: Sequence[dict[str, Any]] | None = None) -> bool:
        client = (KeepAliveWebhookClient(response_url, connections=self._client.connections,
                                         proxy=self._client.proxy)
                  if isinstance(self._client, KeepAliveWebClient)
                  else WebhookClient(response_url, proxy=self._client.proxy))
        try:
            res = client.send_dict({"response_type": "ephemeral", "replace_original": False,
                                    "text": text, "blocks": list(blocks or ())})
        except OSError as e:
            raise RetryableError(f"Slack's response_url unreachable: {e}") from e
        if res.status_code >= 500:
            raise RetryableError(f"Slack's response_url answered {res.status_code}")
        if res.status_code != 200:
            log.info("a response_url refused a late answer (%d %s): using the DM instead",
                     res.status_code, str(res.body)[:100])
            return False
        return True
