"""A PostgreSQL database of a benchmark run's own: created on a server with a random name
(never the suite's `test` database), dropped at the end, whoever still holds a connection."""

from __future__ import annotations

import secrets

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.store.db import make_engine, normalize_url


class ScratchDatabase:
    """`url`: the new database on the server of `server_url` (`<prefix>_<random>`)."""

    def __init__(self, server_url: str, *, prefix: str) -> None:
        self.server = normalize_url(server_url)
        self.name = f"{prefix}_{secrets.token_hex(4)}"
        self.url = make_url(self.server).set(database=self.name).render_as_string(
            hide_password=False)
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = make_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()
