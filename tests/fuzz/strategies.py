"""Hypothesis strategies for what reaches deploybot's edges: arbitrary bytes and JSON shapes,
Slack-shaped requests with fields of the wrong type, header values, command texts.

A drawn Slack request is a `SlackDraft`: the body is made at send time (`body(url)`), so its
`response_url` can point at the module's fake Slack; the signature is made at send time too
(`Signing.headers`), over the exact bytes, with a timestamp from the clock of that moment (an
example replayed while shrinking is signed afresh).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from hypothesis import strategies as st

from bot.presentation import ids
from devtools.slack_requests import (
    app_home_opened_event,
    block_actions_body,
    event_callback_body,
    slash_command_body,
)
from tests.conftest import APPROVER, APPROVER2, OUTSIDER, REQUESTER, SIGNING_SECRET
from tests.fuzz.harness import FORM, JSON_TYPE, slack_signature

#: Stands for the fake Slack's response_url of the example (see `SlackDraft.body`).
RESPONSE_URL = "<fake response_url>"
#: A response_url nothing listens on: posting to it fails at once.
CLOSED_URL = "http://127.0.0.1:9/response/closed"
#: Users with a role in tests/conftest.py's base config (and the usergroup's member).
ROLE_USERS = frozenset({REQUESTER, APPROVER, APPROVER2, "U0LEAD", "S0LEADS"})
#: Stands for the clock at send time in a literal timestamp header.
NOW = "<now>"
#: Where a key is deleted rather than given a value.
DELETE = "<deleted>"

COMMANDS = ("/deploy", "/rollback", "/freeze", "/lock", "/unlock", "/deploys", "/audit",
            "/migrations", "/migrate", "/ci", "/rollout", "/pods", "/events")
ACTION_IDS = tuple(sorted(v for k, v in vars(ids).items()
                          if k.isupper() and isinstance(v, str) and not v.startswith("/")))
SLACK_TYPES = ("block_actions", "view_submission", "view_closed", "event_callback",
               "url_verification", "shortcut", "message_action", "block_suggestion",
               "interactive_message", "dialog_submission", "app_rate_limited")
SLACK_KEYS = ("type", "actions", "user", "container", "response_url", "trigger_id", "team",
              "enterprise", "channel", "event", "message", "view", "command", "text",
              "user_id", "api_app_id", "token", "event_id", "authorizations", "response_urls",
              "state", "is_enterprise_install", "challenge", "action_id", "value", "id",
              "callback_id", "team_id", "channel_id", "enterprise_id", "ssl_check")


# -- values ---------------------------------------------------------------------------------


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Anything JSON says: dicts (often with Slack's key names), lists, strings, numbers
    (NaN and infinities too: Python's json writes and reads them), booleans, null."""
    leaves = (st.none() | st.booleans() | st.integers() | st.floats()
              | st.text(max_size=40) | st.sampled_from(SLACK_TYPES + ACTION_IDS))
    keys = st.sampled_from(SLACK_KEYS) | st.text(max_size=12)
    return st.recursive(
        leaves,
        lambda children: (st.lists(children, max_size=4)
                          | st.dictionaries(keys, children, max_size=5)),
        max_leaves=max_leaves)


#: Octets a header value may carry (RFC 9110 field-value: visible ASCII, space, tab, and
#: obs-text 0x80-0xFF); drawn as text, sent as its latin-1 bytes.
header_text = st.text(alphabet=st.characters(codec="latin-1", exclude_categories=["Cc"])
                      | st.sampled_from(" \t"), max_size=80)

#: A Slack user id (U… or W…) with no role.
slack_user_ids = (st.sampled_from([OUTSIDER, "U0NOBODY", "W0ENTERPRISE"])
                  | st.from_regex(r"\A[UW][A-Z0-9]{8,10}\Z")).filter(lambda u: u not in ROLE_USERS)

