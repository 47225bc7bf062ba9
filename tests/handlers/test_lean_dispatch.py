"""Bolt's dispatch made lean (handlers.lean, issue 13): our middleware functions, listener
matchers and listeners get exactly the arguments slack-bolt's own builder gives them, and
deploybot's app has none left that Bolt would call by building every argument; the app
served over HTTP verifies a signature once, at the edge (bot.web), not again in Bolt."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener.custom_listener import CustomListener
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.middleware import RequestVerification
from slack_bolt.middleware.custom_middleware import CustomMiddleware
from slack_sdk import WebClient

from bot.web import build_asgi
from devtools.fake_slack import FakeSlack
from devtools.slack_requests import signed_headers, slash_command_body
from handlers import build_app
from handlers.lean import ARGUMENTS, LeanListener, LeanMatcher, LeanMiddleware, lean
from tests.conftest import REQUESTER, SIGNING_SECRET, RunningBot

FORM = "application/x-www-form-urlencoded"


def command_request(text: str = "staging v1.2.3") -> BoltRequest:
    body = slash_command_body("/deploy", text, user_id=REQUESTER,
                              response_url="https://hooks.slack.com/commands/T1/1/x")
    return BoltRequest(body=body, headers={"content-type": FORM})


def bolt_app(slack: FakeSlack) -> App:
    """A Bolt app with deploybot's settings, against the fake Slack (auth.test)."""
    return App(client=WebClient(token="xoxb-lean-test", base_url=slack.base_url),
               signing_secret="lean-secret", request_verification_enabled=False,
               process_before_response=True)


def spy_app(slack: FakeSlack, seen: dict[str, dict[str, Any]]) -> App:
    """A Bolt app whose middleware and listener ask for every argument `lean` builds, and
    note what they were given."""
    app = bolt_app(slack)

    def every(body: Any, context: Any, req: Any, request: Any, resp: Any, response: Any,
              next: Any, next_: Any, ack: Any, respond: Any, say: Any, client: Any,
              logger: Any) -> dict[str, Any]:
        return dict(locals())

    @app.middleware
    def middleware(body: Any, context: Any, req: Any, request: Any, resp: Any,
                   response: Any, next: Any, next_: Any, ack: Any, respond: Any, say: Any,
                   client: Any, logger: Any) -> None:
        seen["middleware"] = every(body, context, req, request, resp, response, next, next_,
                                   ack, respond, say, client, logger)
        next()

    def listener(body: Any, context: Any, req: Any, request: Any, resp: Any,
                 response: Any, next: Any, next_: Any, ack: Any, respond: Any, say: Any,
                 client: Any, logger: Any) -> None:
        seen["listener"] = every(body, context, req, request, resp, response, next, next_,
                                 ack, respond, say, client, logger)
        ack("done")

    app.command("/deploy")(listener)
    return app


def check_given(seen: dict[str, Any], req: BoltRequest, *, middleware: bool) -> None:
    """What Bolt's builder gives for each name (slack_bolt/kwargs_injection/utils.py)."""
    assert set(seen) == set(ARGUMENTS)
    assert seen["body"] is req.body
    assert seen["context"] is req.context
    assert seen["req"] is req and seen["request"] is req
    assert isinstance(seen["resp"], BoltResponse) or seen["resp"] is None
    assert seen["response"] is seen["resp"]
    if middleware:
        assert callable(seen["next"]) and seen["next_"] is seen["next"]
    else:
        assert seen["next"] is None and seen["next_"] is None
    assert seen["ack"] is req.context.ack
    assert seen["respond"] is req.context.respond
    assert seen["say"] is req.context.say
    assert seen["client"] is req.context.client
    assert isinstance(seen["logger"], logging.Logger)


def test_lean_functions_get_what_bolts_builder_gives_them(fake_slack: FakeSlack) -> None:
    bolt_seen: dict[str, dict[str, Any]] = {}
    bolt_req = command_request()
    assert spy_app(fake_slack, bolt_seen).dispatch(bolt_req).status == 200

    lean_seen: dict[str, dict[str, Any]] = {}
    app = lean(spy_app(fake_slack, lean_seen))
    lean_req = command_request()
    response = app.dispatch(lean_req)
    assert response.status == 200 and "done" in response.body

    assert set(bolt_seen) == set(lean_seen) == {"middleware", "listener"}
    for part in ("middleware", "listener"):
        check_given(bolt_seen[part], bolt_req, middleware=part == "middleware")
        check_given(lean_seen[part], lean_req, middleware=part == "middleware")
        # the same logger Bolt hands that function
        assert lean_seen[part]["logger"].name == bolt_seen[part]["logger"].name
    # the listener matched through its lean matcher (`app.command`'s takes `body`)
    assert isinstance(app._listeners[0], LeanListener)
    assert [type(m) for m in app._listeners[0].matchers] == [LeanMatcher]
    assert type(app._middleware_list[-1]) is LeanMiddleware


def test_a_function_asking_for_anything_else_is_called_bolts_way(fake_slack: FakeSlack
                                                                 ) -> None:
    app = bolt_app(fake_slack)
    commands: list[Any] = []

    @app.middleware
    def middleware(command: dict[str, Any], next: Callable[[], None]) -> None:
        commands.append(command)  # Bolt's `command` (payload_utils.to_command)
        next()

    @app.command("/deploy")
    def listener(ack: Any, command: dict[str, Any]) -> None:
        ack(command["text"])

    lean(app)
    assert [type(m) for m in app._middleware_list if isinstance(m, CustomMiddleware)] == [
        CustomMiddleware]
    assert type(app._listeners[0]) is CustomListener
    assert isinstance(app._listeners[0].matchers[0], LeanMatcher)  # takes `body` only
    response = app.dispatch(command_request("staging v9"))
    assert response.status == 200 and "staging v9" in response.body
    assert commands[0]["text"] == "staging v9"


def test_deploybot_calls_every_function_of_its_own_lean(bot: RunningBot) -> None:
    app = build_app(bot.container, signing_secret=SIGNING_SECRET)
    middleware = app._middleware_list
    assert not [m.name for m in middleware if type(m) is CustomMiddleware], (
        "a middleware function asks for an argument handlers.lean does not build")
    assert [m for m in middleware if isinstance(m, LeanMiddleware)]
    for listener in app._listeners:
        assert isinstance(listener, LeanListener), listener.ack_function
        assert not [m for m in listener.matchers if type(m) is BuiltinListenerMatcher]


def test_the_served_app_verifies_signatures_once_at_the_edge(bot: RunningBot) -> None:
    app = build_app(bot.container, signing_secret=SIGNING_SECRET)
    assert [m for m in app._middleware_list if isinstance(m, RequestVerification)]
    build_asgi(app)
    assert not [m for m in app._middleware_list if isinstance(m, RequestVerification)]
    # and the app `bot` serves (the same build) still refuses what is not signed …
    body = slash_command_body("/deploy", "staging v1.2.3", user_id=REQUESTER,
                              response_url=bot.slack.response_url("lean"))
    assert bot.requester.raw(body, {"Content-Type": FORM}).status == 401
    assert bot.requester.raw(body, signed_headers("not-the-secret", body)).status == 401
    # … and serves what is
    reply = bot.requester.raw(body, signed_headers(SIGNING_SECRET, body))
    assert reply.status == 200
    assert "Requesting" in reply.body
