"""Every schema revision, up and down, keeps the rows of the tables it does not drop.

On SQLite a batch (`op.batch_alter_table` that copies the table: anything but adding a
column or an index) creates a new table, copies the rows, DROPs the old table and renames
the new one. With `PRAGMA foreign_keys=ON` (bot/store/db.py sets it on every connection)
that DROP deletes the rows first, and the rows referencing them go with them (ON DELETE
CASCADE: approval decisions, checklist ticks and facts, flags) or lose their reference
(SET NULL: the audit log). migrations/env.py runs the migrations with foreign keys off, as
Alembic ("Dealing with Referencing Foreign Keys" in "Running Batch Migrations for SQLite")
and SQLite (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
Changes") say to, and checks them at the end.

Each revision is run against a database holding a row in every table (all its columns
filled, each reference pointing at a seeded row), up and back down.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Column, Engine, MetaData, Table, event, func, pool, select
from sqlalchemy.engine import make_url

from bot.scheduling.scheduler import JOB_STORE_TABLE
from bot.store.db import make_engine
from bot.store.schema import (
    SCRIPT_LOCATION,
    ForeignKeysBroken,
    alembic_config,
    downgrade_schema,
    upgrade_schema,
)
from tests.store.test_schema_revisions import _fresh_postgres_database, columns, revision

NOT_OURS = {"alembic_version", JOB_STORE_TABLE}
# Values a later revision acts on: a deployment that ended is left alone by all of them
# (0006 ends duplicates in flight, 0010's downgrade ends per-PR runs in flight).
FIXED = {"state": "succeeded", "kind": "deploy"}
AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
SAMPLE: dict[type, Any] = {int: 7, bool: True, datetime: AT, float: 1.5, bytes: b"\x00\x01"}

REVISIONS = [r.revision for r in ScriptDirectory(SCRIPT_LOCATION).walk_revisions()
             if r.down_revision is not None]  # 0001 starts from nothing: nothing to keep

Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_file_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keep.db'}"
    else:
        yield from _fresh_postgres_database()


def _value(table: Table, column: Column[Any], conn: Any) -> Any:
    """A value for `column`: the first row of the table it references, or one of its type."""
    for fk in column.foreign_keys:
        return conn.execute(select(func.min(fk.column))).scalar_one()
    if column.name in FIXED:
        return FIXED[column.name]
    if isinstance(column.type, JSON):  # its python_type is object
        return {"k": "v"}
    kind = column.type.python_type
    if kind is str:
        length = getattr(column.type, "length", None) or 64
        return f"{table.name}.{column.name}"[-length:]
    return SAMPLE[kind]


def _seed(url: str) -> None:
    """A row in every table of ours that has none yet, parents first, every column filled
    (an autoincremented id left to the database)."""
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            for table in meta.sorted_tables:
                if table.name in NOT_OURS or conn.execute(
                        select(func.count()).select_from(table)).scalar_one():
                    continue
                values = {c.name: _value(table, c, conn) for c in table.columns
                          if not (c.primary_key and c.autoincrement is not False
                                  and c.type.python_type is int and not c.foreign_keys)}
                conn.execute(table.insert().values(values))
    finally:
        engine.dispose()


def _rows(url: str) -> Rows:
    """Every row of every table of ours, as read now."""
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                    for t in meta.sorted_tables if t.name not in NOT_OURS}
    finally:
        engine.dispose()


def _assert_kept(before: Rows, after: Rows, step: str) -> None:
    """The tables in both still hold the same rows, with the same values in the columns in
    both."""
    for name in before.keys() & after.keys():
        assert len(after[name]) == len(before[name]), (
            f"{step}: {name} had {len(before[name])} rows, now {len(after[name])}")
        if not before[name]:
            continue
        common = before[name][0].keys() & after[name][0].keys()
        assert [{c: r[c] for c in common} for r in after[name]] == [
            {c: r[c] for c in common} for r in before[name]], f"{step}: {name} changed"


@contextmanager
def _foreign_keys_at_drops(url: str) -> Iterator[list[tuple[str, int]]]:
    """(statement, PRAGMA foreign_keys then) for every DROP TABLE run on SQLite meanwhile,
    on whichever engine runs it (migrations/env.py makes its own)."""
    seen: list[tuple[str, int]] = []

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("DROP TABLE") and isinstance(
                cursor.connection, sqlite3.Connection):
            state = cursor.connection.execute("PRAGMA foreign_keys").fetchone()[0]
            seen.append((" ".join(statement.split()), state))

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", before)


@pytest.mark.parametrize("rev", REVISIONS)
def test_a_revision_keeps_the_rows_up_and_down(database_file_url: str, rev: str) -> None:
    url = database_file_url
    down = ScriptDirectory(SCRIPT_LOCATION).get_revision(rev).down_revision
    assert isinstance(down, str)
    upgrade_schema(url, down)
    _seed(url)
    before = _rows(url)
    with _foreign_keys_at_drops(url) as drops:
        upgrade_schema(url, rev)
        assert revision(url) == rev
        _assert_kept(before, _rows(url), f"upgrade to {rev}")

        _seed(url)  # the tables it made
        before = _rows(url)
        downgrade_schema(url, down)
        assert revision(url) == down
        _assert_kept(before, _rows(url), f"downgrade from {rev}")
    # every table a migration dropped (a batch's copy, or a table the downgrade removes)
    # was dropped with foreign keys off, so no row cascaded from it
    assert [(s, fk) for s, fk in drops if fk] == []


def test_the_migrations_connection_has_foreign_keys_off_and_the_bot_s_on(
        database_file_url: str) -> None:
    """The connection listener of bot/store/db.py turns them on for every new connection,
    the migrations' too: env.py turns them off on its connection before its transaction
    (inside one SQLite ignores the pragma); the bot's own connections still have them on."""
    url = database_file_url
    if make_url(url).get_backend_name() != "sqlite":
        pytest.skip("PRAGMA foreign_keys is SQLite's (PostgreSQL alters tables in place)")
    upgrade_schema(url, "0002")
    with _foreign_keys_at_drops(url) as drops:
        upgrade_schema(url, "0003")
        downgrade_schema(url, "0002")  # 0003's downgrade copies deployments in a batch
    assert drops == [("DROP TABLE deployments", 0)]
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


