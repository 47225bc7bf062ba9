"""The Slack WebClient the bot uses (`make_client`: kept-alive transport, retries, slack_sdk's
logger read at its effective level) and `slack_call`, the one place Slack's errors become
deploybot's (shared by the notifier, the readiness check and the doctor's access check)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.backends.slack.transport import KeepAliveWebClient
from bot.errors import PermanentError, RetryableError

_RETRYABLE = {"ratelimited", "internal_error", "service_unavailable", "request_timeout",
              "fatal_error"}


class SdkLogger(logging.LoggerAdapter[logging.Logger]):
    """slack_sdk's own logger, whose `level` reads as its effective level. slack_sdk builds
    a debug line for every Web API call (the whole request, its blocks and all: ~12 µs for a
    card) whenever `logger.level <= DEBUG`, which a logger left at NOTSET (0: the default,
    following its parents) always is, and logging then drops it unless DEBUG is on. Read as
    the effective level, the line is built only when it is logged; what is logged, and
    where, is unchanged (the records are the logger's own)."""

    @property
    def level(self) -> int:
        return self.logger.getEffectiveLevel()


def make_client(token: str, base_url: str | None) -> WebClient:
    client = KeepAliveWebClient(
        token=token, base_url=base_url or WebClient.BASE_URL, timeout=10,
        logger=SdkLogger(logging.getLogger("slack_sdk.web.base_client")))
    client.retry_handlers.extend([ConnectionErrorRetryHandler(max_retry_count=2),
                                  RateLimitErrorRetryHandler(max_retry_count=2)])
    return client


def slack_call(fn: Any, **kw: Any) -> Any:
    """`fn(**kw)` (a WebClient method), with Slack's errors turned into deploybot's: the one
    place for it, shared by the other Slack backend modules (readiness, doctor)."""
    try:
        return fn(**kw)
    except SlackApiError as e:
        err = str(e.response.get("error", "unknown_error"))
        if err in _RETRYABLE or e.response.status_code >= 500:
            raise RetryableError(f"Slack API error {err}") from e
        raise PermanentError(f"Slack API error {err}") from e
    except SlackClientError as e:
        raise RetryableError(f"Slack API unreachable: {e}") from e
    except OSError as e:
        raise RetryableError(f"Slack API unreachable: {e}") from e

