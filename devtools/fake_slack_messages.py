"""Messages in the fake Slack (devtools/fake_slack.py): what the bot posted, updated and
deleted, the ``ts`` each got, the ``chat.*`` Web API methods and Slack's answer to a post to
a response_url (``response_post``).

- ``chat.postMessage`` (https://docs.slack.dev/reference/methods/chat.postMessage): a
  message in ``channel`` (or, for a user id, in the DM ``D`` + the id), in a thread when
  ``thread_ts`` is given; answers its ``channel``, ``ts`` and the ``message`` as Slack
  shows it. No channel is ``channel_not_found``.
- ``chat.update`` (https://docs.slack.dev/reference/methods/chat.update): the ``text``
  and/or ``blocks`` sent replace the message's.
- ``chat.delete`` (https://docs.slack.dev/reference/methods/chat.delete): an unknown
  message is ``message_not_found``.
- ``chat.postEphemeral`` (https://docs.slack.dev/reference/methods/chat.postEphemeral):
  answers a ``message_ts``; Slack keeps no copy, nor does the fake.
- ``chat.getPermalink`` (https://docs.slack.dev/reference/methods/chat.getPermalink).

Every message is checked as Slack checks it (``refusal``): blocks Slack would refuse
(devtools/fake_slack_blocks.py) are ``invalid_blocks`` with ``errors`` and
``response_metadata.messages`` naming each json pointer, as chat.postMessage documents
(https://docs.slack.dev/reference/methods/chat.postMessage, Errors); a message with neither
``text`` nor ``blocks`` (nor ``attachments``) is ``no_text``; a ``text`` over 40,000
characters is posted cut, with the warning ``message_truncated``
(https://api.slack.com/changelog/2018-04-truncating-really-long-messages).

A file shared with ``files.completeUploadExternal`` is a message too (``post_file``).
Each ``ts`` is unique within the fake, counting up from 1700000000.000100.
"""

from __future__ import annotations

from typing import Any

from devtools.fake_slack_blocks import TEXT_TRUNCATED_AT, message_problems, text_truncated
from devtools.fake_slack_http import Call, Refusal
from devtools.fake_slack_workspace import BOT_ID, BOT_USER_ID
from devtools.httpbits import Reply

_TS_BASE_SECONDS = 1_700_000_000


class FakeMessages:
    """The fake's messages by (channel, ts), in post order. Not thread-safe on its own:
    FakeSlack holds its lock around every call."""

    def __init__(self) -> None:
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts_counter = 0

    # -- test helpers ----------------------------------------------------------------
    def current(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Copies of the messages (of ``channel``) as they are now, in post order."""
        return [
            dict(m)
            for m in self._messages.values()
            if channel is None or m["channel"] == channel
        ]

    def clear(self) -> None:
        """Forget every message (the ts counter goes on)."""
        self._messages.clear()

    def next_ts(self) -> str:
        self._ts_counter += 1
        n = 99 + self._ts_counter
        return f"{_TS_BASE_SECONDS + n // 1_000_000}.{n % 1_000_000:06d}"

    def post_file(self, channel: str, thread_ts: str | None, text: Any,
                  file_ids: list[str]) -> str:
        """The message sharing ``file_ids`` in ``channel`` (devtools/fake_slack_files); its ts."""
        ts = self.next_ts()
        self._messages[(channel, ts)] = {"channel": channel, "ts": ts,
                                         "thread_ts": thread_ts, "text": text,
                                         "blocks": None, "files": file_ids}
        return ts

    # -- Web API methods -------------------------------------------------------------
    def post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        refused = refusal(args, needs_text=True)
        if refused is not None:
            return refused
        if channel[0] in ("U", "W"):
            channel = "D" + channel
        ts = self.next_ts()
        thread_ts = args.get("thread_ts") or None
        text = kept_text(args.get("text"))
        blocks = args.get("blocks")
        self._messages[(channel, ts)] = {
            "channel": channel,
            "ts": ts,
            "thread_ts": thread_ts,
            "text": text,
            "blocks": blocks,
        }
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": text if text is not None else "",
            "blocks": blocks if blocks is not None else [],
            "ts": ts,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        return warned(args, {"ok": True, "channel": channel, "ts": ts, "message": message})

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("ts") or "")
        existing = self._messages.get((channel, ts))
        refused = refusal(args, needs_text=False)
        if refused is not None:
            return refused
        text = kept_text(args.get("text"))
        if existing is not None:
            if "text" in args:
                existing["text"] = text
            if "blocks" in args:
                existing["blocks"] = args.get("blocks")
            text = existing["text"]
        return warned(args, {"ok": True, "channel": channel, "ts": ts,
                             "text": text if text is not None else ""})

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("ts") or "")
        if self._messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        refused = refusal(args, needs_text=True)
        if refused is not None:
            return refused
        return warned(args, {"ok": True, "message_ts": self.next_ts()})

    def get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        ts = str(args.get("message_ts") or args.get("ts") or "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }


def refusal(args: dict[str, Any], *, needs_text: bool) -> dict[str, Any] | None:
    """Slack's answer to a message it will not post (None: it posts it)."""
    blocks = args.get("blocks")
    if isinstance(blocks, str):  # not JSON: slack_sdk sends a list, JSON-encoded
        return {"ok": False, "error": "invalid_blocks_format"}
    if blocks is not None:
        problems = message_problems(blocks)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems,
                    "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]}}
    if needs_text and not args.get("text") and not blocks and not args.get("attachments"):
        return {"ok": False, "error": "no_text"}
    return None


def response_post(call: Call) -> tuple[Reply, Refusal | None]:
    """Slack's answer to a post to a response_url: its blocks checked as chat.postMessage's.
    Slack documents no error list for response URLs; they post as incoming webhooks do,
    whose errors are HTTP 400 with the error as plain text
    (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks), and
    a webhook's refused blocks have been reported as HTTP 400 `invalid_blocks`
    (github.com/slackapi/java-slack-sdk/issues/1017) — FakeSlack answers so. Not documented
    for response URLs as such: our best reading, not Slack's word."""
    blocks = call.args.get("blocks")
    problems = message_problems(blocks) if blocks is not None else []
    if problems:
        return (Reply(400, b"invalid_blocks", "text/plain; charset=utf-8"),
                Refusal(call, "invalid_blocks", tuple(problems)))
    return Reply(200, b"ok", "text/plain; charset=utf-8"), None


def kept_text(text: Any) -> Any:
    """The `text` as Slack keeps it: cut at 40,000 characters."""
    return text[:TEXT_TRUNCATED_AT] if text_truncated(text) else text


def warned(args: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` with the warning Slack adds when it cut the `text`."""
    if text_truncated(args.get("text")):
        answer["warning"] = "message_truncated"
        answer["response_metadata"] = {
            "warnings": ["message_truncated"],
            "messages": ["[WARN] Your message was truncated but still posted. The `text` "
                         "field accepts up to 40,000 characters."]}
    return answer
