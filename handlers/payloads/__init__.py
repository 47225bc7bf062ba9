"""Slack requests read through one typed accessor, and refused when their shape is wrong.

slack-bolt hands listeners the parsed body as a dict and, to match listeners, indexes it
assuming Slack's shapes (`body["actions"][0]["action_id"]`, `body["event"]["type"]`,
slack_bolt/listener_matcher/builtins.py and request/payload_utils.py); a signed request with
`actions: []`, `user: {}` or a numeric `response_url` crashed there or in a listener. Here:

- `read` turns a body into what deploybot uses of it — a `Click` (block_actions, and the
  view and shortcut interactions), a `Command`, an `Event` — or raises `Malformed` saying
  why. Every field deploybot reads is checked for its type and for the limit of where it
  ends up (a user id goes into 32-character columns, a channel into 64, a message ts into
  32). Fields it does not read are not looked at.
- `WellFormed`, the global middleware `register` adds, does so first (handlers/__init__.py
  registers it before every other middleware of ours; Bolt's listener matching only runs
  after all global middleware, slack_bolt/app/app.py `dispatch`). A malformed request gets HTTP 400
  with the answer and the one WARNING line the HTTP edge gives a signed-but-malformed body
  (bot.web), no traceback: nothing is claimed, audited or run.
- Listeners and the other middleware read the request with `click_of`, `command_of`,
  `event_of` and `request_of`, never by indexing the body. Given Bolt's `context`, these
  return what the middleware read (kept there), so a request is read once.

This package's modules hold, each: the field readers and their limits (fields), one per
surface — clicks (with their actions and containers), views, commands, events — then `read`
and `request_of` over them all (request), and the middleware (middleware). Everything is
importable from `handlers.payloads`, as the listeners do.

Bolt's own conversion and middleware (signature, authorization, ignoring the bot's own
events) run before any of ours and read a few fields themselves (`user`, `channel`, `event`
as objects): the edge in front of them (bot.slack_edge) refuses what they cannot read.
"""

from handlers.payloads.clicks import INTERACTIVE, Action, Click, Container, click_of
from handlers.payloads.commands import Command, command_of
from handlers.payloads.events import Event, event_of
from handlers.payloads.fields import (
    CONTEXT_KEY,
    MAX_CHANNEL_ID,
    MAX_ID,
    MAX_TS,
    MAX_URL,
    MAX_USER_ID,
    Malformed,
)
from handlers.payloads.middleware import REFUSAL, WellFormed, refused, register
from handlers.payloads.request import Request, read, request_of
from handlers.payloads.views import Field, View

__all__ = [
    "CONTEXT_KEY", "INTERACTIVE", "MAX_CHANNEL_ID", "MAX_ID", "MAX_TS", "MAX_URL",
    "MAX_USER_ID", "REFUSAL", "Action", "Click", "Command", "Container", "Event", "Field",
    "Malformed", "Request", "View", "WellFormed", "click_of", "command_of", "event_of", "read",
    "refused", "register", "request_of",
]
