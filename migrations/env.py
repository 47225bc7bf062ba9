"""Alembic environment: the URL comes from the caller (bot.store.schema) or DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import pool

from bot.store.db import make_engine, normalize_url
from bot.store.models import Base

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


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      include_object=include_object, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          include_object=include_object, render_as_batch=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
