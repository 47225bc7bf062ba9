"""The database as a readiness dependency (GET /readyz): one cheap `SELECT 1`."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.errors import RetryableError
from bot.store.db import Database


class DatabaseDependency:
    """Implements the Dependency port: a connection from the pool and `SELECT 1`."""

    name = "database"

    def __init__(self, database: Database) -> None:
        self._database = database

    def check(self) -> None:
        try:
            with self._database.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except DBAPIError as e:
            cause = str(e.orig or e).strip().splitlines()
            raise RetryableError(
                f"the database is unavailable: {cause[0] if cause else type(e).__name__}"
            ) from e
        except SQLAlchemyError as e:
            raise RetryableError(f"the database is unavailable: {type(e).__name__}") from e
