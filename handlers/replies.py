"""How handlers answer: ephemeral replies, and every error rendered in this one place."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Respond

from bot.errors import PermanentError, RetryableError, UserError
from bot.presentation.blocks import Message, notice, window_closed
from bot.services.deployments import WindowClosed

log = logging.getLogger("deploybot.handlers")


def ephemeral_ack(msg: Message | str) -> dict[str, Any]:
    """Keyword arguments for `ack`: a reply visible only to the user."""
    m = notice(msg) if isinstance(msg, str) else msg
    return {"text": m.text, "blocks": m.blocks, "response_type": "ephemeral"}


def ephemeral(msg: Message | str) -> dict[str, Any]:
    """Keyword arguments for `respond`: visible only to the user, never replacing the
    message a button sits on."""
    return {**ephemeral_ack(msg), "replace_original": False}


def error_message(err: BaseException) -> tuple[str, bool]:
    """(text for the user, whether it is our fault and worth logging)."""
    if isinstance(err, UserError):
        return f"⚠️ {err.message}", False
    if isinstance(err, RetryableError):
        return f"⏳ {err} Nothing was changed; please try again in a minute.", False
    ref = uuid.uuid4().hex[:8]
    kind = "a configuration problem" if isinstance(err, PermanentError) else "an internal error"
    return (f"💥 Something went wrong on deploybot's side ({kind}, reference `{ref}`). "
            "Nothing was changed. Please tell the platform team and quote the reference."), True


def error_reply(err: BaseException, zone: ZoneInfo) -> Message | str:
    """A refusal by the deploy window offers to queue the deploy; others are text."""
    if isinstance(err, WindowClosed):
        a, d = err.request, err.decision
        return window_closed(d.reasons, d.next_allowed_at, zone, service=a.service,
                             environment=a.environment, version=a.version,
                             request_value=f"{a.service} {a.environment} {a.version}")
    text, ours = error_message(err)
    if ours:
        log.exception("listener failed: %s", text)
    return text


@contextmanager
def reporting(respond: Respond, zone: ZoneInfo) -> Iterator[None]:
    """Turn any error raised while serving a user into an ephemeral reply to them."""
    try:
        yield
    except Exception as err:
        respond(**ephemeral(error_reply(err, zone)))
