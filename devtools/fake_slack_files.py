"""File uploads for the fake Slack (devtools/fake_slack.py), the way Slack takes them since
files.upload was retired: three steps, as slack_sdk's `files_upload_v2` makes them.

1. `files.getUploadURLExternal` (https://docs.slack.dev/reference/methods/files.getUploadURLExternal):
   `filename` and `length` (bytes) required; answers `upload_url` and `file_id`. A length
   of 0 is `missing_argument` ("typically only occurs when the length provided is 0"), a
   file larger than the workspace allows `file_upload_size_restricted` (here `max_bytes`,
   1 GB by default: slack_sdk's MAX_V2_FILE_SIZE, "Slack files.upload limit").
2. A POST of the bytes to `upload_url` ("files can be sent as raw bytes or can be multipart
   form encoded. Slack will return HTTP 200 if the upload was successful"): slack_sdk posts
   raw bytes; an unknown URL is a 404.
3. `files.completeUploadExternal` (https://docs.slack.dev/reference/methods/files.completeUploadExternal):
   `files` (a JSON array of {id, title}) required; `channel_id` (where it is shared; none:
   the file stays private), `thread_ts` (a reply in that message's thread),
   `initial_comment` (the message introducing it). Answers `files`, each with its
   `permalink`. Errors: a file id not uploaded `file_not_found`; a user id as `channel_id`
   `invalid_arguments` (it must be a conversation id, `^[CGDZ][A-Z0-9]{8,}$`: the DM's D…,
   see slackapi/bolt-js#2115; the fake checks the first letter only, its own DM ids being
   shorter than Slack's); a channel the bot is not in `not_in_channel` (the upload
   needs real membership, unlike chat.postMessage with chat:write.public: getnao/nao#1372).

A shared file is also a message in its channel (or thread), as Slack shows it, with its
`initial_comment` as the text and the file ids under `files`; `UploadedFile.text` is what
the tests read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

#: slack_sdk's MAX_V2_FILE_SIZE (1 GB), the most Slack takes in one file.
MAX_BYTES = 1024 * 1024 * 1024
UPLOAD_PATH = "/upload/v1/"
#: A conversation id. `#name` too: where Slack answers chat.postMessage to `#name` with the
#: channel's id (C…), this fake answers with `#name` itself, so in its world `#name` is the
#: id a bot would have stored (the deployments channel under `deploybot shell`).
_CONVERSATION_ID = re.compile(r"^(?:[CGDZ][A-Z0-9]{2,}|#[a-z0-9._-]+)$")


@dataclass
class UploadedFile:
    """One file through the three steps: declared, then its bytes, then shared."""

    id: str
    filename: str
    length: int  # as declared in step 1
    content: bytes | None = None  # step 2
    title: str | None = None  # step 3, as the rest
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False
    message_ts: str | None = None  # the message that shares it in `channel`

    @property
    def text(self) -> str:
        return (self.content or b"").decode("utf-8", errors="replace")

    @property
    def permalink(self) -> str:
        return f"https://example.slack.com/files/UBOT/{self.id}/{self.filename}"

    def as_json(self) -> dict[str, Any]:
        """The file object Slack answers with (the fields deploybot and slack_sdk read)."""
        return {"id": self.id, "name": self.filename, "title": self.title or self.filename,
                "size": len(self.content or b""), "mimetype": "text/plain",
                "filetype": "text", "permalink": self.permalink,
                "channels": [self.channel] if self.channel else []}


def _multipart_file(body: bytes, content_type: str) -> bytes:
    """The first part of a multipart/form-data body (the file), as Slack also accepts."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload
    return b""


class FileUploads:
    """The fake's files; every method runs with the fake's lock held."""

    def __init__(self, *, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.files: dict[str, UploadedFile] = {}
        self._counter = 0

    def get_upload_url(self, args: dict[str, Any], root_url: str) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        try:
            length = int(str(args.get("length") or "0"))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not filename or length <= 0:
            return {"ok": False, "error": "missing_argument"}
        if length > self.max_bytes:
            return {"ok": False, "error": "file_upload_size_restricted"}
        self._counter += 1
        file_id = f"F{self._counter:010d}"
        self.files[file_id] = UploadedFile(id=file_id, filename=filename, length=length)
        return {"ok": True, "upload_url": f"{root_url}{UPLOAD_PATH}{file_id}",
                "file_id": file_id}

    def receive(self, file_id: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        """Step 2: (HTTP status, body) as files.slack.com answers."""
        f = self.files.get(file_id)
        if f is None or f.completed:
            return 404, b"Not Found"
        if content_type.lower().startswith("multipart/form-data"):
            body = _multipart_file(body, content_type)
        f.content = body
        return 200, f"OK - {len(body)}".encode()

    def complete(self, args: dict[str, Any], *, member: Any,
                 post: Any) -> dict[str, Any]:
        """Step 3. `member(channel)`: whether the bot is in it; `post(channel, thread_ts,
        text, file_ids)`: the sharing message's ts."""
        raw = args.get("files")
        try:
            items = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(items, list) or not items:
            return {"ok": False, "error": "invalid_arguments"}
        files: list[UploadedFile] = []
        for item in items:
            f = self.files.get(str(item.get("id") if isinstance(item, dict) else ""))
            if f is None or f.content is None or f.completed:
                return {"ok": False, "error": "file_not_found"}
            files.append(f)
        channel = str(args.get("channel_id") or "") or None
        thread_ts = str(args.get("thread_ts") or "") or None
        if channel is not None and not _CONVERSATION_ID.match(channel):
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {
                "messages": ["[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ "
                             "[json-pointer:/channel_id]"]}}
        if channel is not None and not member(channel):
            return {"ok": False, "error": "not_in_channel"}
        comment = args.get("initial_comment")
        ts = post(channel, thread_ts, comment, [f.id for f in files]) if channel else None
        for f, item in zip(files, items, strict=True):
            f.title = str(item.get("title") or f.filename)
            f.channel, f.thread_ts, f.completed, f.message_ts = channel, thread_ts, True, ts
            f.initial_comment = str(comment) if comment is not None else None
        return {"ok": True, "files": [f.as_json() for f in files]}
