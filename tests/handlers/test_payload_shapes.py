"""Signed Slack requests of a malformed shape (issue 14, "listener code never indexes an
unvalidated payload"), over real signed HTTP against the served app.

The edge (bot/slack_edge.py) refuses bodies Bolt's own conversion cannot read. What it lets
through — a click whose `actions` is `[]` or `[{}]`, whose `user` or `container` is missing
or of the wrong type, whose `response_url` is a number; a slash command whose `text` or
`user_id` is not a string — used to reach Bolt's listener matching and the listeners and
crash there (HTTP 500, or a 200 and a traceback on the background pool). Now the first
global middleware (handlers.payloads) reads every interactive payload, command and event
through one typed accessor before anything else looks at it, and refuses a malformed one
with HTTP 400 and one WARNING line, without a traceback and without changing anything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from slack_bolt import App, BoltRequest

from bot.presentation import ids
from devtools.slack_requests import (
    Reply,
    block_actions_body,
    event_callback_body,
    signed_headers,
    slash_command_body,
)
from handlers import build_app
from tests.conftest import REQUESTER, SIGNING_SECRET, RunningBot
from tests.edge_checks import db_state, every_log, tracebacks
from tests.handlers.spine import deployment_ids, ephemeral_text, request, settle

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
REFUSED = {"ok": False, "error": "malformed request"}


# -- what must not happen -----------------------------------------------------------------


@pytest.fixture
def logs(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record, uvicorn's too."""
    with every_log(caplog) as records:
        yield records


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "refused with 400" in r.getMessage()]


def assert_refused(bot: RunningBot, caplog: pytest.LogCaptureFixture, reply: Reply,
                   before: dict[str, list[tuple[Any, ...]]]) -> None:
    """400 with the edge's answer, one WARNING line naming why, no traceback anywhere,
    nothing stored, nothing said to Slack."""
    assert reply.status == 400, reply.body
    assert reply.json == REFUSED
    assert bot.container.background.wait_idle(10)
    lines = refusal_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].levelno == logging.WARNING
    assert lines[0].exc_info is None
    assert tracebacks(caplog) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert db_state(bot) == before
    assert bot.slack.calls("chat.postMessage") == []
    assert bot.slack.calls("response_url") == []


# -- sending --------------------------------------------------------------------------------


def send(bot: RunningBot, body: str, content_type: str = FORM) -> Reply:
    return bot.requester.raw(body, signed_headers(SIGNING_SECRET, body,
                                                  content_type=content_type))


def click_payload(bot: RunningBot, action_id: str = ids.APPROVE,
                  value: str = "1") -> dict[str, Any]:
    """A genuine block_actions payload (its response_url on the fake Slack)."""
    url = bot.slack.response_url(bot.slack.new_response_key("act"))
    body = block_actions_body(user_id=REQUESTER, action_id=action_id, value=value,
                              response_url=url)
    payload: dict[str, Any] = json.loads(parse_qs(body)["payload"][0])
    return payload