#: A user id with no role: Slack-like ones, or any unicode (at most a few long ones).
outsiders = (st.sampled_from([OUTSIDER, "U0NOBODY", "W0ENTERPRISE", ""])
             | st.text(max_size=24) | st.text(min_size=30, max_size=120)
             ).filter(lambda u: u.strip() not in ROLE_USERS)

_TOKENS = [
    "staging", "production", "development", "api", "web", "v1.2.3", "v1.2.2", "1.2",
    "--version=v1.2.3", "--version=", "--emergency", "--force", '"checkout down"', "“x”",
    '"', "“", "”", "„", "for", "2h", "0m", "30m", "1h30m", "99999d", "to", "2026-12-10",
    "2026-12-10T09:00-05:00", "09:00", "24:00", "add", "remove", "rm", "list", "help",
    "status", "cancel", "abort", "#1", "1", "0", "9" * 25, "rerun", "--failed", "since",
    "before", "7d", "zero", "orders", "0042_previous", "stats", "runtime:1", "<!channel>",
    "<@U0BOB>", "`", "*", "&amp;", "\u00a0", "\u2003", "\t", "\n", "v1.2.3-" + "a" * 200,
    "v" + "9" * 300 + ".0.0", "x" * 90, "é" * 20, "\u202e", "\x00",
]

#: A command's text: any unicode, or words of the commands' grammar in any order.
command_texts = (st.text(max_size=120)
                 | st.lists(st.sampled_from(_TOKENS) | st.text(max_size=12), max_size=9
                            ).map(" ".join)
                 | st.text(min_size=150, max_size=700))


# -- Slack requests ---------------------------------------------------------------------------


def _replace(value: Any, url: str) -> Any:
    if value == RESPONSE_URL:
        return url
    if isinstance(value, dict):
        return {k: _replace(v, url) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, url) for v in value]
    return value


@dataclass(frozen=True)
class SlackDraft:
    """A body to send to /slack/events. `kind` says how `value` becomes bytes: "bytes" (it
    is the body), "json" (a JSON body), "payload" (a form `payload=<JSON>`), "form" (a form
    of `value`'s pairs). RESPONSE_URL anywhere in `value` becomes the example's own."""

    kind: str
    value: Any
    content_type: str | None
    shape: str = ""  # what it was drawn as: "click", "command", "event"… (for statistics)

    def body(self, response_url: str) -> bytes:
        value = _replace(self.value, response_url)
        if self.kind == "bytes":
            return bytes(value)
        if self.kind == "json":
            return json.dumps(value).encode()
        if self.kind == "payload":
            return urlencode({"payload": json.dumps(value)}).encode()
        assert self.kind == "form", self.kind
        return urlencode(list(value)).encode()


