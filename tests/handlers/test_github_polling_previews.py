"""Per-PR previews by polling (webhooks off), the whole bot with the fake GitHub API: a pull
request seen open deploys to its own instance of development; one that leaves the open list
(closed or merged) has its preview removed once, announced, like a `closed` delivery."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from bot.backends.simulated import SimulatedCluster
from bot.domain.states import State
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import RepoState
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import announcements, deployment_ids
from tests.handlers.test_github_polling import (  # noqa: F401 - fixtures
    REPO,
    bot,
    deliveries,
    fake_github,
    poll,
)

SHA7 = "7777777777777777777777777777777777777777"
SHA8 = "8888888888888888888888888888888888888888"
SHA9 = "9999999999999999999999999999999999999999"


@pytest.fixture
def config_data(fake_github: FakeGitHub) -> dict[str, Any]:  # noqa: F811
    cfg = base_config(github={"api_url": fake_github.url, "poll_every": "30s"})
    cfg["environments"]["development"] = {}
    cfg["services"]["api"].update({
        "github": {"repository": REPO, "auto_deploy": {"main": "staging"},
                   "pull_requests": {"environment": "development", "per_pr": True}},
        "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$",
    })
    return cfg


def simulated(bot: RunningBot) -> SimulatedCluster:  # noqa: F811
    cluster = bot.container.cluster.for_service("api")  # type: ignore[attr-defined]
    assert isinstance(cluster, SimulatedCluster)
    return cluster


def removals(bot: RunningBot) -> list[str]:  # noqa: F811
    return [str(m["text"]) for m in announcements(bot) if "closed" in str(m["text"])]


def removed_audits(bot: RunningBot) -> int:  # noqa: F811
    with bot.container.database.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM audit_events WHERE action = 'preview.removed'")).scalar_one())


def test_a_pull_request_closed_while_polling_removes_its_preview_once(
        bot: RunningBot, gh: RepoState) -> None:  # noqa: F811
    gh.open_pull(REPO, 9, "old-work", SHA9)  # open before the first look: a baseline
    assert poll(bot) == 0
    gh.open_pull(REPO, 7, "feature-7", SHA7)
    gh.open_pull(REPO, 8, "feature-8", SHA8)
    assert poll(bot) == 2
    d7, d8 = bot.deployment(1), bot.deployment(2)
    assert (d7.instance, d7.state, d8.instance, d8.state) == (
        "pr-7", State.SUCCEEDED, "pr-8", State.SUCCEEDED)
    cluster = simulated(bot)
    assert cluster.instance_version("development", "api", "pr-7") == SHA7[:12]

    gh.close_pull(REPO, 7)
    assert poll(bot) == 1  # the close, handed on like a `closed` delivery
    assert cluster.instance_version("development", "api", "pr-7") is None
    assert cluster.instance_version("development", "api", "pr-8") == SHA8[:12]
    bot.slack.wait_for("chat.postMessage", count=7)  # 2 x 3 for the deploys, 1 removal
    assert removals(bot) == [":broom: PR #7 closed: preview of api in development removed"]
    audit = deliveries(bot)[-1]
    assert (audit["event"], audit["action"], audit["pull_request"], audit["delivery"]) == (
        "pull_request", "closed", 7, f"github-poll-closed:{REPO}:pr7")
    assert audit["outcome"] == ["api development (PR #7): preview removed"]

    assert poll(bot) == 0  # seen closed once only
    assert removed_audits(bot) == 1

    gh.close_pull(REPO, 9)  # open since before the first look, never deployed
    assert poll(bot) == 1
    assert deliveries(bot)[-1]["outcome"] == ["api development (PR #9): no preview to remove"]
    assert removed_audits(bot) == 1
    assert len(removals(bot)) == 1
    assert deployment_ids(bot) == [1, 2]
