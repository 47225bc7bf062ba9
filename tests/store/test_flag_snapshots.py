"""The feature flags kept with a deployment as its rollout started (table deployment_flags,
bot.store.flag_snapshots), on SQLite and (with TEST_DATABASE_URL) on PostgreSQL: kept once
(the first reading stays), read back unchanged, deleted with the deployment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.domain.deployment import NewDeployment
from bot.domain.flag_status import Declared, from_document, unreadable
from bot.domain.flags import FlagDocument
from bot.domain.states import State
from bot.store.db import Database
from tests.domain.test_flags import document

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


def deployment(db: Database) -> int:
    with db.transaction() as r:
        return r.deployments.add(NewDeployment(
            service="api", environment="production", version="v1.2.3",
            previous_version="v1.2.2", state=State.QUEUED, requested_by="U0ALICE",
            requested_at=T0, approvals_required=0, expires_at=None)).id


def test_the_first_reading_is_kept_and_read_back_unchanged(db: Database) -> None:
    i = deployment(db)
    first = from_document([Declared("new-checkout", "off"), Declared("gone")],
                          FlagDocument.parse(document(), where="x"), where="FeatureFlag x",
                          at=T0)
    with db.transaction() as r:
        assert r.flag_snapshots.get(i) is None
        assert r.flag_snapshots.keep(i, first) is True
    with db.transaction() as r:
        assert r.flag_snapshots.keep(i, unreadable("flagd", "x", at=T0, problem="403")) is False
    with db.transaction() as r:
        assert r.flag_snapshots.get(i) == first


def test_the_reading_goes_with_its_deployment(db: Database) -> None:
    i = deployment(db)
    with db.transaction() as r:
        r.flag_snapshots.keep(i, unreadable("ofrep", "the flag service at http://f", at=T0,
                                            problem="unreachable"))
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("PRAGMA foreign_keys=ON"))
        conn.execute(text("DELETE FROM deployments WHERE id = :i"), {"i": i})
    with db.transaction() as r:
        assert r.flag_snapshots.get(i) is None
