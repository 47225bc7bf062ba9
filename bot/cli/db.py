"""`deploybot db upgrade|downgrade|current`: the database schema (Alembic, loaded only here)."""

from __future__ import annotations

import argparse

from bot.cli.common import fail
from bot.settings import Settings


def cmd_db(ns: argparse.Namespace) -> int:
    from bot.store.db import make_engine
    from bot.store.schema import (
        ForeignKeysBroken,
        current,
        downgrade_schema,
        head,
        upgrade_schema,
    )

    settings = Settings.from_env()
    if ns.db_command in ("upgrade", "downgrade"):
        move = upgrade_schema if ns.db_command == "upgrade" else downgrade_schema
        try:
            move(settings.database_url, ns.revision)
        except ForeignKeysBroken as e:
            return fail(str(e))
        print(f"database {ns.db_command}d to {ns.revision}")
    else:
        engine = make_engine(settings.database_url)
        try:
            print(f"current: {current(engine) or 'none'}; head: {head()}")
        finally:
            engine.dispose()
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema (Alembic)")
    dbs = db.add_subparsers(dest="db_command", required=True)
    up = dbs.add_parser("upgrade")
    up.add_argument("revision", nargs="?", default="head")
    down = dbs.add_parser("downgrade")
    down.add_argument("revision")
    dbs.add_parser("current")
    db.set_defaults(func=cmd_db)
