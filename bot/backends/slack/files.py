"""Text files shared in Slack (the Files port), through slack_sdk's `files_upload_v2`: it
asks files.getUploadURLExternal for an upload URL, POSTs the bytes there, then shares the
file with files.completeUploadExternal (https://docs.slack.dev/reference/methods/files.getUploadURLExternal,
https://docs.slack.dev/reference/methods/files.completeUploadExternal; files.upload is
retired). The bot token needs the `files:write` scope, and the bot must be a member of the
channel (`not_in_channel` otherwise: sharing a file is not chat:write.public's)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.backends.slack.client import slack_call
from bot.domain.text import channel_ref
from bot.errors import PermanentError
from bot.ports.slack import NotInChannel


class SlackFiles:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def _conversation(self, channel: str) -> str:
        """A user id becomes their DM with the bot: completeUploadExternal takes only
        conversation ids (C…, G…, D…)."""
        if channel[:1] not in ("U", "W"):
            return channel
        opened = slack_call(self._client.conversations_open, users=channel)
        return str(opened["channel"]["id"])

    def upload(self, *, channel: str, filename: str, content: str, title: str,
               initial_comment: str | None = None, thread_ts: str | None = None) -> str:
        conversation = self._conversation(channel)
        kw: dict[str, Any] = {"channel": conversation, "filename": filename,
                              "content": content, "title": title}
        if initial_comment:
            kw["initial_comment"] = initial_comment
        if thread_ts:
            kw["thread_ts"] = thread_ts
        try:
            res = slack_call(self._client.files_upload_v2, **kw)
        except PermanentError as e:
            cause = e.__cause__
            if isinstance(cause, SlackApiError) and \
                    cause.response.get("error") == "not_in_channel":
                raise NotInChannel(f"deploybot is not a member of {channel_ref(conversation)}: "
                                   "invite it (/invite @deploybot) to share files there") from e
            raise
        files = res.get("files") or [res.get("file") or {}]
        return str(files[0].get("permalink") or "")