def test_rows_referencing_nothing_after_the_migrations_roll_them_back(
        database_file_url: str) -> None:
    """With foreign keys off nothing stops a migration from leaving a row that references
    nothing: env.py asks SQLite (PRAGMA foreign_key_check) before committing, and such a
    run stops, naming the rows, with nothing changed."""
    url = database_file_url
    path = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or not path:
        pytest.skip("PRAGMA foreign_key_check is SQLite's (PostgreSQL enforces them always)")
    upgrade_schema(url, "0002")
    _seed(url)
    raw = sqlite3.connect(path)  # foreign keys off: the way a broken migration would write
    try:
        raw.execute("UPDATE approval_decisions SET deployment_id = 42")
        raw.commit()
    finally:
        raw.close()
    with pytest.raises(ForeignKeysBroken) as refused:
        upgrade_schema(url, "0003")
    assert str(refused.value) == (
        "the schema migration was rolled back, nothing changed: after it these rows would "
        "reference rows that do not exist (PRAGMA foreign_key_check): approval_decisions "
        "row 1 → deployments")
    assert revision(url) == "0002"
    assert "migrations" not in columns(url, "deployments")


def test_the_offline_sqlite_script_turns_foreign_keys_off_around_one_transaction() -> None:
    """`alembic upgrade --sql` for SQLite says what the online run does."""
    cfg = alembic_config("sqlite:///offline.db")
    buf = io.StringIO()
    cfg.output_buffer = buf
    command.upgrade(cfg, "head", sql=True)
    statements = [s.strip() for s in buf.getvalue().split(";\n") if s.strip()]
    assert statements[:2] == ["PRAGMA foreign_keys=OFF", "BEGIN"]
    assert statements[-3:] == ["PRAGMA foreign_key_check", "COMMIT", "PRAGMA foreign_keys=ON"]
    assert statements.count("BEGIN") == 1
    assert not Path("offline.db").exists()
