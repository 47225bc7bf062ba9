"""`deploybot shell`: scripted sessions through the real Bolt listeners, services and store,
asserting on the text a person would read."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import load_config, parse_config
from bot.logs import DEPLOYMENT_ID
from devtools.shell import mrkdwn_to_text, render_text, run_shell
from tests.conftest import WEDNESDAY, base_config
from tests.readme_transcripts import missing, readme_block

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "production.txt"


def flat(text: str) -> str:
    """The output with wrapping undone: every run of whitespace as one space."""
    return " ".join(text.split())


def shell(tmp_path: Path, script: str | None = None, *, typed: str | None = None,
          **config: Any) -> str:
    """Run a shell session on a fresh SQLite file; return everything it printed."""
    out = io.StringIO()
    path: str | None = None
    if script is not None:
        file = tmp_path / "session.txt"
        file.write_text(script, encoding="utf-8")
        path = str(file)
    code = run_shell(
        parse_config(base_config(**config), source="test config"),
        database_url=f"sqlite:///{tmp_path / 'shell.db'}",
        script=path,
        out=out,
        inp=io.StringIO(typed or ""),
        settle=0.15,
        clock=ManualClock(WEDNESDAY),  # inside every deploy window, whatever today is
    )
    assert code == 0
    return out.getvalue()


def test_the_demo_script_shows_a_production_deploy_from_request_to_announcement(
        tmp_path: Path) -> None:
    out = shell(tmp_path, DEMO.read_text(encoding="utf-8"))
    text = flat(out)

    # The promotion gate: v1.2.3 goes to staging first.
    assert "[#C0DEPLOYS] ✅ api `v1.2.3` is live in staging" in out
    assert "U0BOB> /deploy production v1.2.3" in out
    assert "(only you) ⏳ Requesting `api` `v1.2.3` → production…" in out
    assert "[#C0DEPLOYS] Deploy #2 api v1.2.3 → production" in out
    assert "Requested by: @U0BOB" in out
    assert "[ Approve ] [ Reject ]   → click approve #2 · click reject #2" in out
    assert "↳ Deployment record" in out
    # Bob may approve in general, but not his own request.
    refused = "You requested Deployment #2 (api `v1.2.3` to production), so you cannot " \
              "approve it yourself: another approver has to."
    assert refused in text
    # Carol confirms Slack's dialog and approves; the card loses its buttons.
    assert "(Slack asks: Approve this deploy? — Deploy `api` `v1.2.3` to production." in out
    approved = "(only you) ✅ You approved deployment #2; it is starting now."
    assert approved in out
    assert "Approvals: 1/1 · ✅ approved by @U0CAROL" in out
    assert "(buttons removed: [ Approve ] [ Reject ])" in out
    assert "Status: 🚀 Rolling out" in out
    live = "[#C0DEPLOYS] ✅ api `v1.2.3` is live in production"
    assert live in out
    assert "Deployed by @U0BOB, approved by @U0CAROL" in out
    dm = "[DM to U0BOB] ✅ Your deploy #2 api v1.2.3 → production succeeded"
    assert dm in out
    assert "Status: ✅ Succeeded" in out
    assert "• #2 `api` `v1.2.3` → `production` — ✅ Succeeded — @U0BOB" in text
    # In the order it happened, and the script's comments narrate it.
    order = [text.index(flat(s)) for s in (refused, approved, live, dm, "U0CAROL> wait")]
    assert order == sorted(order)
    assert "# Bob is an approver too" in out
    assert "<@" not in out and "*Status:*" not in out  # mrkdwn was rendered as text


def test_unknown_input_and_unknown_slash_commands_get_one_clear_line(tmp_path: Path) -> None:
    out = shell(tmp_path, "frobnicate the servers\n/nope now\n")
    assert ("Unknown input 'frobnicate': type a slash command such as `/deploy help`, "
            "or `help` for the shell's commands.") in out
    assert "(only you) ⚠️ deploybot does not handle /nope" in out


def test_as_switches_the_user_the_commands_are_sent_as(tmp_path: Path) -> None:
    out = shell(tmp_path, "as U0MALLORY\n/deploy production v1.2.3\nas U0CAROL\n"
                          "/deploy production v1.2.3\nas nobody\n")
    assert "You are now U0MALLORY (in no role of app.yaml)." in out
    assert "U0MALLORY> /deploy production v1.2.3" in out
    assert "You may not deploy to production" in flat(out)
    assert "You are now U0CAROL (deployers, approvers)." in out
    assert "Requested by: @U0CAROL" in out
    assert "Usage: as <Slack user id>, e.g. `as U0BOB`." in out


def test_click_without_such_a_button_says_so(tmp_path: Path) -> None:
    out = shell(tmp_path, "click approve\n/deploy production v1.2.3\nclick approve #7\n"
                          "click\n")
    assert ("No message has a `approve` button. Type `click` to list the buttons you can "
            "press.") in out
    assert "No message has a `approve` button for #7." in out
    assert "click approve #1   [ Approve ] on “Deploy #1 api v1.2.3 → production”" in out


def test_reject_without_a_reason_says_how_to_give_one_and_deploy_alone_shows_its_form(
        tmp_path: Path) -> None:
    out = shell(tmp_path, "as U0BOB\n/deploy production v1.2.3\nas U0CAROL\n"
                          "click reject #1\n/deploy\n")
    assert "(Slack opens the form “Reject”: Reason)" in out
    assert ('e.g. `submit reason="not before the review"` (or give the reason after the '
            "button: `click reject #N <reason>`)") in flat(out)
    assert "(Slack opens the form “Deploy”: Service, Environment" in out
    assert "type the command whole instead" in out
    assert "You rejected" not in out


def test_reject_by_number_then_messages_shows_the_channel_as_it_is(tmp_path: Path) -> None:
    out = shell(tmp_path, "as U0BOB\n/deploy production v1.2.3\nas U0CAROL\n"
                          "click reject #1 not before the review\nmessages\nmessages U0BOB\n")
    assert "(you type the reason “not before the review” and submit the form)" in out
    assert "(only you) 🚫 You rejected deployment #1." in out
    assert ("[DM to U0BOB] 🚫 Your deploy #1 api v1.2.3 → production was rejected by "
            "@U0CAROL: not before the\n              review.") in out
    after = out[out.index("U0CAROL> messages"):]
    assert "[#C0DEPLOYS] Deploy #1 api v1.2.3 → production" in after
    assert "Status: 🚫 Rejected" in after
    assert "[ Approve ]" not in after
    assert "[#C0DEPLOYS]   ↳ Deployment record" in after
    assert "U0CAROL> messages U0BOB\n[DM to U0BOB] 🚫 Your deploy #1" in after


def test_a_click_leaves_nothing_in_the_shells_own_logging_context(tmp_path: Path) -> None:
    """A click marks its deployment on the log lines of its work (bot.logs.mark_deployment,
    from the audit middleware). Slack's requests reach the bot on the server's threads; the
    shell's thread, which delivers them, must not log on under the last click's deployment
    (nor the tests that ran a shell: their later log lines would name it)."""
    out = shell(tmp_path, "as U0BOB\n/deploy production v1.2.3\nas U0CAROL\nclick approve\n")
    assert "(you click [ Approve ]" in out
    assert DEPLOYMENT_ID.get() is None


def test_typed_input_that_is_not_a_terminal_runs_until_quit(tmp_path: Path) -> None:
    out = shell(tmp_path, typed="# a comment\n\nhelp\nquit\n/deploy production v1.2.3\n")
    assert "You are U0ALICE. " in out
    assert "U0ALICE> help\n" in out
    assert "as U0BOB                    become another Slack user" in out
    assert "U0ALICE> quit" in out
    assert "Requesting" not in out


def test_a_missing_script_is_a_usage_error(tmp_path: Path) -> None:
    code = run_shell(parse_config(base_config()), database_url="sqlite://",
                     script=str(tmp_path / "nope.txt"), out=io.StringIO())
    assert code == 2


def test_render_text_turns_block_kit_and_mrkdwn_into_plain_text() -> None:
    assert mrkdwn_to_text("<@U0BOB> in <#C123> and <#C9|deploys>: <https://x.test/a|the thread>"
                          " or <https://x.test/b>, *bold* _it_ `code` &lt;v&gt;") == (
        "@U0BOB in #C123 and #deploys: the thread (https://x.test/a) or https://x.test/b, "
        "bold it `code` <v>")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Deploy #3"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Status:* ok\nby <@U0AL>"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Approvals: 0/1"}]},
        {"type": "actions", "elements": [
            {"type": "button", "action_id": "deploy.approve", "value": "3",
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "deploy.reject", "value": "3",
             "text": {"type": "plain_text", "text": "Reject"}},
        ]},
    ]
    assert render_text(blocks) == [
        "Deploy #3", "Status: ok", "by @U0AL", "Approvals: 0/1",
        "[ Approve ] [ Reject ]   → click approve #3 · click reject #3",
    ]
    assert render_text([], "fallback *text*") == ["fallback text"]


def test_a_second_shell_on_the_same_database_runs_what_the_first_one_deployed(
        tmp_path: Path) -> None:
    """The simulated cluster keeps its state in the database: after a restart it runs the
    version deploybot rolled out (no "changed outside deploybot"), since when it went live,
    and where nothing was rolled out, `initial_version` since an unknown time."""
    first = shell(tmp_path, "/deploy staging v1.2.3\n")
    assert "[#C0DEPLOYS] ✅ api `v1.2.3` is live in staging" in first
    again = flat(shell(tmp_path, "/deploy status\n/rollback staging\n"))  # same shell.db
    assert "• `staging` / `api`: `v1.2.3` since Wed 2026-11-18 10:00 EST" in again
    assert "• `production` / `api`: `v1.2.2` (since unknown)" in again
    assert "outside deploybot" not in again
    assert "Roll api in staging back from `v1.2.3` to `v1.2.2`?" in again


def test_the_readme_transcript_is_what_the_demo_shows(tmp_path: Path) -> None:
    """README's "What it looks like": demo/production.txt on app.yaml, as ./scripts/demo runs
    it (a Wednesday 10:00 in the team's zone); every line it shows is printed."""
    out = io.StringIO()
    code = run_shell(load_config(ROOT / "app.yaml"),
                     database_url=f"sqlite:///{tmp_path / 'shell.db'}", script=str(DEMO),
                     out=out, settle=0.15,
                     clock=ManualClock(datetime(2026, 12, 2, 15, 0, tzinfo=UTC)))
    assert code == 0, out.getvalue()[-3000:]
    shown = readme_block("U0BOB> /deploy production v1.2.3")
    assert len(shown) > 30
    # How long the rollout took depends on how fast the machine ran it.
    assert missing(shown, out.getvalue(), volatile=re.compile(r" · took \d")) == []
