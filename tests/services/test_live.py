"""LiveState (bot.services.live): drift announced once across processes and audited, the
announcement retried when Slack refused it, and the scheduler's look (`check`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.deployment import NewDeployment
from bot.domain.live import Observed
from bot.domain.states import State
from bot.errors import RetryableError
from bot.scheduling import jobs
from bot.services.live import LiveState
from bot.store.db import Database
from tests.conftest import REQUESTER, base_config


class Cluster:
    """An executor that answers what it was told runs."""

    def __init__(self) -> None:
        self.running: dict[tuple[str, str], Observed] = {}

    def observe(self, environment: str, service: str) -> Observed | None:
        return self.running.get((environment, service))

    def deploy(self, *a: Any, **kw: Any) -> None:  # pragma: no cover - not used here
        raise AssertionError("no deploys here")


class Poster:
    def __init__(self) -> None:
        self.posts: list[str] = []
        self.refuse = False

    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        if self.refuse:
            raise RetryableError("Slack is down")
        self.posts.append(text)
        return "C0DEPLOYS", f"1.{len(self.posts)}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    yield database
    database.dispose()


def deployed(db: Database, clock: ManualClock, version: str) -> int:
    at = clock.now()
    with db.transaction() as r:
        d = r.deployments.add(NewDeployment(
            service="api", environment="staging", version=version, previous_version=None,
            state=State.QUEUED, requested_by=REQUESTER, requested_at=at,
            approvals_required=0, expires_at=None))
        r.deployments.transition(d.id, State.RUNNING, at=at, started_at=at)
        r.deployments.transition(d.id, State.SUCCEEDED, at=at, finished_at=at)
    return d.id


def audited(db: Database, action: str) -> int:
    with db.engine.connect() as conn:
        return len(conn.execute(text("SELECT id FROM audit_events WHERE action = :a"),
                                {"a": action}).all())


def test_drift_is_announced_once_across_processes_and_audited(
        db: Database, clock: ManualClock) -> None:
    config = parse_config(base_config())
    cluster, poster = Cluster(), Poster()
    one = LiveState(config=config, store=db, cluster=cluster, clock=clock, poster=poster)
    two = LiveState(config=config, store=db, cluster=cluster, clock=clock, poster=poster)
    deployed(db, clock, "v1.2.3")
    cluster.running[("staging", "api")] = Observed("v1.2.3")
    assert not one.of("staging", "api").drift and poster.posts == []

    cluster.running[("staging", "api")] = Observed("v1.2.5", changed_by="helm")
    assert [live.service for live in one.check()] == ["api"]
    assert two.of("staging", "api").drift  # seen by another process: not announced again
    assert len(poster.posts) == 1
    assert "changed outside deploybot by helm" in poster.posts[0]
    assert "runs `v1.2.5`" in poster.posts[0]
    assert audited(db, "drift.detected") == 1

    # Another version outside deploybot is news again.
    cluster.running[("staging", "api")] = Observed("v1.2.6")
    one.check()
    assert len(poster.posts) == 2 and audited(db, "drift.detected") == 2


def test_an_announcement_slack_refused_is_tried_again_next_time(
        db: Database, clock: ManualClock) -> None:
    config = parse_config(base_config())
    cluster, poster = Cluster(), Poster()
    live = LiveState(config=config, store=db, cluster=cluster, clock=clock, poster=poster)
    deployed(db, clock, "v1.2.3")
    cluster.running[("staging", "api")] = Observed("v1.2.5")
    poster.refuse = True
    assert live.check()
    assert poster.posts == []
    assert audited(db, "drift.detected") == 0
    poster.refuse = False
    live.check()
    assert len(poster.posts) == 1 and audited(db, "drift.detected") == 1


def test_the_scheduler_job_checks_every_pair(db: Database, clock: ManualClock) -> None:
    class Runner:
        def __init__(self) -> None:
            self.refreshed: list[tuple[str, str]] = []

        def refresh_running_now(self, environment: str, service: str) -> None:
            self.refreshed.append((environment, service))

    class Container:
        instance = "test-live"
        runner = Runner()

    c: Any = Container()
    config = parse_config(base_config())
    cluster, poster = Cluster(), Poster()
    c.live = LiveState(config=config, store=db, cluster=cluster, clock=clock, poster=poster)
    deployed(db, clock, "v1.2.3")
    cluster.running[("staging", "api")] = Observed("v1.2.4")
    jobs.register_instance(c)
    try:
        assert jobs.check_live("test-live") == 1
    finally:
        jobs.unregister_instance("test-live")
    assert len(poster.posts) == 1
    assert c.runner.refreshed == [("staging", "api")]  # the cards waiting there
