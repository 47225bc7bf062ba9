"""`deploybot shell`: the local demo (devtools.shell, loaded by name: no module of bot/
imports devtools), or one line saying what to install where it is absent (the image)."""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import datetime
from types import ModuleType

from bot.cli.common import EXIT_USAGE, fail, settings_and_config

#: What `deploybot shell` says where the demo tools are not installed (the Docker image).
SHELL_NEEDS_DEVTOOLS = ("deploybot shell needs the demo tools (the devtools package): "
                        "pip install -e '.[demo]' from a checkout")


def _devtools_shell() -> ModuleType | None:
    """devtools.shell, or None where the demo tools are not installed. Imported by name: the
    shell drives the bot against the fakes (FakeSlack, the fake Kubernetes API), which live
    outside the product, and no module of bot/ imports devtools (import-linter)."""
    try:
        return importlib.import_module("devtools.shell")
    except ModuleNotFoundError as e:
        if e.name is not None and (e.name == "devtools" or e.name.startswith("devtools.")):
            return None
        raise


def cmd_shell(ns: argparse.Namespace) -> int:
    shell = _devtools_shell()
    if shell is None:
        print(SHELL_NEEDS_DEVTOOLS, file=sys.stderr)
        return EXIT_USAGE
    settings, config = settings_and_config(ns.config)
    clock = None
    if ns.at is not None:
        from bot.clock import OffsetClock, SystemClock

        try:
            start = datetime.fromisoformat(ns.at)
        except ValueError:
            return fail(f"--at {ns.at!r} is not an ISO 8601 time (e.g. 2026-12-02T10:00)")
        if start.tzinfo is None:
            start = start.replace(tzinfo=config.zone)
        clock = OffsetClock(start, SystemClock())
    return int(shell.run_shell(
        config, database_url=ns.database_url or "sqlite:///deploybot-shell.db",
        script=ns.script, config_path=ns.config or settings.config_path, clock=clock,
        cluster=ns.cluster, github=ns.github))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sh = sub.add_parser("shell", help="try the bot locally: type commands, click buttons")
    sh.add_argument("--config", help="app.yaml to use (default $DEPLOYBOT_CONFIG or ./app.yaml)")
    sh.add_argument("--database-url", help="default: sqlite:///deploybot-shell.db")
    sh.add_argument("--script", help="read commands from this file ('-' for stdin) and exit")
    sh.add_argument("--at", help="pretend the time is this (ISO 8601; no offset = the team's "
                                 "zone) and let it run on from there: try the deploy windows")
    sh.add_argument("--cluster", choices=("simulated", "fake"), default="simulated",
                    help="where the services run: the simulated cluster (default), or 'fake': "
                         "every service on the Kubernetes executor against a local fake "
                         "Kubernetes API server started for the session (one Deployment per "
                         "environment and service; versions matching simulated.fail_versions "
                         "cannot be pulled)")
    sh.add_argument("--github", choices=("none", "fake"), default="none",
                    help="'fake': every service on a repository of a local fake GitHub "
                         "started for the session; `merge <service> <version>` merges into "
                         "main, which deploys itself to staging (the environment production "
                         "promotes from) at the bot's next poll")
    sh.set_defaults(func=cmd_shell)
