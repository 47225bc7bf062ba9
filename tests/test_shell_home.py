"""`home` in deploybot shell: the current user's App Home, opened as Slack opens it
(`app_home_opened`) and printed from the view the bot published; and `click` lists and
presses the buttons of replies only that user sees."""

from __future__ import annotations

from pathlib import Path

from tests.test_shell import shell


def test_home_shows_what_runs_where_and_the_last_deployments(tmp_path: Path) -> None:
    out = shell(tmp_path, """\
/deploy staging v1.2.3
home
as U0BOB
home
""")
    after = out[out.index("U0ALICE> home"):]
    assert "[App Home of U0ALICE] Deployments" in after
    assert "`staging`: 🟢 open now" in after
    assert "• `api` `v1.2.3` since" in after
    assert "• #1 `api` `v1.2.3` → `staging` — ✅ Succeeded — @U0ALICE" in after
    # Each user's own tab.
    assert "[App Home of U0BOB] Deployments" in out[out.index("U0BOB> home"):]
    assert "(the bot called Slack's views.publish)" not in out


def test_buttons_of_a_reply_only_you_see_are_listed_and_pressed_by_you_only(
        tmp_path: Path) -> None:
    out = shell(tmp_path, """\
/deploy staging v1.2.3
/deploy staging v1.2.4
/rollback staging api
click
as U0BOB
click confirm
as U0ALICE
click confirm
""")
    listed = out[out.index("U0ALICE> click\n"):out.index("U0ALICE> as U0BOB")]
    assert "click confirm   [ Roll back to v1.2.3 ] on your reply “↩️ Roll api in staging " \
        "back from `v1.2.4` to `v1.2.3`?”" in listed
    # Bob does not see Alice's reply, so he has no such button.
    bob = out[out.index("U0BOB> click confirm"):out.index("U0BOB> as U0ALICE")]
    assert "No message has a `confirm` button." in bob
    alice = out[out.index("U0ALICE> click confirm"):]
    assert "(you click [ Roll back to v1.2.3 ] on your reply" in alice
    assert "↩️ api is rolled back to `v1.2.3` in staging" in alice


def test_the_buttons_of_the_app_home_are_clicked_from_the_tab(tmp_path: Path) -> None:
    out = shell(tmp_path, """\
/deploy production v1.2.3
as U0BOB
click home approve #1
home
click
click home approve #1
""")
    # Before Bob opens his tab, it has no buttons for him.
    assert "No message has a `approve` button for #1." in out
    after = out[out.index("U0BOB> home"):]
    assert "⏳ Waiting for approval (1)" in after
    listed = after[after.index("U0BOB> click\n"):after.index("U0BOB> click home approve")]
    assert "click home approve #1   [ Approve ] on your App Home “Deployments”" in listed
    assert "click approve #1   [ Approve ] on “Deploy #1 api v1.2.3 → production”" in listed
    clicked = after[after.index("U0BOB> click home approve #1"):]
    # A click in a view: Slack sends the view and no response_url; the answer is a DM.
    assert "(you click [ Approve ] on your App Home “Deployments”)" in clicked
    assert "Approvals: 1/1 · ✅ approved by @U0BOB" in clicked
    assert "[DM to U0BOB]" in clicked
    assert "is live in production" in clicked
