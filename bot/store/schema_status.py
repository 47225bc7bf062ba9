"""The SchemaStatus port: which Alembic revision the database is at, against the code's
head (for `deploybot doctor`). Connecting is part of the question: an unreachable database
raises DatabaseUnavailable (a RetryableError) naming it, without its password."""

from __future__ import annotations

from bot.store.db import make_engine
from bot.store.schema import _reachable, current, existing_tables, head


class DatabaseSchemaStatus:
    def __init__(self, url: str) -> None:
        self._url = url

    def revisions(self) -> tuple[str | None, str]:
        if not existing_tables(self._url):  # an SQLite file that does not exist stays so
            return None, head()
        engine = make_engine(self._url)
        try:
            with _reachable(self._url):
                return current(engine), head()
        finally:
            engine.dispose()
