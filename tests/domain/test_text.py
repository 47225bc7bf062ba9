"""Display helpers for free text and actors."""

from __future__ import annotations


def test_who_mentions_slack_users_and_names_other_actors() -> None:
    from bot.domain.text import is_slack_user, who

    assert who("U0ALICE") == "<@U0ALICE>"
    assert who("W0ENTERPRISE") == "<@W0ENTERPRISE>"
    assert who("deploybot (github)") == "*deploybot (github)*"
    assert who("<!channel>") == "*&lt;!channel&gt;*"
    assert not is_slack_user("deploybot")


def test_a_long_text_is_cut_between_words_and_says_so() -> None:
    from bot.domain.text import clip, reason_text, shown

    text = "unlock when it is safe to deploy again after the incident review"
    assert clip(text, 100) == text
    assert clip(text, 30) == "unlock when it is safe to…"  # not "…safe to depl"
    assert clip("a" * 50, 10) == "a" * 9 + "…"  # one long word is cut where it must
    assert reason_text(text, limit=30) == "unlock when it is safe to…"
    assert shown(text, limit=30) == "`unlock when it is safe to…`"


def test_durations_read_as_people_say_them() -> None:
    from datetime import timedelta

    from bot.domain.text import period

    assert period(timedelta(days=7)) == "7 days"  # not "7 days, 0:00:00"
    assert period(timedelta(hours=2)) == "2 hours"
    assert period(timedelta(days=1, hours=12)) == "1 day 12 hours"
    assert period(timedelta(seconds=90)) == "1 minute 30 seconds"
    assert period(timedelta(0)) == "0 seconds"


def test_channels_and_escaped_text() -> None:
    from bot.domain.text import channel_ref, error_text, unescaped

    assert channel_ref("C0DEPLOYS") == "<#C0DEPLOYS>"
    assert channel_ref("#deployments") == "#deployments"  # never ##deployments
    assert channel_ref("deployments") == "#deployments"
    assert unescaped("`/audit &lt;environment&gt;` &amp; more") == "`/audit <environment>` & more"
    assert error_text("aborted by <@U0BOB>; error rate 4.2% > 1% <!here>") == (
        "aborted by <@U0BOB>; error rate 4.2% &gt; 1% &lt;!here&gt;")


def test_a_mistyped_name_is_matched_to_the_one_meant_and_nothing_else() -> None:
    from bot.domain.text import meant

    envs = ("development", "staging", "production")
    assert meant("prod", envs) == "production"  # an abbreviation
    assert meant("PRODUCTION", envs) == "production"  # the case
    assert meant("Staging", envs) == "staging"
    assert meant("stagin", envs) == "staging"  # a typo
    assert meant("prodcution", envs) == "production"
    assert meant("dev", envs) == "development"
    assert meant("qa", envs) is None  # nothing like it
    assert meant("s", envs) is None  # too short to be sure
    # Two equally likely: no guess.
    assert meant("api", ("api-eu", "api-us")) is None
    assert meant("api-e", ("api-eu", "api-us")) == "api-eu"
