"""The `deploybot` command: run, shell, db upgrade, check-config, doctor, policy, audit export.

Configuration or secret problems print one line naming the file/variable, the key and the
reason, and exit with code 2 — never a traceback.

This module holds argparse's tree and `main`; each verb group is its own module, which adds
its subcommand and holds its `cmd_*` function: run (bot.cli.run), shell (bot.cli.shell),
db (bot.cli.db), policy (bot.cli.policy), audit export (bot.cli.audit), check-config and
doctor (bot.cli.checks). Each imports its heavy pieces (the container, the web stack,
migrations, and even the config's schema) only when it runs: `deploybot --help` or a usage
error loads none of them (tests/test_container_imports.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli import audit, checks, db, policy, run, shell
from bot.cli.common import fail
from bot.errors import RetryableError
from bot.logs import configure_logging, log_format_from
from bot.settings import SettingsError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deploybot", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for verb in (run, shell, db, policy, audit, checks):  # the order of `deploybot --help`
        verb.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    # Only once a command is to run: bot.config builds the whole app.yaml schema (pydantic),
    # which `--help` and a usage error (both exit inside parse_args) do not need.
    from bot.config import ConfigError

    try:  # --log-format, else LOG_FORMAT, else text; secrets are masked in either
        log_format = getattr(ns, "log_format", None) or log_format_from(
            os.environ.get("LOG_FORMAT")) or "text"
    except ValueError as e:
        return fail(f"LOG_FORMAT: {e}")
    configure_logging(log_format, level=logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code: int = ns.func(ns)
        return code
    except (ConfigError, SettingsError) as e:
        return fail(str(e))
    except RetryableError as e:  # e.g. the database is down at start
        print(f"deploybot: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
