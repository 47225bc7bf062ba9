"""The schema revision this deploybot needs (`HEAD`) and the one a database is at, read with
plain SQL: the check at `deploybot run` start (bot.store.schema.ensure_schema) without
Alembic, which a web or worker process would otherwise load (~12 MB) only to compare two
strings.

`HEAD` is Alembic's head of migrations/ written down: tests/store/test_schema_head.py fails
as soon as a new revision is added and `HEAD` is not moved on with it, and checks that
`revision` reads what Alembic's MigrationContext reads.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

#: The revision of the newest migration in migrations/versions (Alembic's head).
HEAD = "0020"

#: Where Alembic records the revision a database is at (its default name and schema;
#: migrations/env.py keeps them).
VERSION_TABLE = "alembic_version"


def revision(connection: Connection) -> str | None:
    """The revision the database is at, as Alembic's MigrationContext.get_current_revision
    reads it: None without the version table or without a row in it. (Several rows, a
    branched history this project does not have, read as all of them, comma-separated:
    never the head.)"""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    versions = sorted(str(v) for v in rows)
    return ", ".join(versions) or None
