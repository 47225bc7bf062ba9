"""Slack through slack_sdk, one module per concern: `transport` (HTTP connections kept open
and reused under the WebClient, and Bolt's `respond` over them), `client` (`make_client`,
the WebClient the bot uses, and `slack_call`, the one place Slack's errors become
deploybot's), `notifier` (the Notifier, HomeTab, DirectMessages, Poster and Directory
ports), `files` (text files shared in a channel, a thread or a DM: the Files port),
`health` (Slack as a readiness dependency: the Dependency port) and `access` (what
the bot token may do, for `deploybot doctor`: the SlackAccess port).

`health`, `access` and `files` are imported by their own path (`bot.backends.slack.health`,
…); the rest is re-exported here.
"""

from bot.backends.slack.client import SdkLogger, make_client, slack_call
from bot.backends.slack.notifier import SlackDirectory, SlackNotifier
from bot.backends.slack.transport import (
    KeepAliveRespond,
    KeepAliveWebClient,
    KeepAliveWebhookClient,
    KeptConnections,
    content_type,
)

__all__ = ["KeepAliveRespond", "KeepAliveWebClient", "KeepAliveWebhookClient",
           "KeptConnections", "SdkLogger", "SlackDirectory", "SlackNotifier", "content_type",
           "make_client", "slack_call"]
