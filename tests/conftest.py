"""Shared fixtures: a database (SQLite, or PostgreSQL from TEST_DATABASE_URL), a fake Slack
Web API, a manual clock, and the whole bot served over HTTP as Slack would reach it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, pool, text

from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.container import Container, build_container
from bot.domain.deployment import Deployment
from bot.store.db import Database, make_engine, normalize_url
from bot.store.models import Base
from bot.store.schema import upgrade_schema
from bot.store.simulated import SqlSimulatedWorkloads
from bot.web import build_asgi
from devtools.fake_slack import FakeSlack
from devtools.server import ThreadedServer
from devtools.slack_requests import SlackRequester
from handlers import build_app
from tests.pg_instance import PgInstance, pg_bin
from tests.slack_hold import SlackHold

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
# A Wednesday, 10:00 in New York: inside every schedule.
WEDNESDAY = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)

REQUESTER, APPROVER, APPROVER2, OUTSIDER = "U0ALICE", "U0BOB", "U0CAROL", "U0MALLORY"


def running_version(cluster: Any, environment: str, service: str) -> str | None:
    """The version `cluster` (any Cluster) says runs there, read through its `observe`."""
    observed = cluster.observe(environment, service)
    return None if observed is None else observed.version


def base_config(**overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "timezone": "America/New_York",
        "slack": {"deployments_channel": "C0DEPLOYS"},
        "roles": {"deployers": [REQUESTER, APPROVER, APPROVER2],
                  "approvers": [APPROVER, APPROVER2, "S0LEADS"]},
        "environments": {
            "staging": {},
            "production": {"approval": {"required": 1, "approvers": ["approvers"],
                                        "expires_after": "2h"}},
        },
        "services": {"api": {"executor": "simulated"}},
        "simulated": {"rollout_seconds": 0, "fail_versions": "-bad$",
                      "initial_version": "v1.2.2"},
    }
    cfg.update(overrides)
    return cfg


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only", action="store_true",
        help="run only the tests that use the suite's database (a fixture on "
             "server_database_url, or the `postgres` mark): ./scripts/test's PostgreSQL pass; "
             "the others do not depend on the database and ran in its SQLite pass")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The `long` tests first (a stable sort keeps the rest in order): pytest-xdist hands
    # tests out in this order, so a minute-long one never starts last and ends the run alone.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
    if not config.getoption("database_tests_only"):
        return
    keep = [i for i in items if "server_database_url" in getattr(i, "fixturenames", ())
            or i.get_closest_marker("postgres") is not None]
    if len(keep) < len(items):
        kept = set(map(id, keep))
        config.hook.pytest_deselected(items=[i for i in items if id(i) not in kept])
        items[:] = keep


def _test_database_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _worker_database(url: str, worker: str) -> str:
    """TEST_DATABASE_URL's server, a database of this pytest-xdist worker's own
    (`<db>_gw0`, ...), made anew from nothing: workers never share tables, locks or rows."""
    server = make_url(normalize_url(url))
    name = f"{server.database}_{worker}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT",
                          poolclass=pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_database_url() -> Iterator[str | None]:
    """The PostgreSQL URL when the suite runs against it, upgraded to head once. Under
    pytest-xdist (`-n N`) each worker has a database of its own on that server."""
    url = _test_database_url()
    if url is None:
        yield None
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        url = _worker_database(url, worker)
    else:
        engine = make_engine(url)
        with engine.begin() as conn:  # start from nothing, whatever an earlier run left
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade_schema(url)
    yield url


@pytest.fixture(scope="session")
def sqlite_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to head once a session; each test's database is a copy (a
    migration run per test cost ~0.1 s of CPU and ~0.3 s in all, ~1,500 times a run)."""
    path = tmp_path_factory.mktemp("schema") / "head.db"
    upgrade_schema(f"sqlite:///{path}")
    # Every connection is closed: the WAL is checkpointed into the file and removed.
    assert not Path(f"{path}-wal").exists()
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path,
                 server_database_url: str | None) -> Iterator[str]:
    if server_database_url is None:
        path = tmp_path / "deploybot.db"
        shutil.copyfile(request.getfixturevalue("sqlite_at_head"), path)
        yield f"sqlite:///{path}"
        return
    engine = make_engine(server_database_url)
    names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield server_database_url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, server_database_url: str | None) -> Iterator[str]:
    """A PostgreSQL database for tests of several processes: the suite's (TEST_DATABASE_URL,
    truncated like `database_url`), else a throwaway server of the test's own
    (tests/pg_instance.py); skipped without PostgreSQL binaries."""
    if server_database_url is not None:
        yield request.getfixturevalue("database_url")
        return
    if pg_bin() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) for a server of the test's own")
    with PgInstance() as pg:
        upgrade_schema(pg.url)
        yield pg.url


