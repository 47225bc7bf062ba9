"""The bot's own database schema: its Alembic revisions (migrations/) driven from code
(`deploybot db upgrade`, tests, startup). ("Migrations" in the rest of the code are the
deployed services' database migrations, bot.services.migrations.)

Alembic is imported only by the functions that change the schema or read its revision
scripts (`upgrade_schema`, `downgrade_schema`, `head`, `current`, `alembic_config`). The
schema check at `deploybot run` start (`ensure_schema`) compares the revision read with
plain SQL to bot.store.schema_head.HEAD, so a process whose database is already at head
never loads Alembic (~12 MB); nor does `deploybot doctor` (bot.store.schema_status, the same
plain-SQL read), nor do the commands that only ask which tables exist (`existing_tables`):
`deploybot db` alone loads it (tests/test_container_imports.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

import migrations
from bot.errors import RetryableError
from bot.store import schema_head
from bot.store.db import make_engine, normalize_url

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


@contextmanager
def _reachable(url: str) -> Iterator[None]:
    try:
        yield
    except OperationalError as e:
        where = make_url(normalize_url(url)).render_as_string(hide_password=True)
        reason = " ".join(str(e.orig).split())
        raise DatabaseUnavailable(f"cannot reach the database {where}: {reason}") from e


def upgrade_schema(url: str, revision: str = "head") -> None:
    from alembic import command

    with _reachable(url):
        command.upgrade(alembic_config(url), revision)


def downgrade_schema(url: str, revision: str) -> None:
    from alembic import command

    with _reachable(url):
        command.downgrade(alembic_config(url), revision)


def head() -> str:
    """Alembic's head of the revision scripts (bot.store.schema_head.HEAD says the same,
    without Alembic: a test keeps them equal)."""
    from alembic.script import ScriptDirectory

    h = ScriptDirectory(SCRIPT_LOCATION).get_current_head()
    assert h is not None
    return h


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


def existing_tables(url: str) -> frozenset[str]:
    """The tables the database has now (empty when it has no schema yet). An SQLite file
    that does not exist is not created. Raises DatabaseUnavailable when it is unreachable."""
    u = make_url(normalize_url(url))
    if (u.drivername.startswith("sqlite") and u.database and u.database != ":memory:"
            and not u.database.startswith("file:") and not Path(u.database).exists()):
        return frozenset()
    engine = make_engine(url)
    try:
        with _reachable(url):
            return frozenset(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def ensure_schema(url: str, *, auto: bool) -> None:
    """Bring an embedded SQLite database (or any, with `auto`: `deploybot run --migrate`) to
    head; refuse to run on an outdated server DB. The revision is read with plain SQL and
    compared to schema_head.HEAD first: a database already at head loads no Alembic."""
    engine = make_engine(url)
    try:
        with _reachable(url), engine.connect() as conn:
            cur = schema_head.revision(conn)
    finally:
        engine.dispose()
    needed = schema_head.HEAD
    if cur == needed:
        return
    if auto or is_sqlite(url):
        upgrade_schema(url)
        return
    raise SchemaOutdated(
        f"the database is at revision {cur or 'none'} but this deploybot needs {needed}: "
        "run `deploybot db upgrade` first"
    )


class SchemaOutdated(Exception):
    pass


class ForeignKeysBroken(Exception):
    """SQLite: after the migrations (run with foreign keys off, migrations/env.py), rows
    referenced rows that do not exist; the migrations were rolled back."""


class DatabaseUnavailable(RetryableError):
    pass
