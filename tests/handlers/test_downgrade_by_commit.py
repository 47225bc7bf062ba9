"""A commit running where a tag is asked for: with `github.version_from: sha`, a push to main
deploys its commit's first 12 characters to staging, and the team tags that commit. The
commit is then known by its tag (GitHub's tag list gives each tag's commit), so
`/deploy staging <an older tag>` asks to confirm the downgrade as it would over the tag
itself, and `/rollback staging` names the commit with its tag; when GitHub cannot list the
tags, the refusal says the comparison could not be made instead of skipping it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.clock import ManualClock
from bot.config import AppConfig
from bot.domain.deployment import Kind, NewDeployment
from bot.domain.states import State
from bot.presentation import ids
from bot.presentation.home_views import home_view
from bot.scheduling import jobs
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import RepoState
from devtools.fake_slack import FakeSlack
from tests.conftest import REQUESTER, RunningBot, base_config, serve_bot
from tests.handlers.conftest import GITHUB_MAIN_HEAD, GITHUB_REPO, polled_github
from tests.handlers.spine import (
    audit_actions,
    blocks_text,
    deployment_ids,
    ephemeral_text,
    posts_to,
    run_to_end,
)

REPO = GITHUB_REPO
OLD = GITHUB_MAIN_HEAD
MERGED = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345"  # main's new head, tagged v1.2.4
OTHER = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807"  # tagged v1.2.5
RUNNING = f"`v1.2.4` (commit `{MERGED[:12]}`)"


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fake = polled_github(httpserver, monkeypatch, ["v1.2.2"])
    fake.tag(REPO, "v1.2.3", OLD)
    return fake


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:
    return base_config(
        github={"api_url": fake_github.url, "poll_every": "30s"},
        services={"api": {"executor": "simulated",
                          "github": {"repository": REPO, "auto_deploy": {"main": "staging"}},
                          "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$"}},
    )


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
        gh: RepoState, fake_github: FakeGitHub) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock) as running:
        jobs.register_instance(running.container)
        try:
            jobs.poll_github(running.container.instance)  # the first look: a baseline
            gh.set_branch(REPO, "main", MERGED)
            fake_github.tag(REPO, "v1.2.4", MERGED)  # the team tags what main deployed
            jobs.poll_github(running.container.instance)
            assert running.container.runner.wait_idle()
            (i,) = deployment_ids(running)
            assert (running.deployment(i).version,
                    running.deployment(i).state) == (MERGED[:12], State.SUCCEEDED)
            yield running
        finally:
            jobs.unregister_instance(running.container.instance)


def answer_to(bot: RunningBot, command: str, text: str) -> dict[str, Any]:
    reply = bot.requester.command(command, text, user_id=REQUESTER)
    assert reply.status == 200, reply.body
    (post,) = bot.requester.response_posts(reply)
    assert post.args.get("response_type") == "ephemeral"
    return dict(post.args)


def test_an_older_tag_over_the_commit_of_a_newer_tag_asks_to_confirm_the_downgrade(
        bot: RunningBot) -> None:
    before = deployment_ids(bot)
    answer = answer_to(bot, "/deploy", "staging v1.2.3")

    assert deployment_ids(bot) == before  # nothing requested before the confirmation
    assert answer["text"].startswith(
        f"⬇️ This would downgrade api in staging: `v1.2.3` is older than {RUNNING}, which "
        "runs there now."), answer["text"]
    assert "Deploy v1.2.3 over v1.2.4" in blocks_text(answer)
    # An older tag still: the same confirmation, naming the commit by its tag.
    older = ephemeral_text(bot, bot.deploy("staging v1.2.2"))
    assert f"`v1.2.2` is older than {RUNNING}" in older, older


def test_github_not_listing_the_tags_says_the_comparison_could_not_be_made(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    fake_github.route("GET", r"/tags", lambda hit: fake_github.json(
        {"message": "Server Error"}, 502))
    before = deployment_ids(bot)

    answer = answer_to(bot, "/deploy", "staging v1.2.3")

    assert deployment_ids(bot) == before
    text = answer["text"]
    assert (f"I could not tell whether `v1.2.3` would downgrade api in staging: it runs "
            f"commit `{MERGED[:12]}`, and GitHub could not be asked which tag that is") \
        in text, text
    assert f"Deploy v1.2.3 over {MERGED[:12]}" in blocks_text(answer)


def test_rollback_names_the_commit_by_its_tag(bot: RunningBot,
                                              fake_github: FakeGitHub) -> None:
    fake_github.tag(REPO, "v1.2.5", OTHER)
    before = set(deployment_ids(bot))
    ephemeral_text(bot, bot.deploy("staging v1.2.5"))
    (new,) = set(deployment_ids(bot)) - before
    assert run_to_end(bot, new) is State.SUCCEEDED

    answer = answer_to(bot, "/rollback", "staging")

    assert answer["text"] == (f"↩️ Roll api in staging back from `v1.2.5` to {RUNNING}?"), \
        answer["text"]


def rollback_button(answer: dict[str, Any]) -> dict[str, Any]:
    for block in answer.get("blocks") or []:
        if block.get("block_id") == ids.ROLLBACK_BLOCK:
            (button,) = block["elements"]
            return dict(button)
    raise AssertionError(f"no confirmation button in {answer.get('text')!r}")


def test_rollback_to_a_tag_whose_commit_ran_there_deploys_that_commit(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    # /rollback offered "`v1.2.4` (commit `3f2a9c1b7d4e`)"; typing that tag was refused as
    # "has not run": only the commit was taken.
    fake_github.tag(REPO, "v1.2.5", OTHER)
    before = set(deployment_ids(bot))
    ephemeral_text(bot, bot.deploy("staging v1.2.5"))
    (new,) = set(deployment_ids(bot)) - before
    assert run_to_end(bot, new) is State.SUCCEEDED

    answer = answer_to(bot, "/rollback", "staging api v1.2.4")

    assert answer["text"] == f"↩️ Roll api in staging back from `v1.2.5` to {RUNNING}?", \
        answer["text"]
    text = blocks_text(answer)
    # The executor runs the image that ran: the commit's, not one built for the tag.
    assert (f"You named `v1.2.4`: it is commit `{MERGED[:12]}`, which ran in staging; the "
            f"rollback deploys that commit (the image that ran there)") in text, text
    button = rollback_button(answer)
    assert button["text"]["text"] == "Roll back to v1.2.4"
    assert button["value"] == f"staging api {MERGED[:12]} v1.2.5"

    reply = bot.requester.click(user_id=REQUESTER, action_id=ids.ROLLBACK_CONFIRM,
                                value=button["value"], channel_id="C0DEPLOYS")
    assert reply.status == 200, reply.body
    (started,) = bot.requester.response_posts(reply)  # answered once the rollback is queued
    assert "Rollback" in started.args["text"], started.args
    assert bot.container.runner.wait_idle()
    (rb,) = set(deployment_ids(bot)) - before - {new}
    d = bot.deployment(rb)
    assert (d.kind, d.version, d.previous_version, d.state) == (
        Kind.ROLLBACK, MERGED[:12], "v1.2.5", State.SUCCEEDED)


def test_rollback_to_a_tag_whose_commit_never_ran_there_says_where_it_ran(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    # production runs v1.2.2 (the simulated cluster's first version); v1.2.4's commit ran
    # in staging only (deployment #1, the automatic deploy).
    answer = answer_to(bot, "/rollback", "production api v1.2.4")

    text = answer["text"]
    assert text.startswith(
        f"⚠️ `v1.2.4` is commit `{MERGED[:12]}`, which has not run in production (as far as "
        f"deploybot and the cluster know), so it is no rollback. It ran in staging "
        f"(deployment #1)."), text
    # A tag whose commit ran nowhere deploybot knows of.
    fake_github.tag(REPO, "v1.2.5", OTHER)
    answer = answer_to(bot, "/rollback", "staging api v1.2.5")
    assert answer["text"].startswith(
        f"⚠️ `v1.2.5` is commit `{OTHER[:12]}`, which has not run in staging (as far as "
        "deploybot and the cluster know), so it is no rollback. It has not run in any other "
        "environment either."), answer["text"]


def test_rollback_to_a_tag_when_github_cannot_say_its_commit(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    fake_github.tag(REPO, "v1.2.5", OTHER)
    for path in (r"/tags", r"/git/ref/tags/.+"):  # the tag list, and the tag's own ref
        fake_github.route("GET", path, lambda hit: fake_github.json(
            {"message": "Server Error"}, 502))

    answer = answer_to(bot, "/rollback", "staging api v1.2.5")

    text = answer["text"]
    assert text.startswith("⚠️ `v1.2.5` has not run in staging before (as far as deploybot and "
                           "the cluster know)"), text
    assert ("GitHub could not be asked which commit the tag `v1.2.5` is" in text
            and "try again in a minute" in text), text


def queued(bot: RunningBot, version: str, *, previous: str) -> int:
    """A deploy of `version` to staging requested while `previous` ran there (no downgrade
    then), queued and not started yet — as one approved, or released by its window, is when
    an automatic deploy put a newer tag's commit live meanwhile; handed to the runner."""
    with bot.container.database.transaction() as r:
        d = r.deployments.add(NewDeployment(
            service="api", environment="staging", version=version, previous_version=previous,
            state=State.QUEUED, requested_by=REQUESTER, requested_at=bot.clock.now(),
            approvals_required=0, expires_at=None))
    bot.container.runner.submit(d.id)
    assert bot.container.runner.wait_idle()
    return d.id


