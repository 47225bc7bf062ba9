"""An automatic deploy names its cause: which branch moved to which commit, whose, with its
message's first line — or which pull request — on its card, its record, its result
announcement and its line in `/deploys`; a commit message is anyone's text (escaped, cut at
a word, mentioning nobody), and what GitHub did not give is not shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.cause import Cause, first_line
from bot.domain.deployment import Deployment
from bot.domain.severity import Severity
from bot.domain.states import State
from bot.presentation import blocks
from bot.presentation.cause_views import cause_line, cause_text
from bot.presentation.history_views import history_line
from tests.presentation.message_lint import FIRING, HOSTILE, problems

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 12, 4, 18, 55, tzinfo=UTC)
M = timedelta(minutes=1)
SHA = "3f2a9c1d0e4b5f60718293a4b5c6d7e8f9012345"
PUSH = Cause("push", "main", SHA, author="octocat", message="Fix checkout totals")
OPENED = Cause("pull_request", "feature-x", SHA, author="octocat", pull_request=7,
               action="opened")


def automatic(cause: Cause | None = PUSH, **kw: object) -> Deployment:
    base: dict[str, object] = dict(
        id=3, service="api", environment="staging", version=SHA[:12],
        previous_version="aaaaaaaaaaaa", state=State.SUCCEEDED,
        requested_by="deploybot (github)", requested_at=T0, approvals_required=0,
        started_at=T0 + M, finished_at=T0 + 3 * M, channel="C0DEPLOYS", message_ts="1.1",
        cause=cause)
    base.update(kw)
    return Deployment(**base)  # type: ignore[arg-type]


def text_of(message: blocks.Message) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) if isinstance(b.get("text"), dict)
                     else " ".join(str(e.get("text", "")) for e in b.get("elements", []))
                     for b in message.blocks)


def test_a_push_says_which_branch_moved_to_which_commit_whose_and_why() -> None:
    assert cause_line(PUSH) == ("Automatic: `main` moved to `3f2a9c1d0e4b` — "
                                "'Fix checkout totals' by octocat")


def test_a_pull_request_says_which_and_what_happened_to_it() -> None:
    assert cause_line(OPENED) == "Automatic: pull request #7 `feature-x` opened by octocat"
    titled = Cause("pull_request", "feature-x", SHA, author="hubot", message="Add x",
                   pull_request=7, action="synchronize")
    assert cause_line(titled) == ("Automatic: pull request #7 `feature-x` moved to "
                                  "`3f2a9c1d0e4b` by hubot — 'Add x'")
    reopened = Cause("pull_request", "feature-x", SHA, author="hubot", pull_request=7,
                     action="reopened")
    assert cause_line(reopened) == "Automatic: pull request #7 `feature-x` reopened by hubot"
    polled = Cause("pull_request", "feature-x", SHA, author="octocat", message="Add x",
                   pull_request=7)  # a poll sees a new head, not what made it
    assert cause_line(polled) == ("Automatic: pull request #7 `feature-x` at `3f2a9c1d0e4b`"
                                  " by octocat — 'Add x'")


def test_what_github_did_not_give_is_not_shown() -> None:
    assert cause_line(Cause("push", "main", SHA)) == "Automatic: `main` moved to `3f2a9c1d0e4b`"
    assert cause_line(Cause("push", "main", SHA, author="Mona Lisa")) == (
        "Automatic: `main` moved to `3f2a9c1d0e4b` by Mona Lisa")
    assert cause_line(Cause("pull_request", "feature-x", SHA, pull_request=7,
                            action="opened")) == (
        "Automatic: pull request #7 `feature-x` opened")


def test_a_commit_message_is_anyones_text_escaped_cut_at_a_word_and_mentions_nobody() -> None:
    hostile = Cause("push", "fix/<!here>`x`", SHA, author="<@U0BOB> Mallory",
                    message=first_line(f"{HOSTILE} " + "and more words " * 20))
    line = cause_line(hostile)
    assert not [f for f in FIRING if f in line] and "<!here>" not in line, line
    assert "<@U0BOB>" not in line and "&lt;!channel&gt; ping &lt;@U123&gt;" in line
    assert "`fix/&lt;!here&gt;'x'`" in line  # the branch as code, its backticks made quotes
    message = line.split(" — '", 1)[1].rsplit("' by ", 1)[0]
    assert message.endswith("…") and message[:-1].split()[-1] in ("and", "more", "words")
    assert message.count("and more words") < 10  # cut to what a line holds
    assert problems(line) == []


def test_the_card_and_the_record_name_the_cause_under_who_requested_it() -> None:
    card = text_of(blocks.deployment_card(automatic(state=State.RUNNING), NY))
    assert ("*Requested by:* *deploybot (github)* at Fri 2026-12-04 13:55 EST\n"
            "*Automatic:* `main` moved to `3f2a9c1d0e4b` — 'Fix checkout totals' by octocat"
            ) in card, card
    record = text_of(blocks.deployment_record(automatic(), NY))
    assert ("*Deployer:* *deploybot (github)*\n*Automatic:* `main` moved to `3f2a9c1d0e4b` — "
            "'Fix checkout totals' by octocat") in record, record
    for person in (blocks.deployment_card(automatic(None, requested_by="U0ALICE"), NY),
                   blocks.deployment_record(automatic(None, requested_by="U0ALICE"), NY)):
        assert "Automatic" not in text_of(person)  # a person's deploy has no such line


def test_the_result_announcement_and_the_history_line_name_it_too() -> None:
    done = blocks.announcement(automatic(), NY, None, severity=Severity.LOW)
    assert ("Automatic: `main` moved to `3f2a9c1d0e4b` — 'Fix checkout totals' by octocat\n"
            "Deployed by *deploybot (github)*") in text_of(done)
    failed = blocks.announcement(automatic(OPENED, state=State.FAILED, error="boom"), NY,
                                 None, severity=Severity.MEDIUM)
    assert "Automatic: pull request #7 `feature-x` opened by octocat" in text_of(failed)
    assert history_line(automatic(), NY) == (
        "*#3* 🚀 deploy · `api` `3f2a9c1d0e4b` → *staging* · ✅ Succeeded\n"
        "*deploybot (github)* · Fri 2026-12-04 13:56 EST · took 2m 00s\n"
        "Automatic: `main` moved to `3f2a9c1d0e4b` — 'Fix checkout totals' by octocat")


def test_cause_text_is_the_line_without_its_label() -> None:
    assert cause_line(PUSH) == f"Automatic: {cause_text(PUSH)}"