def form_payload(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def command_fields(text: str = "staging v1.2.3") -> dict[str, Any]:
    """A genuine /deploy invocation's fields."""
    body = slash_command_body("/deploy", text, user_id=REQUESTER,
                              response_url="https://hooks.slack.com/commands/T1/1/x")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


Change = Callable[[dict[str, Any]], None]


def setting(key: str, value: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        d[key] = value
    return change


def removing(key: str) -> Change:
    def change(d: dict[str, Any]) -> None:
        d.pop(key, None)
    return change


def in_action(key: str, value: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["actions"][0][key] = value
    return change


def in_container(key: str, value: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["container"][key] = value
    return change


# -- clicks ---------------------------------------------------------------------------------


MALFORMED_CLICKS = [
    # `actions`: Bolt's matcher takes body["actions"][0]["action_id"]
    pytest.param(setting("actions", []), id="actions-empty"),
    pytest.param(setting("actions", {}), id="actions-object"),
    pytest.param(setting("actions", "x"), id="actions-string"),
    pytest.param(setting("actions", [None]), id="actions-of-null"),
    pytest.param(setting("actions", [{}]), id="actions-of-empty-object"),
    pytest.param(setting("actions", [1]), id="actions-of-number"),
    pytest.param(setting("actions", None), id="actions-null"),
    pytest.param(removing("actions"), id="actions-missing"),
    pytest.param(in_action("action_id", 5), id="action-id-number"),
    pytest.param(in_action("action_id", ["deploy.approve"]), id="action-id-list"),
    pytest.param(in_action("value", 5), id="action-value-number"),
    pytest.param(in_action("value", {"id": 1}), id="action-value-object"),
    pytest.param(in_action("block_id", ["b"]), id="action-block-id-list"),
    pytest.param(in_action("action_ts", {"ts": 1}), id="action-ts-object"),
    pytest.param(in_action("selected_option", "x"), id="action-selected-option-string"),
    pytest.param(in_action("selected_options", [1]), id="action-selected-options-numbers"),
    # `user`
    pytest.param(removing("user"), id="user-missing"),
    pytest.param(setting("user", None), id="user-null"),
    pytest.param(setting("user", [1]), id="user-list"),
    pytest.param(setting("user", "U0ALICE"), id="user-string"),
    pytest.param(setting("user", {}), id="user-without-id"),
    pytest.param(setting("user", {"id": ""}), id="user-id-empty"),
    pytest.param(setting("user", {"id": ["U0ALICE"]}), id="user-id-list"),
    pytest.param(setting("user", {"id": "U" * 200}), id="user-id-too-long"),
    # `container`
    pytest.param(removing("container"), id="container-missing"),
    pytest.param(setting("container", "x"), id="container-string"),
    pytest.param(setting("container", [1]), id="container-list"),
    pytest.param(setting("container", 5), id="container-number"),
    pytest.param(in_container("message_ts", 5), id="container-message-ts-number"),
    pytest.param(in_container("message_ts", "1" * 100), id="container-message-ts-too-long"),
    pytest.param(in_container("channel_id", ["C0DEPLOYS"]), id="container-channel-list"),
    pytest.param(in_container("is_ephemeral", "yes"), id="container-ephemeral-string"),
    # `channel`, `response_url`, `trigger_id`
    pytest.param(setting("channel", "C0DEPLOYS"), id="channel-string"),
    pytest.param(setting("channel", {"id": "C" * 200}), id="channel-id-too-long"),
    pytest.param(setting("response_url", 5), id="response-url-number"),
    pytest.param(setting("response_url", ["https://hooks.slack.com/x"]),
                 id="response-url-list"),
    pytest.param(setting("trigger_id", 5), id="trigger-id-number"),
    pytest.param(setting("trigger_id", {"id": "t"}), id="trigger-id-object"),
]


@pytest.mark.parametrize("change", MALFORMED_CLICKS)
def test_a_malformed_click_is_400_and_changes_nothing(
        bot: RunningBot, logs: pytest.LogCaptureFixture, change: Change) -> None:
    payload = click_payload(bot)
    change(payload)
    before = db_state(bot)
    assert_refused(bot, logs, send(bot, form_payload(payload)), before)


@pytest.mark.parametrize("action_id", [ids.ABORT, ids.ROLLBACK_CONFIRM, ids.CHECKLIST_TICK,
                                       ids.ROLL_BACK, ids.START_SCHEDULED])
@pytest.mark.parametrize("change", [
    pytest.param(setting("actions", [{}]), id="actions-of-empty-object"),
    pytest.param(setting("user", {}), id="user-without-id"),
    pytest.param(setting("container", "x"), id="container-string"),
    pytest.param(setting("response_url", 5), id="response-url-number"),
])
def test_every_button_is_guarded_alike(bot: RunningBot, logs: pytest.LogCaptureFixture,
                                       action_id: str, change: Change) -> None:
    payload = click_payload(bot, action_id=action_id)
    change(payload)
    before = db_state(bot)
    assert_refused(bot, logs, send(bot, form_payload(payload)), before)


def test_a_malformed_view_click_is_400(bot: RunningBot, logs: pytest.LogCaptureFixture) -> None:
    """A click in the App Home tab (a view: no channel, no response_url) with a view that is
    not an object."""
    body = block_actions_body(user_id=REQUESTER, action_id=ids.APPROVE, value="1",
                              response_url=None, view={"type": "home", "blocks": []})
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["view"] = "V1"
    before = db_state(bot)
    assert_refused(bot, logs, send(bot, form_payload(payload)), before)


@pytest.mark.parametrize("payload", [
    pytest.param({"type": "view_submission", "user": {"id": REQUESTER}, "view": "x"},
                 id="view-submission-view-string"),
    pytest.param({"type": "view_submission", "user": {"id": REQUESTER},
                  "view": {"id": "V1", "callback_id": 5, "state": {"values": {}}}},
                 id="view-submission-callback-id-number"),
    pytest.param({"type": "view_submission", "user": {"id": REQUESTER},
                  "view": {"id": "V1", "callback_id": "c", "state": []}},
                 id="view-submission-state-list"),
    pytest.param({"type": "view_submission", "user": {"id": REQUESTER},
                  "view": {"id": "V1", "callback_id": "c", "state": {"values": {}}},
                  "response_urls": [{"response_url": 5}]},
                 id="view-submission-response-url-number"),
    pytest.param({"type": "view_closed", "user": {}, "view": {"id": "V1", "callback_id": "c"}},
                 id="view-closed-user-without-id"),
    pytest.param({"type": "shortcut", "user": {"id": REQUESTER}, "callback_id": ["c"],
                  "trigger_id": "1.2.3"}, id="shortcut-callback-id-list"),
    pytest.param({"type": "message_action", "user": {"id": REQUESTER}, "callback_id": "c",
                  "trigger_id": 5}, id="message-shortcut-trigger-number"),
])
def test_malformed_views_and_shortcuts_are_400(bot: RunningBot, logs: pytest.LogCaptureFixture,
                                               payload: dict[str, Any]) -> None:
    before = db_state(bot)
    assert_refused(bot, logs, send(bot, form_payload(payload)), before)


# -- slash commands -----------------------------------------------------------------------


MALFORMED_COMMANDS = [
    pytest.param(setting("text", 5), id="text-number"),
    pytest.param(setting("text", ["staging", "v1.2.3"]), id="text-list"),
    pytest.param(setting("text", {"env": "staging"}), id="text-object"),
    pytest.param(setting("user_id", 5), id="user-id-number"),
    pytest.param(setting("user_id", [REQUESTER]), id="user-id-list"),
    pytest.param(setting("user_id", ""), id="user-id-empty"),
    pytest.param(setting("user_id", "U" * 200), id="user-id-too-long"),
    pytest.param(removing("user_id"), id="user-id-missing"),
    pytest.param(setting("channel_id", 5), id="channel-id-number"),
    pytest.param(setting("channel_id", {"id": "C1"}), id="channel-id-object"),
    pytest.param(setting("command", 5), id="command-number"),
    pytest.param(setting("command", ["/deploy"]), id="command-list"),
    pytest.param(setting("response_url", 5), id="response-url-number"),
    pytest.param(setting("response_url", {"url": "x"}), id="response-url-object"),
    pytest.param(setting("trigger_id", 5), id="trigger-id-number"),
    pytest.param(setting("trigger_id", ["t"]), id="trigger-id-list"),
]


@pytest.mark.parametrize("change", MALFORMED_COMMANDS)
def test_a_malformed_command_is_400_and_changes_nothing(
        bot: RunningBot, logs: pytest.LogCaptureFixture, change: Change) -> None:
    """Slack sends commands as a form (every value a string); as JSON (which Bolt reads
    too) a field can be anything."""
    fields = command_fields()
    change(fields)
    before = db_state(bot)
    assert_refused(bot, logs, send(bot, json.dumps(fields), JSON_TYPE), before)


def test_a_form_command_without_a_user_is_400(bot: RunningBot,
                                              logs: pytest.LogCaptureFixture) -> None:
    fields = command_fields()
    del fields["user_id"]
    before = db_state(bot)
    assert_refused(bot, logs, send(bot, urlencode(fields)), before)


# -- events --------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [[1], 5, "app_home_opened", True])
def test_an_event_that_is_not_an_object_is_400(bot: RunningBot, logs: pytest.LogCaptureFixture,
                                               event: Any) -> None:
    body = json.loads(event_callback_body({"type": "app_home_opened", "user": REQUESTER}))
    body["event"] = event
    before = db_state(bot)
    reply = send(bot, json.dumps(body), JSON_TYPE)
    assert reply.status == 400
    assert reply.json == REFUSED
    assert bot.container.background.wait_idle(10)
    assert tracebacks(logs) == []
    assert db_state(bot) == before


@pytest.mark.parametrize("event", [
    pytest.param({"type": "app_home_opened", "user": REQUESTER, "tab": 5}, id="tab-number"),
    pytest.param({"type": ["app_home_opened"], "user": REQUESTER}, id="type-list"),
])
def test_an_event_with_wrong_typed_fields_is_400(bot: RunningBot, logs: pytest.LogCaptureFixture,
                                                 event: dict[str, Any]) -> None:
    before = db_state(bot)
    assert_refused(bot, logs, send(bot, event_callback_body(event), JSON_TYPE), before)


def test_an_app_home_opened_by_a_user_id_no_column_holds_publishes_nothing(
        bot: RunningBot, logs: pytest.LogCaptureFixture) -> None:
    before = db_state(bot)
    reply = send(bot, event_callback_body({"type": "app_home_opened", "user": "U" * 200,
                                           "tab": "home"}), JSON_TYPE)
    assert reply.status == 200
    assert bot.container.background.wait_idle(10)
    assert bot.slack.calls("views.publish") == []
    assert tracebacks(logs) == []
    # (on PostgreSQL the event's id is claimed, handlers.once: only that)
    assert db_state(bot)["app_home_viewers"] == before["app_home_viewers"]


# -- what keeps working ------------------------------------------------------------------


def test_a_well_formed_click_still_works(bot: RunningBot, logs: pytest.LogCaptureFixture
                                         ) -> None:
    dep = request(bot, "production v1.2.3")
    reply = bot.requester.click(user_id="U0BOB", action_id=ids.APPROVE, value=str(dep))
    assert reply.status == 200
    assert "You approved deployment" in ephemeral_text(bot, reply)
    settle(bot)
    assert tracebacks(logs) == []
    assert refusal_lines(logs) == []


def test_a_well_formed_json_command_still_works(bot: RunningBot,
                                                logs: pytest.LogCaptureFixture) -> None:
    fields = command_fields("staging v1.2.3")
    fields["response_url"] = bot.slack.response_url(bot.slack.new_response_key("cmd"))
    reply = send(bot, json.dumps(fields), JSON_TYPE)
    assert reply.status == 200
    settle(bot)
    assert len(deployment_ids(bot)) == 1
    assert tracebacks(logs) == []
    assert refusal_lines(logs) == []


def test_a_click_without_text_fields_slack_may_leave_out_still_works(
        bot: RunningBot, logs: pytest.LogCaptureFixture) -> None:
    """`block_id`, `action_ts`, `value`, `channel` and `trigger_id` may be absent or null."""
    dep = request(bot, "production v1.2.3")
    payload = click_payload(bot, value=str(dep))
    payload["user"]["id"] = "U0BOB"
    payload["actions"][0].pop("block_id")
    payload["actions"][0]["action_ts"] = None
    payload.pop("channel")
    reply = send(bot, form_payload(payload))
    assert reply.status == 200, reply.body
    settle(bot)
    assert bot.deployment(dep).approvers
    assert tracebacks(logs) == []


# -- without the HTTP edge (Socket Mode) ---------------------------------------------------


@pytest.fixture
def socket_app(bot: RunningBot) -> App:
    """The Bolt app as Socket Mode runs it: no HTTP edge in front, no signature (the socket
    is the authentication); Bolt's conversion reads these bodies without complaint."""
    return build_app(bot.container, signing_secret=None, verify_requests=False)


def click_without(bot: RunningBot, change: Change) -> dict[str, Any]:
    payload = click_payload(bot)
    change(payload)
    return payload


@pytest.mark.parametrize("body", [
    # Bolt's conversion reads `user: [1]` without complaint ("id" in [1]); the HTTP edge
    # refuses it, Socket Mode has no HTTP edge.
    pytest.param(lambda bot: click_without(bot, setting("user", [1])), id="click-user-list"),
    pytest.param(lambda bot: click_without(bot, setting("actions", [])), id="click-actions-empty"),
    pytest.param(lambda bot: click_without(bot, setting("response_url", 5)),
                 id="click-response-url-number"),
    pytest.param(lambda bot: {**command_fields(), "text": 5}, id="command-text-number"),
    pytest.param(lambda bot: {"type": "event_callback", "event_id": "Ev1",
                              "event": {"type": ["app_home_opened"], "user": REQUESTER}},
                 id="event-type-list"),
])
def test_without_the_http_edge_a_malformed_request_is_400_too(
        bot: RunningBot, logs: pytest.LogCaptureFixture, socket_app: App,
        body: Callable[[RunningBot], dict[str, Any]]) -> None:
    before = db_state(bot)
    response = socket_app.dispatch(BoltRequest(body=body(bot), mode="socket_mode"))
    assert response.status == 400
    assert json.loads(response.body) == REFUSED
    assert bot.container.background.wait_idle(10)
    assert len(refusal_lines(logs)) == 1
    assert tracebacks(logs) == []
    assert db_state(bot) == before
