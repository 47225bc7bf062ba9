"""bot.store.schema_head: the head revision written down, and the revision a database is at
read with plain SQL, so the schema check at `deploybot run` start needs no Alembic.

The constant can never go stale silently: it is compared with Alembic's own head of
migrations/ here. The reader is compared with Alembic's MigrationContext, and the check
keeps its behaviour: SQLite (or `--migrate`) is brought to head, an outdated server database
is refused with the same one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool

from bot.store import schema_head
from bot.store.db import make_engine
from bot.store.schema import (
    SCRIPT_LOCATION,
    SchemaOutdated,
    current,
    downgrade_schema,
    ensure_schema,
    head,
    upgrade_schema,
)
from tests.conftest import base_config
from tests.store.test_schema_revisions import _fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = ScriptDirectory(SCRIPT_LOCATION)
REVISIONS = [s.revision for s in reversed(list(SCRIPTS.walk_revisions()))]  # oldest first
BEFORE_HEAD = REVISIONS[-2]


def refusal(at: str | None) -> str:
    return (f"the database is at revision {at or 'none'} but this deploybot needs "
            f"{schema_head.HEAD}: run `deploybot db upgrade` first")


def test_the_head_constant_is_alembics_head() -> None:
    """Adding a migration without moving schema_head.HEAD on fails here."""
    assert SCRIPTS.get_heads() == [schema_head.HEAD]  # one head, and it is HEAD
    assert schema_head.HEAD == SCRIPTS.get_current_head() == head() == REVISIONS[-1]


@pytest.fixture
def server_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own (skipped without TEST_DATABASE_URL)."""
    yield from _fresh_postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'schema.db'}"
    else:
        yield from _fresh_postgres_database()


def read_both(url: str) -> tuple[str | None, str | None]:
    """(schema_head.revision, Alembic's MigrationContext) on one connection."""
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return (schema_head.revision(conn),
                    MigrationContext.configure(conn).get_current_revision())
    finally:
        engine.dispose()


def test_the_revision_is_read_as_alembic_reads_it(empty_url: str) -> None:
    assert read_both(empty_url) == (None, None)  # no alembic_version table yet
    for rev in (REVISIONS[0], BEFORE_HEAD, schema_head.HEAD):
        upgrade_schema(empty_url, rev)
        assert read_both(empty_url) == (rev, rev)
    downgrade_schema(empty_url, "base")  # the table stays, without a row
    assert read_both(empty_url) == (None, None)


def test_sqlite_is_brought_to_head_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'embedded.db'}"
    ensure_schema(url, auto=False)  # a new file
    assert read_both(url) == (schema_head.HEAD, schema_head.HEAD)
    downgrade_schema(url, BEFORE_HEAD)
    ensure_schema(url, auto=False)  # an older one
    assert read_both(url) == (schema_head.HEAD, schema_head.HEAD)
    ensure_schema(url, auto=False)  # at head: nothing to do
    assert read_both(url) == (schema_head.HEAD, schema_head.HEAD)


@pytest.mark.postgres
def test_an_outdated_server_database_is_refused_with_the_fix(server_url: str) -> None:
    with pytest.raises(SchemaOutdated) as e:
        ensure_schema(server_url, auto=False)
    assert str(e.value) == refusal(None)
    upgrade_schema(server_url, BEFORE_HEAD)
    with pytest.raises(SchemaOutdated) as e:
        ensure_schema(server_url, auto=False)
    assert str(e.value) == refusal(BEFORE_HEAD)
    engine = make_engine(server_url, poolclass=pool.NullPool)
    try:
        assert current(engine) == BEFORE_HEAD  # refused, not migrated
    finally:
        engine.dispose()
    ensure_schema(server_url, auto=True)  # `deploybot run --migrate`
    assert read_both(server_url) == (schema_head.HEAD, schema_head.HEAD)
    ensure_schema(server_url, auto=False)  # at head: runs


@pytest.mark.postgres
def test_deploybot_run_refuses_an_outdated_server_database(server_url: str,
                                                           tmp_path: Path) -> None:
    """The real process: one line naming both revisions and the fix, exit code 2."""
    upgrade_schema(server_url, BEFORE_HEAD)
    config = tmp_path / "app.yaml"
    config.write_text(yaml.safe_dump(base_config()))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DEPLOYBOT_", "DATABASE_URL", "GITHUB_"))}
    env.update(PYTHONPATH=str(ROOT), DEPLOYBOT_CONFIG=str(config), DATABASE_URL=server_url,
               SLACK_BOT_TOKEN="xoxb-outdated", SLACK_SIGNING_SECRET="outdated-secret")
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--role", "web",
                           "--host", "127.0.0.1"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"deploybot: {refusal(BEFORE_HEAD)}"]
