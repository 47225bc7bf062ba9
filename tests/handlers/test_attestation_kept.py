"""Attestation is kept when it is given (issue 12): where `checklist_attestation: approver`
is set when the approvals are complete, that approval's attestation of each item nothing
checked is stored (a tick marked attested), and the record shows what was stored — not what
app.yaml says when the record is drawn again. End to end over signed Slack HTTP with the
fake GitHub API: one bot approves, a second bot on the same database with the setting changed
redraws the record (a later rollback adds its line)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.checklist import FEATURE_FLAGS, ROLLBACK_PLAN
from bot.domain.states import State
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.review import FakeReview
from devtools.fake_slack import FakeSlack
from tests.conftest import APPROVER, REQUESTER, WEDNESDAY, base_config, serve_bot
from tests.handlers.spine import click_reply, request, run_to_end
from tests.handlers.test_checklist import not_applicable, tick
from tests.handlers.test_honest_record import LATER, record, rollback

ATTESTED = f"☑️ Monitoring alerts set up — attested by <@{APPROVER}> on approval"
NOT_CHECKED = "⚪ Monitoring alerts set up — not checked: nobody ticked it before approval"


@pytest.fixture
def fake_github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # a secret: from the environment only
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    github = FakeGitHub(httpserver, {"acme/api": []})
    history = FakeReview(github, "acme/api")
    history.commit("initial", pr=1)
    history.tag("v1.2.2")
    history.commit("Add login page", author="dana", pr=12, files=["app/login.py"])
    history.tag("v1.2.3")
    history.check("v1.2.3", "build", "success")
    return github


def config_data(fake_github: FakeGitHub, *, attests: bool) -> dict[str, Any]:
    """The monitoring item is not required in production: approval leaves it unchecked."""
    cfg = base_config(
        services={"api": {"executor": "simulated", "github": {
            "repository": "acme/api", "required_checks": ["build"]}}},
        github={"api_url": fake_github.url},
        checklist={"required_in": {"monitoring": []}},
    )
    if attests:
        cfg["environments"]["production"]["checklist_attestation"] = "approver"
    return cfg


@pytest.mark.parametrize("attests_then", [
    pytest.param(True, id="attested-then-setting-off-now"),
    pytest.param(False, id="not-attested-then-setting-on-now"),
])
def test_the_record_shows_the_attestation_made_at_approval_whatever_the_setting_says_later(
    attests_then: bool, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
    fake_github: FakeGitHub,
) -> None:
    config = parse_config(config_data(fake_github, attests=attests_then), source="then")
    with serve_bot(config, database_url, fake_slack, clock) as bot:
        i = request(bot, "production v1.2.3")
        assert "Ticked" in tick(bot, i, FEATURE_FLAGS, REQUESTER)
        assert "not applicable" in not_applicable(bot, i, ROLLBACK_PLAN, REQUESTER, "none")
        assert "You approved deployment" in click_reply(bot, i, APPROVER)
        assert run_to_end(bot, i) is State.SUCCEEDED
        then = record(bot, i)
        assert (ATTESTED if attests_then else NOT_CHECKED) in then, then

    # Later, app.yaml says the opposite; a rollback redraws the old record.
    changed = parse_config(config_data(fake_github, attests=not attests_then), source="now")
    with serve_bot(changed, database_url, fake_slack, clock) as later:
        later.clock.set(WEDNESDAY + LATER)
        rollback(later, "production")
        now = record(later, i)
        assert f"Rolled back to v1.2.2 by <@{APPROVER}>" in now, now  # redrawn
        assert (ATTESTED if attests_then else NOT_CHECKED) in now, now
        assert (NOT_CHECKED if attests_then else ATTESTED) not in now
        assert "✅ Monitoring alerts set up" not in now


NO_GITHUB_ATTESTED = f"☑️ Rollback plan documented — attested by <@{APPROVER}> on approval"


@pytest.mark.parametrize("attests_then", [
    pytest.param(True, id="attested-then-setting-off-now"),
    pytest.param(False, id="not-attested-then-setting-on-now"),
])
def test_without_github_the_attestation_made_at_approval_is_kept_too(
    attests_then: bool, database_url: str, fake_slack: FakeSlack, clock: ManualClock,
) -> None:
    """No `github:`/`checklist:` at all (the shipped app.yaml's case): nothing checks the
    items, approval attests them where the environment says so, and that is stored."""
    def cfg(attests: bool) -> Any:
        data = base_config()
        if attests:
            data["environments"]["production"]["checklist_attestation"] = "approver"
        return parse_config(data, source="test")

    with serve_bot(cfg(attests_then), database_url, fake_slack, clock) as bot:
        i = request(bot, "production v1.2.3")
        assert "You approved deployment" in click_reply(bot, i, APPROVER)
        assert run_to_end(bot, i) is State.SUCCEEDED
        then = record(bot, i)
        assert (NO_GITHUB_ATTESTED in then) is attests_then, then

    with serve_bot(cfg(not attests_then), database_url, fake_slack, clock) as later:
        later.clock.set(WEDNESDAY + LATER)
        rollback(later, "production")
        now = record(later, i)
        assert f"Rolled back to v1.2.2 by <@{APPROVER}>" in now, now
        assert (NO_GITHUB_ATTESTED in now) is attests_then, now
