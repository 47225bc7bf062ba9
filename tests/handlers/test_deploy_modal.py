"""`/deploy` with no text opens the deploy form (a modal), over signed Slack HTTP against
the fake Slack (views.open with the command's trigger_id); its submission, a signed
view_submission, requests the deploy as the typed command does or is refused field by field
(Slack's `response_action: errors`)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.domain.states import State
from bot.presentation import ids
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.slack_requests import boxes_value, option_value, text_value
from tests.conftest import OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import CHANNEL, ephemeral_text, request, run_to_end, wait_dm

Values = dict[str, dict[str, dict[str, Any]]]


def open_form(bot: RunningBot, *, user: str = REQUESTER) -> dict[str, Any]:
    """`/deploy` with no text: the ack says nothing, the form opens; the view as opened."""
    before = len(bot.slack.open_views())
    reply = bot.deploy("", user=user)
    assert reply.status == 200, reply.body
    assert reply.body == "", reply.body  # no "usage", no notice: the modal is the answer
    bot.slack.wait_for("views.open", count=1 + before)
    opened = bot.slack.open_views()
    assert len(opened) == 1 + before
    assert opened[-1].user_id == user
    return opened[-1].view


def values(service: str | None = "api", environment: str | None = "production",
           picked: str | None = None, typed: str | None = "v1.2.3",
           emergency: bool = False, reason: str | None = None) -> Values:
    """The form's state.values as Slack sends them (an untouched select: selected_option
    null; an empty text input: value null)."""
    return {
        ids.FORM_SERVICE: {ids.FORM_SERVICE: option_value(service)},
        ids.FORM_ENVIRONMENT: {ids.FORM_ENVIRONMENT: option_value(environment)},
        ids.FORM_VERSION: {ids.FORM_VERSION: option_value(picked)},
        ids.FORM_VERSION_TYPED: {ids.FORM_VERSION_TYPED: text_value(typed)},
        ids.FORM_EMERGENCY: {ids.FORM_EMERGENCY: boxes_value(*(["emergency"] if emergency
                                                               else []))},
        ids.FORM_REASON: {ids.FORM_REASON: text_value(reason)},
    }


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    (found,) = [b for b in view["blocks"] if b.get("block_id") == block_id]
    return found


def option_values(element: dict[str, Any]) -> list[str]:
    if "option_groups" in element:
        return [o["value"] for g in element["option_groups"] for o in g["options"]]
    return [o["value"] for o in element["options"]]


def test_the_form_opens_with_services_environments_and_recent_versions(
        bot: RunningBot) -> None:
    run_to_end(bot, request(bot, "staging v1.2.3"))
    view = open_form(bot)
    assert view["type"] == "modal" and view["callback_id"] == ids.DEPLOY_FORM
    assert view["private_metadata"] == CHANNEL  # where /deploy was typed
    service = block(view, ids.FORM_SERVICE)["element"]
    assert option_values(service) == ["api"]
    assert service["initial_option"]["value"] == "api"  # the only one
    assert option_values(block(view, ids.FORM_ENVIRONMENT)["element"]) == [
        "staging", "production"]
    # no `github:`: the versions deploybot deployed lately are offered
    assert option_values(block(view, ids.FORM_VERSION)["element"]) == ["api v1.2.3"]
    assert block(view, ids.FORM_VERSION_TYPED)["element"]["type"] == "plain_text_input"
    assert block(view, ids.FORM_EMERGENCY)["element"]["type"] == "checkboxes"


def test_without_any_deploy_yet_the_version_is_typed(bot: RunningBot) -> None:
    view = open_form(bot)
    assert [b for b in view["blocks"] if b.get("block_id") == ids.FORM_VERSION] == []
    assert block(view, ids.FORM_VERSION_TYPED)["label"]["text"] == "Version"


def test_a_good_submission_requests_the_deploy_as_the_typed_command_does(
        bot: RunningBot) -> None:
    view = open_form(bot)
    reply = bot.requester.submit_view(view, values(typed="v1.2.3"), user_id=REQUESTER)
    assert reply.status == 200
    assert reply.body == ""  # an empty ack: the modal closes
    (dm,) = wait_dm(bot)  # no response_url: the answer is a DM
    assert "Deployment #1 requested" in dm.args["text"]
    d = bot.deployment(1)
    assert (d.service, d.environment, d.version, d.requested_by, d.channel) == (
        "api", "production", "v1.2.3", REQUESTER, CHANNEL)
    assert d.state is State.AWAITING_APPROVAL
    assert bot.card(1)["text"].startswith("Deploy #1")

    typed = bot.deploy("production v1.2.3")  # the same, typed: the same answer
    assert "Deployment #2 requested" in ephemeral_text(bot, typed)


def test_a_picked_version_is_deployed(bot: RunningBot) -> None:
    run_to_end(bot, request(bot, "staging v1.2.3"))
    view = open_form(bot)  # offers v1.2.3, deployed lately (to staging, where it runs now)
    bot.requester.submit_view(view, values(environment="production", picked="api v1.2.3",
                                           typed=None), user_id=REQUESTER)
    wait_dm(bot, count=2)
    d = bot.deployment(2)
    assert (d.environment, d.version) == ("production", "v1.2.3")


def test_an_emergency_deploy_carries_its_reason(bot: RunningBot) -> None:
    view = open_form(bot)
    bot.requester.submit_view(view, values(emergency=True, reason="checkout is down"),
                              user_id=REQUESTER)
    wait_dm(bot)
    assert bot.deployment(1).emergency_reason == "checkout is down"


@pytest.mark.parametrize(("form", "block_id", "says"), [
    pytest.param(values(service=None), ids.FORM_SERVICE, "Pick a service", id="no-service"),
    pytest.param(values(environment=None), ids.FORM_ENVIRONMENT, "Pick an environment",
                 id="no-environment"),
    pytest.param(values(typed=None), ids.FORM_VERSION_TYPED, "Pick a version or type one",
                 id="no-version"),
    pytest.param(values(typed="v1 .2"), ids.FORM_VERSION_TYPED, "is not a version",
                 id="spaces"),
    pytest.param(values(typed="latest"), ids.FORM_VERSION_TYPED,
                 "is not a valid version for api", id="pattern"),
    pytest.param(values(typed="v1.2.3", picked="api v1.2.2"), ids.FORM_VERSION_TYPED,
                 "not both", id="both"),
    pytest.param(values(emergency=True), ids.FORM_REASON, "needs its reason",
                 id="emergency-without-reason"),
    pytest.param(values(emergency=True, reason="   "), ids.FORM_REASON, "needs its reason",
                 id="emergency-blank-reason"),
    pytest.param(values(reason="why not"), ids.FORM_REASON, "tick Emergency",
                 id="reason-without-emergency"),
    pytest.param(values(typed="v" + "1" * 200), ids.FORM_VERSION_TYPED,
                 "the limit is 128", id="too-long"),
])
def test_a_bad_submission_is_refused_in_the_form_naming_the_field(
        bot: RunningBot, form: Values, block_id: str, says: str) -> None:
    view = open_form(bot)
    reply = bot.requester.submit_view(view, form, user_id=REQUESTER)
    assert reply.status == 200
    assert reply.json is not None and reply.json["response_action"] == "errors", reply.body
    assert list(reply.json["errors"]) == [block_id]
    assert says in reply.json["errors"][block_id]
    assert all(b.get("block_id") for b in view["blocks"] if b["type"] == "input")
    assert bot.slack.calls("chat.postMessage") == []  # nothing requested, nobody told


def test_a_refusal_by_the_service_is_the_typed_commands_in_a_dm(bot: RunningBot) -> None:
    view = open_form(bot, user=OUTSIDER)
    reply = bot.requester.submit_view(view, values(), user_id=OUTSIDER)
    assert reply.body == ""  # the form was fine: the refusal is the service's
    (dm,) = wait_dm(bot, OUTSIDER)
    typed = bot.deploy("production v1.2.3", user=OUTSIDER)
    assert dm.args["text"] == ephemeral_text(bot, typed)
    assert "⚠️" in dm.args["text"] or "🔒" in dm.args["text"] or "🚫" in dm.args["text"]


def test_an_expired_trigger_is_told_on_the_commands_response_url(bot: RunningBot) -> None:
    bot.slack.expire_triggers()  # as if 3 seconds had passed: only new triggers are fresh
    original = bot.requester._trigger

    def stale(user_id: str) -> str:  # the command's trigger is issued, then expires
        trigger_id = original(user_id)
        bot.slack.expire_triggers()
        return trigger_id

    bot.requester._trigger = stale  # type: ignore[method-assign]
    reply = bot.deploy("")
    text = ephemeral_text(bot, reply)
    assert "would not open the form" in text and "3 seconds" in text
    (call,) = bot.slack.calls("views.open")
    assert bot.slack.open_views() == []
    assert call.args["trigger_id"]


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    return FakeGitHub(httpserver, {"acme/api": ["v1.3.0", "v1.2.4", "v1.2.3"],
                                   "acme/web": ["w2", "w1"]})


@pytest.mark.parametrize("config_data", ["github"], indirect=True)
def test_with_github_the_repositorys_tags_are_offered_by_service(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    view = open_form(bot)
    element = block(view, ids.FORM_VERSION)["element"]
    assert [g["label"]["text"] for g in element["option_groups"]] == [
        "api (the repository's tags)", "web (the repository's tags)"]
    assert option_values(element) == ["api v1.3.0", "api v1.2.4", "api v1.2.3",
                                      "web w2", "web w1"]
    # a version picked from the other service's list is refused under the select
    reply = bot.requester.submit_view(
        view, values(service="api", picked="web w2", typed=None), user_id=REQUESTER)
    assert reply.json is not None
    assert "is a version of web" in reply.json["errors"][ids.FORM_VERSION]


@pytest.fixture
def config_data(request: pytest.FixtureRequest) -> dict[str, Any]:
    if getattr(request, "param", None) != "github":
        return base_config()
    fake: FakeGitHub = request.getfixturevalue("fake_github")
    return base_config(
        services={"api": {"executor": "simulated", "github": {"repository": "acme/api"}},
                  "web": {"executor": "simulated", "github": {"repository": "acme/web"},
                          "version_pattern": "w[0-9]+"}},
        github={"api_url": fake.url})
