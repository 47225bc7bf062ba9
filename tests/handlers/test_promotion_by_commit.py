"""The guide's own flow through the promotion gate (environments.production.promote_from:
staging), end to end with the fake GitHub and the fake Slack: a push to main deploys its
commit to staging by itself (`github.version_from: sha`, here through polling), the team
tags that commit `v1.2.3`, and `/deploy production v1.2.3` is admitted — the tag's commit
succeeded in staging. A tag of another commit is refused naming the commit looked for; an
annotated tag is peeled to its commit; GitHub failing while the tag's commit is asked for
leaves the exact-version rule, and a refusal then says GitHub could not be asked.

The approver sees why the version may go to production: the card and the record's
pre-deployment section say what the gate found when it was requested (the tag's commit, or
the version itself, and the deployment that succeeded in staging, when), re-rendered from
what the deployment keeps; an emergency that skipped the gate says so; an environment
without `promote_from` says nothing of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text as sql

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.domain.states import State
from bot.presentation.parts import when
from bot.scheduling import jobs
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import RepoState
from devtools.fake_github.runs import FakeRuns
from devtools.fake_slack import FakeSlack
from tests.conftest import APPROVER2, RunningBot, base_config, serve_bot
from tests.handlers.conftest import GITHUB_MAIN_HEAD, GITHUB_REPO, polled_github
from tests.handlers.spine import (
    blocks_text,
    click,
    deployment_ids,
    ephemeral_text,
    request,
    run_to_end,
)

REPO = GITHUB_REPO
OLD = GITHUB_MAIN_HEAD
MERGED = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345"  # what the push to main brings
OTHER = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807"  # a commit never deployed


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    return polled_github(httpserver, monkeypatch, ["v1.2.2"])


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(
        github={"api_url": fake_github.url, "poll_every": "30s"},
        environments={
            "staging": {},
            "production": {"promote_from": "staging",
                           "approval": {"required": 1, "approvers": ["approvers"],
                                        "expires_after": "2h"}},
        },
        services={"api": {"executor": "simulated",
                          "github": {"repository": REPO, "auto_deploy": {"main": "staging"}},
                          "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$"}},
    )


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        gh: RepoState) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock) as running:
        jobs.register_instance(running.container)
        try:
            yield running
        finally:
            jobs.unregister_instance(running.container.instance)


def merged_to_main(bot: RunningBot, gh: RepoState, sha: str = MERGED) -> int:
    """main moves to `sha`; the poll deploys it to staging by itself, to the end."""
    jobs.poll_github(bot.container.instance)  # the first look: a baseline
    gh.set_branch(REPO, "main", sha)
    jobs.poll_github(bot.container.instance)
    assert bot.container.runner.wait_idle()
    (i,) = deployment_ids(bot)
    d = bot.deployment(i)
    assert (d.environment, d.version, d.state) == ("staging", sha[:12], State.SUCCEEDED)
    return i


def refused(bot: RunningBot, text: str) -> str:
    before = deployment_ids(bot)
    answer = ephemeral_text(bot, bot.deploy(text))
    assert deployment_ids(bot) == before, answer  # nothing stored
    return answer


def requested_details(bot: RunningBot, deployment_id: int) -> dict[str, Any]:
    with bot.container.database.engine.connect() as conn:
        (raw,) = conn.execute(
            sql("SELECT details FROM audit_events WHERE deployment_id = :d "
                "AND action = 'deploy.requested'"), {"d": deployment_id}).scalars().all()
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def failing(fake: FakeGitHub, pattern: str) -> None:
    """GitHub answers 502 to GETs of paths (after /repos/{r}) matching `pattern`."""
    fake.route("GET", pattern, lambda hit: fake.json({"message": "Server Error"}, 502))


def test_a_tag_of_the_commit_main_deployed_to_staging_is_promoted(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    staged = merged_to_main(bot, gh)
    fake_github.tag(REPO, "v1.2.3", MERGED)  # the team tags what runs in staging

    i = request(bot, "production v1.2.3")

    d = bot.deployment(i)
    assert (d.environment, d.version, d.state) == ("production", "v1.2.3",
                                                   State.AWAITING_APPROVAL)
    assert staged == 1
    assert requested_details(bot, i)["promoted_by"] == {
        "commit": MERGED[:12], "tag": "v1.2.3", "source": "staging"}
    # The tag check learned the commit: GitHub was asked about the tag once.
    assert fake_github.reads().count(f"/repos/{REPO}/git/ref/tags/v1.2.3") == 1
    click(bot, i, APPROVER2)
    assert run_to_end(bot, i) is State.SUCCEEDED
    assert bot.deployment(i).version == "v1.2.3"


def test_a_tag_of_another_commit_is_refused_naming_the_commit(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    merged_to_main(bot, gh)
    fake_github.tag(REPO, "v1.2.4", OTHER)

    answer = refused(bot, "production v1.2.4")

    assert (f"`v1.2.4` has not succeeded in staging yet, nor has its commit "
            f"`{OTHER[:12]}`") in answer, answer
    assert "production takes only versions that went live and passed their checks in " \
           "staging first" in answer, answer


def test_an_annotated_tag_is_peeled_to_its_commit(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    merged_to_main(bot, gh)
    FakeRuns(fake_github).annotated[(REPO, "v1.3.0")] = MERGED  # `git tag -a v1.3.0`

    i = request(bot, "production v1.3.0")

    assert bot.deployment(i).state is State.AWAITING_APPROVAL
    assert requested_details(bot, i)["promoted_by"]["commit"] == MERGED[:12]
    assert any(p.startswith(f"/repos/{REPO}/git/tags/") for p in fake_github.reads())


def test_github_failing_on_the_tags_commit_is_said_not_a_plain_not_promoted(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    """A release's name is a tag check of its own; then GitHub fails when the release's tag
    is asked for its commit: the refusal says so, in retryable words."""
    merged_to_main(bot, gh)
    fake_github.tag(REPO, "v1.4.0", MERGED)
    gh.release(REPO, "v1.4.0", "1.4.0")
    failing(fake_github, r"/git/ref/tags/v1\.4\.0")

    answer = refused(bot, "production 1.4.0")

    assert "GitHub could not be asked which commit the tag `v1.4.0` points at" in answer, \
        answer
    assert "try again" in answer.lower(), answer
    assert "`v1.4.0` has not succeeded in staging yet" in answer, answer


def test_github_failing_on_the_commit_leaves_the_exact_version_rule(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    fake_github.tag(REPO, "v1.4.0", OTHER)
    gh.release(REPO, "v1.4.0", "1.4.0")
    assert run_to_end(bot, request(bot, "staging 1.4.0")) is State.SUCCEEDED
    failing(fake_github, r"/git/ref/tags/v1\.4\.0")

    i = request(bot, "production 1.4.0")  # v1.4.0 itself succeeded in staging

    d = bot.deployment(i)
    assert (d.version, d.state) == ("v1.4.0", State.AWAITING_APPROVAL)
    assert "promoted_by" not in requested_details(bot, i)


# -- what the approver sees: the card's and the record's line on the gate ----------------

def card_and_record(bot: RunningBot, deployment_id: int) -> tuple[str, str]:
    """The text of a deployment's card, and of its record's pre-deployment section (the
    record is the card's first reply in its thread)."""
    d = bot.deployment(deployment_id)
    (record,) = [m for m in bot.slack.messages(d.channel) if m["ts"] == d.record_ts]
    pre = blocks_text(record).split("*Pre-deployment*\n", 1)[1].split("\n\n", 1)[0]
    return blocks_text(bot.card(deployment_id)), pre


def gate_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "romot" in line]


