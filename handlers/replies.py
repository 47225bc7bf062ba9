"""How handlers answer: ephemeral replies, every error rendered in this one place, and the
`respond` every listener gets (posting over the Slack client's kept connections)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from slack_bolt import App, BoltContext, Respond

from bot.domain.commands import DeployArgs
from bot.errors import PermanentError, RateLimited, RetryableError, UserError
from bot.ports import DirectMessages
from bot.presentation.admission_views import downgrade_prompt
from bot.presentation.blocks import Message, notice, window_closed
from bot.services.deployments import DowngradeUnconfirmed, WindowClosed
from handlers.payloads import Click
from handlers.request_audit import record_refusal

log = logging.getLogger("deploybot.handlers")


@runtime_checkable
class Responder(Protocol):
    """A Slack client that makes Bolt's `respond` for a response_url itself (the bot's
    KeepAliveWebClient: its replies reuse kept connections instead of a new one each)."""

    def respond_to(self, response_url: str | None) -> Respond: ...


def keep_replies_alive(app: App, client: object) -> None:
    """A global middleware giving every listener the `respond` `client` makes for the
    request's response_url, in place of Bolt's (a urllib WebhookClient, a new TCP and TLS
    connection per reply). The same posts, answers and errors. A client that makes none
    (a plain WebClient) leaves Bolt's `respond` alone."""
    if not isinstance(client, Responder):
        return
    responder = client

    @app.middleware
    def kept_respond(context: BoltContext, next: Callable[[], None]) -> None:
        context["respond"] = responder.respond_to(context.response_url)
        next()


def deployment_id_of(value: str | None) -> int:
    """The deployment id a button carries as its value (refused when it carries none)."""
    value = value or ""
    if not (value.isascii() and value.isdigit() and len(value) <= 18):  # a 64-bit id
        raise UserError("That button does not name a deployment; it may be from an old "
                        "message. Use `/deploy status` to find it.")
    return int(value)


def deploy_named(parsed: object) -> DeployArgs:
    """The deploy a button carries as its value, parsed as `/deploy` text (refused when it
    names none)."""
    if not isinstance(parsed, DeployArgs):
        raise UserError("That button does not name a deploy; run `/deploy` again.")
    return parsed


def ephemeral_ack(msg: Message | str) -> dict[str, Any]:
    """Keyword arguments for `ack`: a reply visible only to the user."""
    m = notice(msg) if isinstance(msg, str) else msg
    return {"text": m.text, "blocks": m.blocks, "response_type": "ephemeral"}


def ephemeral(msg: Message | str) -> dict[str, Any]:
    """Keyword arguments for `respond`: visible only to the user, never replacing the
    message a button sits on."""
    return {**ephemeral_ack(msg), "replace_original": False}


def replacing(msg: Message | str) -> dict[str, Any]:
    """Keyword arguments for `respond`: replace the ephemeral message a button sat on (a
    confirmation that must not be clicked twice) with this one."""
    return {**ephemeral_ack(msg), "replace_original": True}


def in_channel(msg: Message) -> dict[str, Any]:
    """Keyword arguments for `respond`: a message everyone in the channel sees."""
    return {"text": msg.text, "blocks": msg.blocks, "response_type": "in_channel",
            "replace_original": False}


def refusal(err: UserError) -> dict[str, Any]:
    """Keyword arguments for `ack`: bad input refused on the ack path, recorded in the
    audit log as a refusal of the request being served."""
    record_refusal(err)
    return ephemeral_ack(error_message(err)[0])


_TRY_AGAIN = re.compile(r"[;,.:]?\s*(?:please\s+)?try again\b.*$", re.IGNORECASE | re.DOTALL)


def _sentence(err: BaseException) -> str:
    """A dependency's complaint as one sentence, without its own "try again" (the reply
    says when): "GitHub answered 502; try again shortly" → "GitHub answered 502."."""
    text = _TRY_AGAIN.sub("", str(err).strip()).rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def error_message(err: BaseException) -> tuple[str, bool]:
    """(text for the user, whether it is our fault and worth logging)."""
    if isinstance(err, UserError):  # a refusal may carry its own icon (a lock: 🔒)
        return f"{getattr(err, 'icon', '⚠️')} {err.message}", False
    if isinstance(err, RateLimited) and (err.reset_at or err.retry_after):
        # The message says when the limit resets: "in a minute" would contradict it.
        return f"⏳ {_sentence(err)} Nothing was changed; please try again then.", False
    if isinstance(err, RetryableError):
        return f"⏳ {_sentence(err)} Nothing was changed; please try again in a minute.", False
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
    if isinstance(err, DowngradeUnconfirmed):
        return downgrade_prompt(error_message(err)[0], err.downgrade,
                                environment=err.environment, service=err.service,
                                request=err.request, deployment_id=err.deployment_id)
    text, ours = error_message(err)
    if ours:
        log.exception("listener failed: %s", text)
    return text


#: What a user is told when their answer could not be sent (a network error on the way).
UNFINISHED = ("⏳ deploybot could not finish answering you (a network error on the way). "
              "`/deploy status` shows where things stand.")


@contextmanager
def reporting(respond: Respond, zone: ZoneInfo) -> Iterator[None]:
    """Turn any error raised while serving a user into an ephemeral reply to them; a
    refusal (a UserError) is recorded in the audit log."""
    try:
        yield
    except OSError as err:
        # A network error no backend classified: the reply itself did not get through (the
        # response_url did not answer; backends turn their own into RetryableError). One
        # line, no traceback; the user is told if the response_url answers now.
        log.warning("could not answer on the response_url: %s", err)
        with suppress(OSError):
            respond(**ephemeral(UNFINISHED))
    except Exception as err:
        if isinstance(err, UserError):
            record_refusal(err)
        try:
            respond(**ephemeral(error_reply(err, zone)))
        except OSError as unsent:
            log.warning("could not tell the user about an error on the response_url: %s",
                        unsent)


class DirectReply(Respond):
    """`respond` for a click that came without a response_url — a button in the App Home
    tab (a view, not a message): the reply goes to the user's DM with the bot instead."""

    def __init__(self, user_id: str, direct: DirectMessages) -> None:
        super().__init__(response_url=None)
        self.user_id = user_id
        self._direct = direct

    def __call__(self, text: Any = "", blocks: Any = None, *args: Any, **kwargs: Any) -> Any:
        # response_type / replace_original make no sense in a DM; a dict is a whole message.
        if isinstance(text, dict):
            text, blocks = text.get("text", ""), text.get("blocks")
        self._direct.direct_message(self.user_id, str(text), blocks)
        return None


def replying(respond: Respond, clicked: Click, direct: DirectMessages) -> Respond:
    """`respond` when the request has a response_url, else a DM to the user who clicked."""
    if respond is not None and respond.response_url:
        return respond
    return DirectReply(clicked.user_id, direct)
