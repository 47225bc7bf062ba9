"""The SchemaStatus port: which Alembic revision the database is at, against the code's
head (for `deploybot doctor`). Connecting is part of the question: an unreachable database
raises DatabaseUnavailable (a RetryableError) naming it, without its password.

Both are read without Alembic, as `deploybot run`'s schema check reads them
(bot.store.schema.ensure_schema): the revision with plain SQL (schema_head.revision) and the
head written down (schema_head.HEAD, kept equal to Alembic's by
tests/store/test_schema_head.py), so `deploybot doctor` does not load Alembic to compare two
strings.
"""

from __future__ import annotations

from bot.store import schema_head
from bot.store.db import make_engine
from bot.store.schema import _reachable, existing_tables


class DatabaseSchemaStatus:
    def __init__(self, url: str) -> None:
        self._url = url

    def revisions(self) -> tuple[str | None, str]:
        if not existing_tables(self._url):  # an SQLite file that does not exist stays so
            return None, schema_head.HEAD
        engine = make_engine(self._url)
        try:
            with _reachable(self._url), engine.connect() as conn:
                return schema_head.revision(conn), schema_head.HEAD
        finally:
            engine.dispose()
