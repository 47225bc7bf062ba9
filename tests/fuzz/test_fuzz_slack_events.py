"""`POST /slack/events` fuzzed over real HTTP (issue 14).

Bodies: arbitrary bytes; arbitrary JSON shapes as a JSON body and as a form's `payload=`;
arbitrary forms; block_actions clicks whose `actions`, `user`, `container`, `response_url`,
`trigger_id`… have any shape; slash-command forms with any unicode `text`, `command` and
`user_id`; Events API callbacks of any shape. Headers: any `Content-Type`,
`X-Slack-Request-Timestamp` and `X-Slack-Signature` values, or a valid signature over the
exact bytes (most examples, so that the bodies reach Bolt and the listeners).

Properties, per request:
- never a 5xx; never a record with a traceback in any log (the bot's, Bolt's, uvicorn's),
  including the work the request left to the background pools;
- not signed by Slack's scheme → 401, whatever the body (Slack's SSL check excepted: 200);
  signed by it → never 401;
- refused (400 or 401) → nothing changed: no row in any table (Slack request claims and
  audit rows included), no claim kept in memory, no call to Slack;
- accepted → only the request trail changed: audit rows, the request's claim, and the App
  Home's viewers (an app_home_opened). The fuzzed users hold no role and no deployment
  exists, so nothing else may change.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl

from hypothesis import event, example, given, note, settings

from devtools.slack_requests import block_actions_body
from tests.conftest import APPROVER
from tests.fuzz.harness import (
    FORM,
    JSON_TYPE,
    Served,
    changed,
    is_ssl_check,
    slack_verdict,
)
from tests.fuzz.profiles import scaled
from tests.fuzz.strategies import (
    CLOSED_URL,
    RESPONSE_URL,
    Signing,
    SlackDraft,
    signings,
    slack_drafts,
)

#: What an accepted request may change: the audit trail, its claim, the Home's viewers.
TRAIL = {"audit_events", "claims.slack", "memory.slack_claims", "app_home_viewers"}


SIGNED = Signing("now", 0, "valid", "", "")


def click(action_id: str = "deploy.approve", value: str = "1", *, drop: tuple[str, ...] = (),
          **changes: object) -> dict[str, object]:
    """A genuine block_actions payload (an approver's click, Approve by default) with
    `changes`, and without the fields in `drop`."""
    body = block_actions_body(user_id=APPROVER, action_id=action_id, value=value,
                              response_url=RESPONSE_URL)
    payload: dict[str, object] = json.loads(dict(parse_qsl(body))["payload"])
    payload.update(changes)
    for name in drop:
        del payload[name]
    return payload


# Found by this test (the minimal examples), and the shapes issue 14 lists: checked first on
# every run, whatever the profile.
@example(draft=SlackDraft("bytes", b"view=", FORM, "found"), signing=SIGNED)
@example(draft=SlackDraft("payload", {"view": None}, FORM, "found"), signing=SIGNED)
@example(draft=SlackDraft("payload", {"event": None}, FORM, "found"), signing=SIGNED)
@example(draft=SlackDraft("payload", click("rollback.confirm", "", drop=("response_url",)),
                          FORM, "found"), signing=SIGNED)
@example(draft=SlackDraft("json", {"type": "event_callback", "event_id": "Ev1",
                                   "event": {"type": "app_home_opened", "user": ""}},
                          JSON_TYPE, "found"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(actions=[]), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(actions={}), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(actions="x"), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(actions=[None]), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(actions=[{}]), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(actions=[1]), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(user=None), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(container=5), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(response_url=5), FORM, "issue"), signing=SIGNED)
@example(draft=SlackDraft("payload", click(response_url=CLOSED_URL), FORM, "found"),
         signing=SIGNED)
@settings(max_examples=scaled(1.5))  # the widest input space, and most answers are quick
@given(draft=slack_drafts, signing=signings)
def test_no_slack_request_crashes_or_changes_what_it_may_not(
        served: Served, draft: SlackDraft, signing: Signing) -> None:
    fake = served.bot.slack
    served.settle()
    served.logs.clear()
    before = served.snapshot()
    slack_calls = len(fake.calls())

    body = draft.body(fake.response_url(fake.new_response_key("fuzz")))
    now = time.time()
    timestamp, signature = signing.headers(body, now)
    headers: dict[str, str | bytes] = {}
    if draft.content_type is not None:
        headers["Content-Type"] = draft.content_type.encode("latin-1")
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    note(f"body={body[:2000]!r}")
    note(f"headers={headers!r}")
    answer = served.post("/slack/events", body, headers)
    note(f"answer={answer.status} {answer.body[:500]!r} in {answer.elapsed:.3f}s")
    served.settle()
    after = served.snapshot()
    tracebacks = served.logs.tracebacks()
    event(f"{draft.shape}: {answer.status}")

    assert answer.status < 500, answer.body[:500]
    assert tracebacks == [], tracebacks
    verdict = slack_verdict(body, timestamp, signature, now=now)
    refused = answer.status in (400, 401)
    if is_ssl_check(body):
        assert answer.status == 200 and answer.body == b""
        refused = True  # answered, and nothing of it read
    elif verdict is False:
        assert answer.status == 401, answer.body[:500]
    elif verdict is True:  # signed as Slack signs: whatever else is wrong, not "unsigned"
        assert answer.status != 401, answer.body[:500]
    elif answer.status == 400:
        assert json.loads(answer.body) == {"ok": False, "error": "malformed request"}
    if refused:
        assert changed(before, after) == {}
        assert len(fake.calls()) == slack_calls, [c.method for c in fake.calls()[slack_calls:]]
    else:
        assert set(changed(before, after)) <= TRAIL, changed(before, after)
