"""What the fake Slack refuses in Block Kit (devtools/fake_slack_blocks.py), rule by rule: the
payload at Slack's documented limit is taken, one past it is refused with the json pointer
Slack names; and every way a message reaches Slack (chat.postMessage, chat.update,
chat.postEphemeral, a response_url post) answers as Slack does and is kept in
FakeSlack.refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from devtools.fake_slack import FakeSlack
from devtools.fake_slack_blocks import message_problems, text_truncated, view_problems

Block = dict[str, Any]


def plain(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "hi", **more: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **more}


def button(text: str = "Go", **more: Any) -> Block:
    return {"type": "button", "action_id": "go", "text": plain(text), **more}


def actions(*elements: Block) -> Block:
    return {"type": "actions", "elements": list(elements)}


def confirm(title: str = "Sure?", text: str = "Really?", yes: str = "Yes",
            no: str = "No") -> Block:
    return {"title": plain(title), "text": mrkdwn(text), "confirm": plain(yes),
            "deny": plain(no)}


def option(text: str = "a", value: str = "a") -> Block:
    return {"text": plain(text), "value": value}


def select(options: list[Block]) -> Block:
    return {"type": "static_select", "action_id": "pick", "placeholder": plain("Pick"),
            "options": options}


def fields(n: int, size: int = 10) -> Block:
    return {"type": "section", "fields": [mrkdwn("f" * size) for _ in range(n)]}


def context(n: int, size: int = 10) -> Block:
    return {"type": "context", "elements": [mrkdwn("c" * size) for _ in range(n)]}


def buttons(n: int) -> Block:
    return actions(*[{**button(), "action_id": f"b{i}"} for i in range(n)])


#: Each rule: the blocks at Slack's limit (taken), one past it (refused), and the json pointer
#: and words of Slack's message.
RULES: list[tuple[str, list[Block], list[Block], str]] = [
    ("50 blocks a message", [section()] * 50, [section()] * 51,
     "no more than 50 items allowed [json-pointer:/blocks]"),
    ("section text 3000", [section("s" * 3000)], [section("s" * 3001)],
     "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
    ("section fields 10", [fields(10)], [fields(11)],
     "no more than 10 items allowed [json-pointer:/blocks/0/fields]"),
    ("section field 2000", [fields(1, 2000)], [fields(1, 2001)],
     "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"),
    ("header 150", [{"type": "header", "text": plain("h" * 150)}],
     [{"type": "header", "text": plain("h" * 151)}],
     "must be less than 151 characters [json-pointer:/blocks/0/text/text]"),
    ("header plain_text only", [{"type": "header", "text": plain("*h*")}],
     [{"type": "header", "text": mrkdwn("*h*")}],
     "must be plain_text, not mrkdwn [json-pointer:/blocks/0/text/type]"),
    ("context 10 elements", [context(10)], [context(11)],
     "no more than 10 items allowed [json-pointer:/blocks/0/elements]"),
    ("context text 3000", [context(1, 3000)], [context(1, 3001)],
     "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]"),
    ("actions 25 elements", [buttons(25)], [buttons(26)],
     "no more than 25 items allowed [json-pointer:/blocks/0/elements]"),
    ("button text 75", [actions(button("b" * 75))], [actions(button("b" * 76))],
     "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"),
    ("button plain_text only", [actions(button())],
     [actions({**button(), "text": mrkdwn("*Go*")})],
     "must be plain_text, not mrkdwn [json-pointer:/blocks/0/elements/0/text/type]"),
    ("button value 2000", [actions(button(value="v" * 2000))],
     [actions(button(value="v" * 2001))],
     "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"),
    ("action_id 255", [actions({**button(), "action_id": "a" * 255})],
     [actions({**button(), "action_id": "a" * 256})],
     "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]"),
    ("block_id 255", [section(block_id="b" * 255)], [section(block_id="b" * 256)],
     "must be less than 256 characters [json-pointer:/blocks/0/block_id]"),
    ("url 3000", [actions(button(url="https://x/" + "u" * 2990))],
     [actions(button(url="https://x/" + "u" * 2991))],
     "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]"),
    ("empty text", [section("x")], [section("")],
     "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
    ("confirm title 100", [actions(button(confirm=confirm(title="t" * 100)))],
     [actions(button(confirm=confirm(title="t" * 101)))],
     "must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title/text]"),
    ("confirm title plain_text only", [actions(button(confirm=confirm()))],
     [actions(button(confirm={**confirm(), "title": mrkdwn("Sure?")}))],
     "must be plain_text, not mrkdwn [json-pointer:/blocks/0/elements/0/confirm/title/type]"),
    ("confirm text 300", [actions(button(confirm=confirm(text="t" * 300)))],
     [actions(button(confirm=confirm(text="t" * 301)))],
     "must be less than 301 characters [json-pointer:/blocks/0/elements/0/confirm/text/text]"),
    ("confirm button 30", [actions(button(confirm=confirm(yes="y" * 30)))],
     [actions(button(confirm=confirm(yes="y" * 31)))],
     "must be less than 31 characters "
     "[json-pointer:/blocks/0/elements/0/confirm/confirm/text]"),
    ("deny button 30", [actions(button(confirm=confirm(no="n" * 30)))],
     [actions(button(confirm=confirm(no="n" * 31)))],
     "must be less than 31 characters [json-pointer:/blocks/0/elements/0/confirm/deny/text]"),
    ("select 100 options", [actions(select([option(value=str(i)) for i in range(100)]))],
     [actions(select([option(value=str(i)) for i in range(101)]))],
     "no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]"),
    ("option text 75", [actions(select([option(text="o" * 75)]))],
     [actions(select([option(text="o" * 76)]))],
     "must be less than 76 characters "
     "[json-pointer:/blocks/0/elements/0/options/0/text/text]"),
    ("option text plain_text in a select", [actions(select([option()]))],
     [actions(select([{**option(), "text": mrkdwn("a")}]))],
     "must be plain_text, not mrkdwn "
     "[json-pointer:/blocks/0/elements/0/options/0/text/type]"),
    ("option value 150", [actions(select([option(value="v" * 150)]))],
     [actions(select([option(value="v" * 151)]))],
     "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]"),
    ("action_id once in a block",
     [actions({**button(), "action_id": "a"}, {**button(), "action_id": "b"})],
     [actions({**button(), "action_id": "a"}, {**button(), "action_id": "a"})],
     "duplicate action_id 'a' [json-pointer:/blocks/0/elements/1/action_id]"),
    ("block_id once in a message", [section(block_id="a"), section(block_id="b")],
     [section(block_id="a"), section(block_id="a")],
     "duplicate block_id 'a' [json-pointer:/blocks/1/block_id]"),
    ("divider has no text", [{"type": "divider", "block_id": "d"}],
     [{"type": "divider", "text": plain("x")}],
     "invalid additional property: text [json-pointer:/blocks/0]"),
    ("image needs its alt_text",
     [{"type": "image", "image_url": "https://x/i.png", "alt_text": "a" * 2000}],
     [{"type": "image", "image_url": "https://x/i.png"}],
     "missing required field: alt_text [json-pointer:/blocks/0]"),
    ("image alt_text 2000",
     [{"type": "image", "image_url": "https://x/i.png", "alt_text": "a" * 2000}],
     [{"type": "image", "image_url": "https://x/i.png", "alt_text": "a" * 2001}],
     "must be less than 2001 characters [json-pointer:/blocks/0/alt_text]"),
    ("a block Slack does not know", [section()], [{"type": "sectoin", "text": mrkdwn("x")}],
     "failed to match all allowed schemas [json-pointer:/blocks/0]"),
    ("emoji only in plain_text", [{"type": "header", "text": {**plain("h"), "emoji": True}}],
     [section() | {"text": {**mrkdwn("x"), "emoji": True}}],
     "invalid additional property: emoji [json-pointer:/blocks/0/text]"),
]


@pytest.mark.parametrize(("taken", "refused", "says"), [r[1:] for r in RULES],
                         ids=[r[0] for r in RULES])
def test_each_rule_takes_the_limit_and_refuses_past_it(
        taken: list[Block], refused: list[Block], says: str) -> None:
    assert message_problems(taken) == []
    assert says in message_problems(refused)


#: A modal at every limit of its own (https://docs.slack.dev/reference/views/modal-views).
MODAL: Block = {
    "type": "modal", "title": plain("t" * 24), "submit": plain("s" * 24),
    "close": plain("c" * 24), "callback_id": "c" * 255, "private_metadata": "m" * 3000,
    "blocks": [{"type": "input", "block_id": "why", "label": plain("l" * 2000),
                "hint": plain("h" * 2000),
                "element": {"type": "plain_text_input", "action_id": "why",
                            "max_length": 3000, "placeholder": plain("p" * 150)}}],
}


@pytest.mark.parametrize(("change", "says"), [
    ({"title": plain("t" * 25)}, "must be less than 25 characters [json-pointer:/view/title/text]"),
    ({"submit": plain("s" * 25)}, "[json-pointer:/view/submit/text]"),
    ({"close": plain("c" * 25)}, "[json-pointer:/view/close/text]"),
    ({"title": mrkdwn("t")}, "must be plain_text, not mrkdwn [json-pointer:/view/title/type]"),
    ({"callback_id": "c" * 256}, "must be less than 256 characters "
     "[json-pointer:/view/callback_id]"),
    ({"private_metadata": "m" * 3001}, "must be less than 3001 characters "
     "[json-pointer:/view/private_metadata]"),
    ({"blocks": [{**MODAL["blocks"][0], "label": plain("l" * 2001)}]},
     "[json-pointer:/view/blocks/0/label/text]"),
    ({"blocks": [{**MODAL["blocks"][0], "hint": plain("h" * 2001)}]},
     "[json-pointer:/view/blocks/0/hint/text]"),
    ({"blocks": [{**MODAL["blocks"][0], "element": {
        **MODAL["blocks"][0]["element"], "max_length": 3001}}]},
     "must be between 1 and 3000 [json-pointer:/view/blocks/0/element/max_length]"),
    ({"blocks": [section()] * 101}, "no more than 100 items allowed [json-pointer:/view/blocks]"),
])
def test_a_modal_at_its_limits_is_taken_one_past_is_refused(change: Block, says: str) -> None:
    assert view_problems(MODAL) == []
    assert view_problems({**MODAL, "blocks": [section()] * 100, "submit": plain("OK")}) == []
    assert any(says in p for p in view_problems({**MODAL, **change}))


def test_the_top_level_text_is_cut_past_40000_characters() -> None:
    assert not text_truncated("t" * 40_000)
    assert text_truncated("t" * 40_001)


# -- through the fake's HTTP API ---------------------------------------------------------

@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


TOO_LONG = [section("s" * 3001)]


def test_chat_methods_answer_invalid_blocks_naming_the_pointer(
        fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="ok", blocks=[section("s" * 3000)])
    calls = {
        "chat.postMessage": lambda: client.chat_postMessage(channel="C1", text="x",
                                                            blocks=TOO_LONG),
        "chat.update": lambda: client.chat_update(channel="C1", ts=posted["ts"], text="x",
                                                  blocks=TOO_LONG),
        "chat.postEphemeral": lambda: client.chat_postEphemeral(channel="C1", user="U1",
                                                                text="x", blocks=TOO_LONG),
    }
    for method, call in calls.items():
        with pytest.raises(SlackApiError) as e:
            call()
        answer = e.value.response
        assert answer.status_code == 200, method
        assert answer["error"] == "invalid_blocks", method
        assert answer["response_metadata"]["messages"] == [
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    assert [r.call.method for r in fake.refusals()] == list(calls)
    (kept,) = fake.messages("C1")
    assert kept["blocks"] == [section("s" * 3000)]  # the refused update changed nothing


def test_a_message_without_text_or_blocks_is_no_text(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as e, pytest.warns(UserWarning, match="`text`"):
        client.chat_postMessage(channel="C1", text="")
    assert e.value.response["error"] == "no_text"
    assert [r.error for r in fake.refusals()] == ["no_text"]


def test_a_response_url_post_slack_would_refuse_is_http_400(fake: FakeSlack) -> None:
    webhook = WebhookClient(fake.response_url("r1"))
    assert webhook.send(text="ok", blocks=[section("s" * 3000)]).status_code == 200
    refused = webhook.send(text="x", blocks=[section()] * 51)
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    (refusal,) = fake.refusals()
    assert refusal.call.key == "r1"
    assert refusal.messages == ("no more than 50 items allowed [json-pointer:/blocks]",)


def test_a_text_over_40000_characters_is_posted_cut_with_a_warning(
        fake: FakeSlack, client: WebClient) -> None:
    answer = client.chat_postMessage(channel="C1", text="t" * 40_001)
    assert answer["warning"] == "message_truncated"
    assert answer["response_metadata"]["warnings"] == ["message_truncated"]
    (kept,) = fake.messages("C1")
    assert len(kept["text"]) == 40_000
    assert [r.error for r in fake.refusals()] == ["message_truncated"]
    client.chat_postMessage(channel="C1", text="t" * 40_000)
    assert len(fake.refusals()) == 1