def test_the_start_compares_the_commit_running_by_its_tag(bot: RunningBot) -> None:
    # staging runs 3f2a9c1b7d4e, the commit of v1.2.4 (the fixture's automatic deploy).
    d = bot.deployment(queued(bot, "v1.2.3", previous="v1.2.2"))

    assert d.state is State.CANCELLED, (d.state, d.error)
    assert d.error == (f"not started: {RUNNING} runs there now, and `v1.2.3` would downgrade "
                       "it; nobody confirmed that downgrade. Request it again to confirm it.")
    assert audit_actions(bot, d.id)[-1] == "deploy.refused_downgrade"
    # A newer tag starts over it as before.
    assert bot.deployment(queued(bot, "v1.2.5", previous="v1.2.2")).state is State.SUCCEEDED


def test_the_start_says_when_github_cannot_name_the_commit_running(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    fake_github.route("GET", r"/tags", lambda hit: fake_github.json(
        {"message": "Server Error"}, 502))
    bot.clock.advance(timedelta(minutes=2))  # the tag list kept a minute is gone

    d = bot.deployment(queued(bot, "v1.2.3", previous="v1.2.2"))

    assert d.state is State.CANCELLED, (d.state, d.error)
    assert d.error is not None and d.error.startswith(
        f"not started: it runs commit `{MERGED[:12]}` there now, and GitHub could not be "
        "asked which tag that is ("), d.error
    assert d.error.endswith("so whether `v1.2.3` would downgrade it could not be told; "
                            "nobody confirmed deploying over that commit. Request it again to "
                            "confirm it."), d.error


def test_the_start_uses_the_tag_last_listed_when_github_cannot_be_asked_now(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    # The request's check listed the tags (and asked to confirm the downgrade)...
    assert "would downgrade" in answer_to(bot, "/deploy", "staging v1.2.3")["text"]
    # ... and GitHub fails after the list's minute: the last list still names the commit.
    fake_github.route("GET", r"/tags", lambda hit: fake_github.json(
        {"message": "Server Error"}, 502))
    bot.clock.advance(timedelta(minutes=2))

    d = bot.deployment(queued(bot, "v1.2.3", previous="v1.2.2"))

    assert (d.state, d.error) == (State.CANCELLED, (
        f"not started: {RUNNING} runs there now, and `v1.2.3` would downgrade it; nobody "
        "confirmed that downgrade. Request it again to confirm it."))
    assert bot.deployment(queued(bot, "v1.2.5", previous="v1.2.2")).state is State.SUCCEEDED


def test_a_commit_running_is_shown_by_its_tag_once_its_tags_were_listed(
        bot: RunningBot, fake_github: FakeGitHub) -> None:
    fake_github.tag(REPO, "v1.2.5", OTHER)
    # Nothing asked GitHub for the tags yet: the commit alone, as before (no request made
    # to show it).
    assert f"`staging` / `api`: `{MERGED[:12]}` since" in blocks_text(
        answer_to(bot, "/deploy", "status"))
    # The downgrade check listed them (the request path, off the ack): now known.
    assert "would downgrade" in answer_to(bot, "/deploy", "staging v1.2.3")["text"]

    status = blocks_text(answer_to(bot, "/deploy", "status"))
    assert f"`staging` / `api`: {RUNNING} since" in status, status
    home = home_view(bot.container.home.build(lookups=10), bot.container.config.zone)
    assert f"• `api` {RUNNING} since" in blocks_text(home), blocks_text(home)
    before = set(deployment_ids(bot))
    ephemeral_text(bot, bot.deploy("staging v1.2.5"))
    (new,) = set(deployment_ids(bot)) - before
    card = next(c.args for c in posts_to(bot, "C0DEPLOYS")
                if c.args.get("blocks") and f"#{new}" in blocks_text(c.args))
    assert f"*Running now:* {RUNNING}" in blocks_text(card), blocks_text(card)