def _mutated(base: dict[str, Any], fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """`base` with some of `fields` given any JSON value, or deleted."""
    changes = st.dictionaries(st.sampled_from(fields),
                              json_values(8) | st.just(DELETE) | st.just(RESPONSE_URL)
                              | st.just(CLOSED_URL), max_size=4)

    def apply(c: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for k, v in c.items():
            if v == DELETE:
                out.pop(k, None)
            else:
                out[k] = v
        return out
    return changes.map(apply)


_CLICK_FIELDS = ("actions", "user", "container", "response_url", "trigger_id", "channel",
                 "team", "enterprise", "message", "view", "state", "type", "api_app_id",
                 "is_enterprise_install", "token")
_ACTION_FIELDS = ("action_id", "value", "block_id", "type", "selected_option", "action_ts",
                  "text", "selected_options")


@st.composite
def clicks(draw: st.DrawFn) -> dict[str, Any]:
    """A block_actions payload as Slack sends it, then `actions`, `user`, `container`,
    `response_url`, `trigger_id`… of any shape."""
    user = draw(st.sampled_from([REQUESTER, APPROVER, OUTSIDER]) | outsiders)
    action_id = draw(st.sampled_from(ACTION_IDS) | st.text(max_size=20))
    value = draw(st.sampled_from(["1", "2", "42", "#1", "0", "9" * 19, ""])
                 | st.text(max_size=40))
    body = block_actions_body(user_id=user, action_id=action_id, value=value,
                              response_url=RESPONSE_URL)
    payload: dict[str, Any] = json.loads(dict(parse_qsl(body))["payload"])
    action = draw(_mutated(payload["actions"][0], _ACTION_FIELDS))
    payload["actions"] = [action]
    return draw(_mutated(payload, _CLICK_FIELDS))


_COMMAND_FIELDS = ("token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
                   "user_name", "command", "text", "api_app_id", "is_enterprise_install",
                   "response_url", "trigger_id", "enterprise_id", "ssl_check", "payload")


@st.composite
def command_forms(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A slash command's form as Slack sends it, with any unicode `text`, `command` and
    `user_id` (never a user with a role: nothing may be deployed), fields dropped or
    repeated, and fields added."""
    command = draw(st.sampled_from(COMMANDS) | st.text(max_size=20))
    body = slash_command_body(command or "/", draw(command_texts), user_id=draw(outsiders),
                              response_url=RESPONSE_URL)
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if draw(st.booleans()):
        fields["command"] = command  # not normalised to start with "/"
    changes = draw(st.dictionaries(st.sampled_from(_COMMAND_FIELDS),
                                   st.text(max_size=30) | st.just(DELETE), max_size=3))
    for k, v in changes.items():
        if v == DELETE:
            fields.pop(k, None)
        elif k != "user_id" or v.strip() not in ROLE_USERS:
            fields[k] = v
    pairs = list(fields.items())
    extra = draw(st.lists(st.tuples(st.sampled_from(_COMMAND_FIELDS), st.text(max_size=20)),
                          max_size=2))
    return pairs + [(k, v) for k, v in extra if k != "user_id" or v.strip() not in ROLE_USERS]


_EVENT_FIELDS = ("event", "event_id", "team_id", "authorizations", "api_app_id", "type",
                 "event_time", "is_ext_shared_channel", "event_context", "token")
_HOME_FIELDS = ("type", "user", "tab", "view", "channel", "event_ts")


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """An Events API callback (app_home_opened, the one deploybot listens to) with its
    fields, and the event's, of any shape."""
    user = draw(st.sampled_from([REQUESTER, OUTSIDER]) | st.text(max_size=50))
    event = draw(_mutated(app_home_opened_event(user), _HOME_FIELDS))
    body: dict[str, Any] = json.loads(event_callback_body(event))
    return draw(_mutated(body, _EVENT_FIELDS))


def _content_type(default: str) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.just(default), st.just(default), st.just(default),
        st.sampled_from([FORM, JSON_TYPE, "text/plain", "application/json; charset=utf-8",
                         "multipart/form-data; boundary=x", ""]),
        st.none(), header_text)


def _draft(kind: str, values: st.SearchStrategy[Any], default_type: str, shape: str
           ) -> st.SearchStrategy[SlackDraft]:
    return st.builds(SlackDraft, st.just(kind), values, _content_type(default_type),
                     st.just(shape))


#: Everything /slack/events may be sent.
slack_drafts = st.one_of(
    _draft("bytes", st.binary(max_size=300), FORM, "bytes"),
    _draft("bytes", st.lists(st.sampled_from([b"payload=", b"command=%2Fdeploy", b"&", b"=",
                                              b"%", b"%ZZ", b"%7B", b"{", b"[", b"\xff",
                                              b"ssl_check=0", b"text=", b"+"]), max_size=8
                             ).map(b"".join), FORM, "form bytes"),
    _draft("json", json_values(), JSON_TYPE, "json"),
    _draft("payload", json_values(), FORM, "payload"),
    _draft("form", st.lists(st.tuples(st.sampled_from(SLACK_KEYS) | st.text(max_size=10),
                                      st.text(max_size=40)), max_size=6), FORM, "form"),
    _draft("payload", clicks(), FORM, "click"),
    _draft("payload", clicks(), FORM, "click"),
    _draft("json", clicks(), JSON_TYPE, "click as json"),
    _draft("form", command_forms(), FORM, "command"),
    _draft("form", command_forms(), FORM, "command"),
    _draft("json", events(), JSON_TYPE, "event"),
    _draft("json", st.fixed_dictionaries({"type": st.just("url_verification"),
                                          "challenge": json_values(4),
                                          "token": st.text(max_size=10)}), JSON_TYPE,
           "url_verification"),
    _draft("payload", st.fixed_dictionaries({"type": st.sampled_from(SLACK_TYPES)},
                                            optional={k: json_values(6)
                                                      for k in SLACK_KEYS[1:13]}), FORM,
           "typed payload"),
)


def _octets(value: str) -> bytes:
    """A header value's bytes: latin-1 when it can be, else UTF-8 (as http.client sends it)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


@dataclass(frozen=True)
class Signing:
    """How an example is signed, made into headers at send time.

    `timestamp`: "now" (the clock at send time plus `offset` seconds), "none" (no header),
    or "literal" (`literal` as it is). `signature`: "valid" (Slack's scheme over the exact
    bytes sent), "other-secret", "other-body" (valid for one byte more), "literal", "none".
    """

    timestamp: str
    offset: int
    signature: str
    literal_timestamp: str
    literal_signature: str

    def headers(self, body: bytes, now: float) -> tuple[bytes | None, bytes | None]:
        if self.timestamp == "now":
            ts: bytes | None = str(int(now) + self.offset).encode()
        elif self.timestamp == "literal":
            ts = _octets(self.literal_timestamp.replace(NOW, str(int(now))))
        else:
            ts = None
        signed_ts = ts if ts is not None else str(int(now)).encode()
        sig: bytes | None
        if self.signature == "valid":
            sig = slack_signature(SIGNING_SECRET, signed_ts, body)
        elif self.signature == "other-secret":
            sig = slack_signature("not-" + SIGNING_SECRET, signed_ts, body)
        elif self.signature == "other-body":
            sig = slack_signature(SIGNING_SECRET, signed_ts, body + b" ")
        elif self.signature == "literal":
            sig = _octets(self.literal_signature)
        else:
            sig = None
        return ts, sig


#: Mostly validly signed (so the bodies reach Bolt and the listeners), else every way of not.
signings = st.builds(
    Signing,
    timestamp=st.sampled_from(["now"] * 6 + ["none", "literal"]),
    offset=st.sampled_from([0] * 8 + [-10_000, -301, -299, 299, 301, 10**9, -(10**9)])
    | st.integers(-2000, 2000),
    signature=st.sampled_from(["valid"] * 6 + ["other-secret", "other-body", "literal",
                                               "none"]),
    literal_timestamp=header_text | st.sampled_from([NOW, f" {NOW}", f"{NOW}\t", f"+{NOW}",
                                                     f"0{NOW}", f"{NOW}.5", "0", "-1", "1e9",
                                                     "١٢٣"]),
    literal_signature=header_text | st.sampled_from(["v0=", "v0=" + "0" * 64, "v1=" + "0" * 64,
                                                     "V0=" + "0" * 64]),
)


# -- GitHub deliveries ----------------------------------------------------------------------


_SHAS = (st.sampled_from(["0123456789abcdef0123456789abcdef01234567", "0" * 40, "", DELETE])
         | st.text(alphabet="0123456789abcdef", min_size=1, max_size=60)
         | json_values(4))


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` without those drawn as DELETE."""
    return {k: v for k, v in fields.items() if not (isinstance(v, str) and v == DELETE)}


@st.composite
def github_payloads(draw: st.DrawFn) -> tuple[str, Any]:
    """(the event it is, a payload): mostly a push or pull_request of the configured
    repository (acme/api) with fields of any shape; else any JSON of any event."""
    shape = draw(st.sampled_from(["push", "push", "pull_request", "pull_request", "any"]))
    repo = draw(st.sampled_from([{"full_name": "acme/api"}] * 5 + [{"full_name": "ACME/API"},
                                                                    {"full_name": "other/a"},
                                                                    {"full_name": 5}, {}])
                | json_values(4))
    if shape == "push":
        base = {"ref": draw(st.sampled_from(["refs/heads/main"] * 4 + [
                    "refs/heads/feature", "refs/tags/v1.2.3", "refs/heads/"])
                    | json_values(4)),
                "after": draw(_SHAS), "deleted": draw(st.just(False) | json_values(2)),
                "repository": repo, "sender": {"login": "octocat"}}
        return "push", draw(_mutated(_present(base), ("deleted", "sender", "before",
                                                      "head_commit")))
    head = _present({"ref": draw(st.sampled_from(["feature", "feature", "", DELETE])
                                 | json_values(3)),
                     "sha": draw(_SHAS)})
    pr = {"head": draw(st.just(head) | st.just(head) | json_values(3)), "number": 7}
    base = {"action": draw(st.sampled_from(["opened", "synchronize", "reopened", "closed",
                                            "edited"]) | json_values(3)),
            "number": draw(st.sampled_from([7, 7, True, 2**63, 2**70, -1, 0]) | json_values(2)),
            "pull_request": draw(st.just(pr) | st.just(pr) | json_values(3)),
            "repository": repo, "sender": {"login": "octocat"}}
    if shape == "pull_request":
        return "pull_request", draw(_mutated(base, ("merged", "sender", "installation")))
    return draw(st.sampled_from(["push", "pull_request", "release"])), draw(json_values())


@dataclass(frozen=True)
class GitHubDraft:
    """A delivery to send to /github/webhook; its signature header is made at send time."""

    body_kind: str  # "json": `value` as JSON; "bytes": `value` is the body
    value: Any
    event: str | None
    delivery: str | None
    signature: str  # "valid", "other-secret", "literal", "none"
    literal_signature: str

    def body(self) -> bytes:
        return bytes(self.value) if self.body_kind == "bytes" else json.dumps(self.value).encode()

    def delivery_header(self) -> bytes | None:
        if self.delivery == FRESH:
            return str(uuid.uuid4()).encode()
        return None if self.delivery is None else _octets(self.delivery)


#: Stands for a new delivery id (a GUID, as GitHub's) made at send time: an example replayed
#: while shrinking is not a redelivery of itself.
FRESH = "<fresh GUID>"
_deliveries = st.one_of(*[st.just(FRESH)] * 4, st.sampled_from(["", "d-1"]), header_text,
                        st.text(alphabet="abcdef0123456789-", min_size=90, max_size=300),
                        st.none())
_github_signatures = st.sampled_from(["valid"] * 5 + ["other-secret", "literal", "none"])
_literal_signatures = header_text | st.just("sha256=" + "0" * 64)


@st.composite
def github_drafts(draw: st.DrawFn) -> GitHubDraft:
    """Everything /github/webhook may be sent: mostly the event its payload is, sometimes any
    event header, or none; any body."""
    kind = draw(st.sampled_from(["json"] * 5 + ["bytes"]))
    if kind == "json":
        event, value = draw(github_payloads())
    else:
        event = draw(st.sampled_from(["push", "pull_request"]))
        value = draw(st.binary(max_size=200)
                     | json_values().map(lambda v: json.dumps(v).encode()[:-1]))
    header = draw(st.sampled_from([event] * 6 + ["ping", "release", ""]) | st.none()
                  | header_text)
    return GitHubDraft(kind, value, header, draw(_deliveries), draw(_github_signatures),
                       draw(_literal_signatures))


# -- probes -----------------------------------------------------------------------------------

#: A query string: any unicode percent-encoded, or raw URL characters (malformed escapes too).
query_strings = (st.text(max_size=60).map(lambda t: quote(t, safe="=&"))
                 | st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                  exclude_characters="#"), max_size=60)
                 | st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=5
                            ).map(urlencode))
