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
    assert "• #1 api v1.2.3 → staging — ✅ Succeeded — @U0ALICE" in after
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
