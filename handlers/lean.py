"""Bolt's dispatch without building every listener argument on every call.

For each function middleware, built-in listener matcher and listener it calls, slack-bolt
builds every argument a function could ask for — the body's `action`, `view`,
`shortcut`, `command`, `event`, `message`, `options`, `step` each extracted from the body,
`say`, `respond` and a dozen more — and then passes the few the function names
(slack_bolt/kwargs_injection/utils.py `build_required_kwargs`; called from
middleware/custom_middleware.py, listener_matcher/builtins.py and
listener/custom_listener.py). That is ≈25 µs a call, and a `/deploy` makes seven of them
(four middleware functions, the matchers of the listeners registered before it, the
listener): a third of deploybot's dispatch, on the ack path.

`lean(app)`, called once the app is built, replaces each of those whose parameters are all
in `ARGUMENTS` (the ones deploybot's functions take) with an equivalent that hands over
exactly those: the same objects Bolt's builder gives for the same names (the request's
body and context, `next`, the context's `ack`, `respond`, `say` and `client`, the
component's logger). A function asking for anything else keeps Bolt's way. Nothing else of
Bolt's dispatch changes: the same middleware in the same order, the same listeners,
matchers and errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener.custom_listener import CustomListener
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.middleware import Middleware
from slack_bolt.middleware.custom_middleware import CustomMiddleware

Next = Callable[[], Any] | None
Getter = Callable[[BoltRequest, BoltResponse | None, Next, logging.Logger], Any]

#: What each argument name is, as slack-bolt's `build_required_kwargs` builds it.
ARGUMENTS: dict[str, Getter] = {
    "body": lambda req, _resp, _next, _log: req.body,
    "context": lambda req, _resp, _next, _log: req.context,
    "req": lambda req, _resp, _next, _log: req,
    "request": lambda req, _resp, _next, _log: req,
    "resp": lambda _req, resp, _next, _log: resp,
    "response": lambda _req, resp, _next, _log: resp,
    "next": lambda _req, _resp, nxt, _log: nxt,
    "next_": lambda _req, _resp, nxt, _log: nxt,
    "ack": lambda req, _resp, _next, _log: req.context.ack,
    "respond": lambda req, _resp, _next, _log: req.context.respond,
    "say": lambda req, _resp, _next, _log: req.context.say,
    "client": lambda req, _resp, _next, _log: req.context.client,
    "logger": lambda _req, _resp, _next, log: log,
}


def _getters(names: Sequence[str]) -> tuple[tuple[str, Getter], ...] | None:
    """(name, getter) for each of `names`, or None when one is not in `ARGUMENTS`."""
    if not all(name in ARGUMENTS for name in names):
        return None
    return tuple((name, ARGUMENTS[name]) for name in names)


def _kwargs(getters: tuple[tuple[str, Getter], ...], req: BoltRequest,
            resp: BoltResponse | None, nxt: Next, log: logging.Logger) -> dict[str, Any]:
    return {name: get(req, resp, nxt, log) for name, get in getters}


class LeanMiddleware(Middleware):
    """A function middleware (Bolt's `CustomMiddleware`), called with only its arguments."""

    def __init__(self, original: CustomMiddleware,
                 getters: tuple[tuple[str, Getter], ...]) -> None:
        self.func = original.func
        self.logger = original.logger
        self._name = original.name
        self._getters = getters

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        result: BoltResponse | None = self.func(**_kwargs(self._getters, req, resp, next,
                                                          self.logger))
        return result

    @property
    def name(self) -> str:
        return self._name


class LeanMatcher(ListenerMatcher):
    """A built-in listener matcher (`app.command("/deploy")`'s…), called with only its
    arguments (Bolt's take `body`)."""

    def __init__(self, original: BuiltinListenerMatcher,
                 getters: tuple[tuple[str, Getter], ...]) -> None:
        self.func = original.func
        self.logger = original.logger
        self._getters = getters

    def matches(self, req: BoltRequest, resp: BoltResponse) -> bool:
        return bool(self.func(**_kwargs(self._getters, req, resp, None, self.logger)))


class LeanListener(CustomListener):
    """A listener whose function is called with only its arguments."""

    _getters: tuple[tuple[str, Getter], ...] = ()

    def run_ack_function(self, *, request: BoltRequest,
                         response: BoltResponse) -> BoltResponse | None:
        result: BoltResponse | None = self.ack_function(
            **_kwargs(self._getters, request, response, None, self.logger))
        return result


def _lean_matcher(matcher: ListenerMatcher) -> LeanMatcher | None:
    # exactly Bolt's built-in one (a subclass may build its arguments its own way)
    if not isinstance(matcher, BuiltinListenerMatcher) \
            or type(matcher) is not BuiltinListenerMatcher:
        return None
    getters = _getters(matcher.arg_names)
    return LeanMatcher(matcher, getters) if getters is not None else None


def _lean_listener(original: CustomListener) -> CustomListener:
    matchers: list[ListenerMatcher] = [_lean_matcher(m) or m for m in original.matchers]
    listener_getters = _getters(original.arg_names)
    if listener_getters is None:
        original.matchers = matchers
        return original
    listener = LeanListener(app_name=original.app_name, ack_function=original.ack_function,
                            lazy_functions=original.lazy_functions, matchers=matchers,
                            middleware=original.middleware,
                            auto_acknowledgement=original.auto_acknowledgement,
                            ack_timeout=original.ack_timeout)
    listener.logger = original.logger
    listener.arg_names = original.arg_names
    listener._getters = listener_getters
    return listener


def lean(app: App) -> App:
    """Replace, in `app` (built, every middleware and listener registered), what Bolt would
    call with every argument built by the lean equivalent (see the module's docstring)."""
    middleware: list[Middleware] = app._middleware_list
    for i, m in enumerate(middleware):
        if type(m) is CustomMiddleware:
            getters = _getters(m.arg_names)
            if getters is not None:
                middleware[i] = LeanMiddleware(m, getters)
    listeners: list[Any] = app._listeners
    for i, listener in enumerate(listeners):
        if type(listener) is CustomListener:
            listeners[i] = _lean_listener(listener)
    return app
