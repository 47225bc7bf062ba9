"""The Files port over slack_sdk's files_upload_v2, against the fake Slack's three upload
steps: the bytes arrive whole, the file is shared where asked (a thread, a user's DM), and
Slack's refusals become deploybot's errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.backends.slack.files import SlackFiles
from bot.errors import PermanentError
from bot.ports.slack import NotInChannel
from devtools.fake_slack import UPLOAD_METHOD, FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture
def files(fake: FakeSlack) -> SlackFiles:
    return SlackFiles(WebClient(token="xoxb-test", base_url=fake.base_url))


def test_a_file_is_uploaded_in_three_steps_and_shared_in_the_thread(
    fake: FakeSlack, files: SlackFiles,
) -> None:
    text = "line one\nline two — ünïcode\n" * 1000
    link = files.upload(channel="C0DEPLOYS", thread_ts="1700000000.000100",
                        filename="api-logs.txt", content=text, title="api logs",
                        initial_comment="the tail")

    assert [c.method for c in fake.calls()] == [
        "files.getUploadURLExternal", UPLOAD_METHOD, "files.completeUploadExternal"]
    declared = fake.calls("files.getUploadURLExternal")[0].args
    assert (declared["filename"], int(declared["length"])) == (
        "api-logs.txt", len(text.encode()))
    (shared,) = fake.uploaded_files("C0DEPLOYS")
    assert shared.text == text
    assert (shared.title, shared.thread_ts, shared.initial_comment) == (
        "api logs", "1700000000.000100", "the tail")
    assert link == shared.permalink
    (message,) = [m for m in fake.messages("C0DEPLOYS") if m.get("files")]
    assert message["thread_ts"] == "1700000000.000100"
    assert message["files"] == [shared.id]


def test_to_a_user_it_goes_to_their_dm(fake: FakeSlack, files: SlackFiles) -> None:
    files.upload(channel="U0ALICE", filename="x.txt", content="x", title="x")
    assert fake.calls("conversations.open")[0].args["users"] == "U0ALICE"
    (shared,) = fake.uploaded_files()
    assert shared.channel == "DU0ALICE"


def test_a_channel_the_bot_is_not_in_is_not_in_channel(fake: FakeSlack,
                                                        files: SlackFiles) -> None:
    fake.set_channel("C0PRIVATE1", "secret", member=False)
    with pytest.raises(NotInChannel, match="invite it"):
        files.upload(channel="C0PRIVATE1", filename="x.txt", content="x", title="x")
    assert fake.uploaded_files() == []


def test_slacks_other_refusals_are_permanent(fake: FakeSlack, files: SlackFiles) -> None:
    fake.set_max_file_bytes(10)
    with pytest.raises(PermanentError, match="file_upload_size_restricted") as e:
        files.upload(channel="C0DEPLOYS", filename="x.txt", content="x" * 11, title="x")
    assert not isinstance(e.value, NotInChannel)


def test_the_fake_refuses_what_slack_refuses(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    with pytest.raises(SlackApiError) as empty:
        client.files_getUploadURLExternal(filename="x.txt", length=0)
    assert empty.value.response["error"] == "missing_argument"
    file_id = client.files_getUploadURLExternal(filename="x.txt", length=1)["file_id"]
    with pytest.raises(SlackApiError) as never_uploaded:
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C0DEPLOYS")
    assert never_uploaded.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as user_id:
        client.files_upload_v2(channel="U0ALICE", filename="x.txt", content="x")
    assert user_id.value.response["error"] == "invalid_arguments"