@pytest.fixture
def on_postgres(server_database_url: str | None) -> bool:
    return server_database_url is not None


@pytest.fixture
def simulated_workloads(database_url: str) -> Iterator[SqlSimulatedWorkloads]:
    """The simulated cluster's state in the test database (a SimulatedCluster needs it)."""
    database = Database.from_url(database_url)
    try:
        yield SqlSimulatedWorkloads(database)
    finally:
        database.dispose()


@pytest.fixture
def slack_hold() -> SlackHold:
    """Holds the fake Slack's answers to chosen methods on request (tests/slack_hold.py)."""
    return SlackHold()


@pytest.fixture
def fake_slack(slack_hold: SlackHold) -> Iterator[FakeSlack]:
    """The fake Slack; at the end, nothing the bot sent may be what Slack refuses (or cuts):
    devtools/fake_slack_blocks.py's rules, `FakeSlack.refusals`."""
    with FakeSlack(usergroups={"S0LEADS": ["U0LEAD"]}, on_call=slack_hold) as fake:
        yield fake
        refused = fake.refusals()
        assert not refused, "Slack would refuse what the bot sent:\n" + "\n".join(
            str(r) for r in refused)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(WEDNESDAY)


@pytest.fixture
def config_data() -> dict[str, Any]:
    return base_config()


@pytest.fixture
def config(config_data: dict[str, Any]) -> AppConfig:
    return parse_config(config_data, source="test config")


@dataclass
class RunningBot:
    container: Container
    slack: FakeSlack
    requester: SlackRequester
    server: ThreadedServer
    clock: ManualClock

    def deploy(self, text: str, *, user: str = REQUESTER) -> Any:
        return self.requester.command("/deploy", text, user_id=user)

    def deployment(self, deployment_id: int) -> Deployment:
        with self.container.database.transaction() as r:
            dep = r.deployments.get(deployment_id)
        assert dep is not None
        return dep

    def card(self, deployment_id: int) -> dict[str, Any]:
        """The current state of a deployment's card in the fake Slack."""
        dep = self.deployment(deployment_id)
        assert dep.message_ts is not None
        for m in self.slack.messages(dep.channel):
            if m["ts"] == dep.message_ts:
                return m
        raise AssertionError(f"no card for deployment {deployment_id}")


@contextmanager
def serve_bot(config: AppConfig, database_url: str, fake_slack: FakeSlack,
              clock: ManualClock, **container_kw: Any) -> Iterator[RunningBot]:
    """deploybot as `deploybot run` serves it (Slack events, GitHub webhooks when the
    container has a secret, /metrics, /readyz) on a free port; `container_kw` goes to
    build_container (e.g. github_webhook_secret)."""
    from datetime import timedelta

    container = build_container(config, database_url=database_url, slack_token=BOT_TOKEN,
                                slack_api_url=fake_slack.base_url, clock=clock,
                                progress_every=timedelta(0), **container_kw)
    app = build_app(container, signing_secret=SIGNING_SECRET)
    server = ThreadedServer(build_asgi(app, background=container.background,
                                       github=container.webhooks,
                                       metrics=container.metrics,
                                       readiness=container.readiness)).start()
    requester = SlackRequester(f"{server.url}/slack/events", SIGNING_SECRET, fake_slack)
    try:
        yield RunningBot(container, fake_slack, requester, server, clock)
    finally:
        requester.close()
        server.stop()
        container.close()


@pytest.fixture
def bot(config: AppConfig, database_url: str, fake_slack: FakeSlack,
        clock: ManualClock) -> Iterator[RunningBot]:
    with serve_bot(config, database_url, fake_slack, clock) as running:
        yield running