def succeeded_at(bot: RunningBot, deployment_id: int) -> str:
    finished = bot.deployment(deployment_id).finished_at
    assert finished is not None
    return when(finished, bot.container.config.zone)


def test_the_card_and_the_record_say_the_tags_commit_succeeded_in_staging(
        bot: RunningBot, gh: RepoState, fake_github: FakeGitHub) -> None:
    staged = merged_to_main(bot, gh)
    fake_github.tag(REPO, "v1.2.3", MERGED)
    at = succeeded_at(bot, staged)

    i = request(bot, "production v1.2.3")

    card, record = card_and_record(bot, i)
    assert gate_lines(card) == [
        f"*Promoted from staging:* `v1.2.3` is commit `{MERGED[:12]}`, which succeeded "
        f"there at {at} (deployment #{staged})"], card
    assert gate_lines(record) == [
        f"✅ Promoted from staging — `v1.2.3` is commit `{MERGED[:12]}`, which succeeded "
        f"there in deployment #{staged}, {at}"], record
    # staging has no promote_from: nothing said there
    assert gate_lines("\n".join(card_and_record(bot, staged))) == []
    # kept with the deployment: a later staging deploy changes nothing, and the card and
    # the record re-rendered as it runs to the end still say it
    gh.set_branch(REPO, "main", OTHER)
    jobs.poll_github(bot.container.instance)
    assert bot.container.runner.wait_idle()
    click(bot, i, APPROVER2)
    assert run_to_end(bot, i) is State.SUCCEEDED
    card, record = card_and_record(bot, i)
    assert gate_lines(card) == [
        f"*Promoted from staging:* `v1.2.3` is commit `{MERGED[:12]}`, which succeeded "
        f"there at {at} (deployment #{staged})"], card
    assert f"in deployment #{staged}, {at}" in record, record


def test_the_card_and_the_record_say_the_version_itself_succeeded_in_staging(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    fake_github.tag(REPO, "v1.2.5", OTHER)
    staged = request(bot, "staging v1.2.5")
    assert run_to_end(bot, staged) is State.SUCCEEDED
    at = succeeded_at(bot, staged)

    i = request(bot, "production v1.2.5")

    card, record = card_and_record(bot, i)
    assert gate_lines(card) == [
        f"*Promoted from staging:* `v1.2.5` succeeded there at {at} "
        f"(deployment #{staged})"], card
    assert gate_lines(record) == [
        f"✅ Promoted from staging — `v1.2.5` succeeded there in deployment #{staged}, "
        f"{at}"], record
    assert gate_lines("\n".join(card_and_record(bot, staged))) == []


def test_an_emergency_that_skipped_the_gate_says_so_on_the_card_and_the_record(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    fake_github.tag(REPO, "v1.2.4", OTHER)

    i = request(bot, 'production v1.2.4 --emergency "checkout is down"')

    card, record = card_and_record(bot, i)
    assert gate_lines(card) == [
        "*Promotion gate skipped (emergency):* `v1.2.4` had not succeeded in staging"], card
    assert gate_lines(record) == [
        "⏭️ Promoted from staging — skipped (emergency): `v1.2.4` had not succeeded "
        "there"], record
