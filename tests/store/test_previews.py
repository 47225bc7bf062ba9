"""Per-PR instances in the store (SQLite, and PostgreSQL with TEST_DATABASE_URL): what runs
on an environment's main instance never includes a preview (running versions, rollback
targets, the promotion gate, the last live version), per-instance queries see only their
instance, and the claim keys polling keeps for open pull requests can be listed and dropped
once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.deployment import NewDeployment
from bot.domain.states import State
from bot.store.db import Database

T0 = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


def live(db: Database, version: str, *, instance: str | None = None,
         at: datetime = T0) -> int:
    """A deploy to development (its main instance, or `instance`) that succeeded."""
    with db.transaction() as r:
        d = r.deployments.add(NewDeployment(
            service="api", environment="development", version=version, previous_version=None,
            state=State.QUEUED, requested_by="gh", requested_at=at, approvals_required=0,
            expires_at=None, instance=instance))
        for target in (State.RUNNING, State.VERIFYING):
            assert r.deployments.transition(d.id, target, at=at)
        assert r.deployments.transition(d.id, State.SUCCEEDED, at=at, finished_at=at)
        return d.id


def test_previews_are_not_what_runs_on_the_main_instance(db: Database) -> None:
    main = live(db, "aaa")
    live(db, "bbb", instance="pr-7", at=T0 + timedelta(minutes=1))
    last = live(db, "ccc", instance="pr-8", at=T0 + timedelta(minutes=2))
    with db.transaction() as r:
        d = r.deployments
        assert [(v.environment, v.version) for v in d.running_versions()] == [
            ("development", "aaa")]
        assert [v.version for v in d.running_versions_of(["development"], ["api"])] == ["aaa"]
        assert d.good_versions("development", "api") == ["aaa"]
        assert d.last_succeeded_version("development", "api") == "aaa"
        assert d.last_succeeded_version("development", "api", "pr-7") == "bbb"
        assert d.last_succeeded_version("development", "api", "pr-9") is None
        assert d.succeeded_there("development", "api", "aaa")
        assert not d.succeeded_there("development", "api", "bbb")
        assert d.latest_live("development", "api", "bbb") is None
        got = d.latest_live("development", "api", "aaa")
        assert got is not None and got.id == main
        assert d.last_to_instance("development", "api", "pr-8") == last
        assert d.last_to_instance("development", "api", "pr-9") is None
        assert d.active_for("development", "api") is None
        # the DORA measures count deliveries to the environment, never previews
        assert [f.id for f in d.facts(environments=["development"], service=None,
                                      since=T0 - timedelta(days=1))] == [main]
        # history shows every deployment, the preview named
        assert [h.where for h in d.history(limit=5)] == [
            "development (PR #8)", "development (PR #7)", "development"]
        # not started yet: what a closed pull request's preview cancels
        assert list(d.unstarted_on_instance("development", "api", "pr-8")) == []
        waiting = d.add(NewDeployment(
            service="api", environment="development", version="ddd", previous_version=None,
            state=State.AWAITING_APPROVAL, requested_by="gh", requested_at=T0,
            approvals_required=1, expires_at=None, instance="pr-8"))
        assert list(d.unstarted_on_instance("development", "api", "pr-8")) == [waiting.id]
        assert list(d.unstarted_on_instance("development", "api", "pr-7")) == []


def test_open_pull_request_keys_are_listed_and_dropped_once(db: Database) -> None:
    with db.transaction() as r:
        for key in ("github-poll-open:acme/api:pr7", "github-poll-open:acme/api:pr10",
                    "github-poll-open:acme/web:pr7", "github-poll-open:acme/api_x:pr1"):
            assert r.announcements.claim(key, due_at=T0, at=T0)
    with db.transaction() as r:
        assert r.announcements.keys("github-poll-open:acme/api:pr") == [
            "github-poll-open:acme/api:pr10", "github-poll-open:acme/api:pr7"]
        assert r.announcements.drop("github-poll-open:acme/api:pr7") is True
        assert r.announcements.drop("github-poll-open:acme/api:pr7") is False
    with db.transaction() as r:
        assert r.announcements.keys("github-poll-open:acme/api:pr") == [
            "github-poll-open:acme/api:pr10"]
