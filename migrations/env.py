"""Alembic environment: the URL comes from the caller (bot.store.schema) or DATABASE_URL.

On SQLite the migrations run with foreign keys off. A batch (`op.batch_alter_table` doing
more than adding columns or indexes) copies the table into a new one, DROPs the old one and
renames the copy; with `PRAGMA foreign_keys=ON` (bot/store/db.py sets it on every
connection, this one too) that DROP first deletes the rows, and the rows referencing them go
too (ON DELETE CASCADE) or lose their reference (SET NULL). Alembic ("Dealing with
Referencing Foreign Keys", https://alembic.sqlalchemy.org/en/latest/batch.html) and SQLite
(https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes",
steps 1 and 10-12) say the same: foreign keys off outside the transaction (the pragma is a
no-op inside one), `PRAGMA foreign_key_check` before committing, then on again. All the
revisions of a run are one transaction there (as on PostgreSQL), so a failed check, or a
failed revision, leaves the database as it was. PostgreSQL alters tables in place: nothing
to do there.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, pool

from bot.store.db import make_engine, normalize_url
from bot.store.models import Base
from bot.store.schema import ForeignKeysBroken

config = context.config
target_metadata = Base.metadata

# Tables owned by others (e.g. APScheduler's job store) are not ours to migrate.
IGNORED_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "table" and name in IGNORED_TABLES)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL (or use `deploybot db upgrade`)")
    return normalize_url(url)


def _foreign_keys(connection: Connection, on: bool) -> None:
    """PRAGMA foreign_keys on the driver's connection, outside any transaction: SQLite
    ignores it inside one, and SQLAlchemy's connection would begin one first (bot/store/db.py
    has it BEGIN IMMEDIATE before the first statement). Read back: ignored, it stops."""
    dbapi = connection.connection.driver_connection
    assert dbapi is not None
    dbapi.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    now = dbapi.execute("PRAGMA foreign_keys").fetchone()[0]
    if now != on:
        raise RuntimeError(f"PRAGMA foreign_keys stayed {now}: not running the migrations")


def _check_foreign_keys(connection: Connection) -> None:
    """Raise, rolling the migrations back, when a row references one that does not exist."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        rows = "; ".join(f"{table} row {rowid} → {parent}"
                         for table, rowid, parent, _fk in broken[:10])
        more = f" (and {len(broken) - 10} more)" if len(broken) > 10 else ""
        raise ForeignKeysBroken(
            "the schema migration was rolled back, nothing changed: after it these rows would "
            f"reference rows that do not exist (PRAGMA foreign_key_check): {rows}{more}")


def run_offline() -> None:
    url = _url()
    sqlite = url.startswith("sqlite")
    # transactional_ddl: one transaction for all the revisions, on SQLite too (Alembic
    # assumes pysqlite's old implicit COMMIT before DDL; bot/store/db.py begins its own).
    # The script then says what run_online does: foreign keys off before its BEGIN.
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      include_object=include_object, render_as_batch=True,
                      transactional_ddl=True if sqlite else None)
    if sqlite:
        context.execute("PRAGMA foreign_keys=OFF")
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:  # a script cannot refuse to COMMIT: it lists what is wrong, if anything
            context.execute("PRAGMA foreign_key_check")
    if sqlite:
        context.execute("PRAGMA foreign_keys=ON")


def run_online() -> None:
    engine = make_engine(_url(), poolclass=pool.NullPool)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _foreign_keys(connection, on=False)
        context.configure(connection=connection, target_metadata=target_metadata,
                          include_object=include_object, render_as_batch=True,
                          compare_type=True, transactional_ddl=True if sqlite else None)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
        if sqlite:
            _foreign_keys(connection, on=True)
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
