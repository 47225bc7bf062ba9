"""slack-manifest.yaml: the Slack app it creates fits the code.

- It parses, and every request URL points at /slack/events (HTTP mode's one endpoint).
- Its slash commands are exactly the `*_COMMAND` constants of bot/presentation/ids.py, and
  exactly the ones the handlers register (`app.command(ids.X)`, read from their source).
- Its bot events are exactly the events the handlers listen to (`app.event(ids.X)`), with
  the App Home tab on when `app_home_opened` is one of them; interactivity is on when a
  handler listens to a button (`app.action`) or a view.
- Its bot scopes are exactly what the code's Slack Web API calls need: every WebClient method
  the code references (read from the source of bot/ and handlers/, AST) is mapped to its scopes
  by `METHOD_SCOPES` (from Slack's method reference), plus `commands` for the slash commands;
  `deploybot doctor` checks the installed token against the same set (`BOT_SCOPES`).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.backends.slack.access import BOT_SCOPES
from bot.presentation import ids

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "slack-manifest.yaml"
SOURCES = [ROOT / "bot", ROOT / "handlers"]
NOT_THE_BOT = {ROOT / "bot" / "devtools"}  # fakes and test helpers, not the bot's calls
EVENTS_PATH = "/slack/events"

#: Slack Web API method -> the bot token scopes it needs (Slack's method reference: "Required
#: scopes", bot tokens). A method missing here fails the test: look it up and add it.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.getPermalink": frozenset(),
    "views.publish": frozenset(),
    "views.open": frozenset(),
    "views.update": frozenset(),
    "usergroups.users.list": frozenset({"usergroups:read"}),
    "users.info": frozenset({"users:read"}),
    "conversations.open": frozenset({"im:write"}),
    # slack_sdk's files_upload_v2: files.getUploadURLExternal and files.completeUploadExternal
    "files.upload.v2": frozenset({"files:write"}),
    # public channels, and private ones (the bot posts to both kinds)
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.list": frozenset({"channels:read", "groups:read"}),
    # Socket Mode (bot/socket_mode.py): called with the app-level token, whose own scope is
    # connections:write (App-Level Tokens, not a bot scope: slack-manifest.yaml's comment).
    "apps.connections.open": frozenset(),
}

_WEB_METHODS = frozenset(n for n in vars(WebClient) if not n.startswith("_"))


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _python_files() -> list[Path]:
    return sorted(p for root in SOURCES for p in root.rglob("*.py")
                  if not any(p.is_relative_to(skip) for skip in NOT_THE_BOT))


def slack_methods(files: list[Path] | None = None) -> dict[str, set[str]]:
    """Slack API method ("chat.postMessage") -> the files that reference its WebClient method
    (`client.chat_postMessage`, called or passed to a helper)."""
    found: dict[str, set[str]] = {}
    for path in files if files is not None else _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in _WEB_METHODS:
                found.setdefault(node.attr.replace("_", "."), set()).add(path.name)
    return found


def needed_scopes(methods: dict[str, set[str]], *, commands: bool) -> set[str]:
    scopes = {"commands"} if commands else set()
    for method, where in methods.items():
        assert method in METHOD_SCOPES, (
            f"{', '.join(sorted(where))} calls Slack's {method}, which METHOD_SCOPES does not "
            "map to its scopes: look it up in Slack's method reference and add it (and the "
            "scope to slack-manifest.yaml and BOT_SCOPES)")
        scopes |= METHOD_SCOPES[method]
    return scopes


def _registered(kind: str) -> set[str]:
    """The ids.* constants the handlers register as listeners of `kind` (their values):
    passed to `app.<kind>(...)`, or to handlers/listeners.py's helpers that do it for a
    command (`slash_command(app, container, ids.X_COMMAND, ...)`) or a button
    (`on_click(app, container, ids.X, ...)`). Only those helpers may pass a variable."""
    helpers = {"command": "slash_command", "action": "on_click"}
    values: set[str] = set()
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if (isinstance(node.func, ast.Attribute) and node.func.attr == kind
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "app" and node.args):
                arg = node.args[0]
                if path.name == "listeners.py" and isinstance(arg, ast.Name):
                    continue  # the helpers' own app.<kind>(their parameter)
            elif (isinstance(node.func, ast.Name) and node.func.id == helpers.get(kind)
                    and len(node.args) >= 3):
                arg = node.args[2]
            else:
                continue
            assert (isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name)
                    and arg.value.id == "ids"), (
                f"{path.name}: a {kind} listener takes its id from bot/presentation/ids.py")
            values.add(getattr(ids, arg.attr))
    return values


# -- tests --------------------------------------------------------------------------------

def test_the_manifest_parses_and_has_every_section() -> None:
    m = manifest()
    assert m["display_information"]["name"]
    assert m["features"]["bot_user"]["display_name"]
    assert isinstance(m["oauth_config"]["scopes"]["bot"], list)
    assert isinstance(m["settings"]["socket_mode_enabled"], bool)
    assert m["settings"]["token_rotation_enabled"] is False


def test_every_request_url_is_the_events_endpoint() -> None:
    m = manifest()
    urls = [c["url"] for c in m["features"]["slash_commands"]]
    urls += [m["settings"]["event_subscriptions"]["request_url"],
             m["settings"]["interactivity"]["request_url"]]
    for url in urls:
        assert url.startswith("https://") and url.endswith(EVENTS_PATH), url


def test_the_slash_commands_are_exactly_the_ones_the_code_has() -> None:
    in_manifest = [c["command"] for c in manifest()["features"]["slash_commands"]]
    assert len(in_manifest) == len(set(in_manifest)), "a command is listed twice"
    constants = {v for k, v in vars(ids).items() if k.endswith("_COMMAND")}
    registered = _registered("command")
    assert registered == constants, "a *_COMMAND in ids.py is not registered, or vice versa"
    assert set(in_manifest) == constants, (
        f"missing from slack-manifest.yaml: {sorted(constants - set(in_manifest))}; "
        f"in it but not in the code: {sorted(set(in_manifest) - constants)}")
    for command in manifest()["features"]["slash_commands"]:
        assert command["description"] and len(command["description"]) <= 100, command
        assert command["should_escape"] is False, command  # the parsers read raw text


def test_the_events_and_surfaces_are_the_ones_the_handlers_use() -> None:
    m = manifest()
    events = set(m["settings"]["event_subscriptions"]["bot_events"])
    assert events == _registered("event")
    assert ids.APP_HOME_OPENED in events
    home = m["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True  # DMs to requesters land in the Messages tab
    assert home["messages_tab_read_only_enabled"] is True  # no handler reads messages
    assert _registered("action")
    assert m["settings"]["interactivity"]["is_enabled"] is True


def test_the_scopes_are_exactly_what_the_codes_slack_calls_need() -> None:
    methods = slack_methods()
    # The scan sees the calls it must (a guard against it silently finding nothing).
    assert {"chat.postMessage", "usergroups.users.list", "views.publish",
            "conversations.info"} <= set(methods)
    assert "access.py" in methods["conversations.info"]
    needed = needed_scopes(methods, commands=bool(manifest()["features"]["slash_commands"]))
    listed = manifest()["oauth_config"]["scopes"]["bot"]
    assert len(listed) == len(set(listed)), "a scope is listed twice"
    assert set(listed) == needed, (
        f"missing from the manifest: {sorted(needed - set(listed))}; "
        f"not needed by any call: {sorted(set(listed) - needed)}")
    assert needed == BOT_SCOPES, "bot.backends.slack.access.BOT_SCOPES (doctor) differs"
    assert "user" not in manifest()["oauth_config"]["scopes"]  # no user token


def test_the_scan_flags_a_slack_method_the_table_does_not_know(tmp_path: Path) -> None:
    code = tmp_path / "new_feature.py"
    code.write_text("def f(client):\n"
                    "    client.chat_postMessage(channel='C1', text='hi')\n"
                    "    slack_call(client.reactions_add, name='tada')\n"
                    "    client.retry_handlers.append(None)\n", encoding="utf-8")
    methods = slack_methods([code])
    assert set(methods) == {"chat.postMessage", "reactions.add"}
    with pytest.raises(AssertionError, match=r"new_feature\.py calls Slack's reactions\.add"):
        needed_scopes(methods, commands=False)
    assert needed_scopes({"chat.postMessage": {"x"}}, commands=True) == {"chat:write",
                                                                        "commands"}
