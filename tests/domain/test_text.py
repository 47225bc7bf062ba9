"""Display helpers for free text and actors."""

from __future__ import annotations


def test_who_mentions_slack_users_and_names_other_actors() -> None:
    from bot.domain.text import is_slack_user, who

    assert who("U0ALICE") == "<@U0ALICE>"
    assert who("W0ENTERPRISE") == "<@W0ENTERPRISE>"
    assert who("deploybot (github)") == "*deploybot (github)*"
    assert who("<!channel>") == "*&lt;!channel&gt;*"
    assert not is_slack_user("deploybot")
