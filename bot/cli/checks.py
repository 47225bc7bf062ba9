"""`deploybot check-config` (app.yaml validated and summarised) and `deploybot doctor` (the
whole setup checked with the environment's secrets)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import check_holiday
from bot.domain.text import period
from bot.settings import Settings


def cmd_check_config(ns: argparse.Namespace) -> int:
    from bot.config import load_config
    from bot.config.checks import approver_warnings

    settings = Settings.from_env()
    path = ns.path or settings.config_path
    cfg = load_config(path, holidays=check_holiday)
    print(f"{path}: OK")
    print(f"  time zone: {cfg.timezone}")
    print(f"  deployments channel: {cfg.slack.deployments_channel}")
    for role, members in cfg.roles.items():
        print(f"  role {role}: {', '.join(members) or '(nobody)'}")
    for name, env in cfg.environments.items():
        a = env.approval
        rule = (f"{a.required} approval(s) from {', '.join(a.approvers)}; self-approval "
                f"{'allowed' if a.allow_self_approval else 'not allowed'}; expires after "
                f"{period(a.expires_after)}") if a else "no approval needed"
        print(f"  environment {name}: deployers {', '.join(env.deployers)}; {rule}")
    for name, svc in cfg.services.items():
        envs = ", ".join(svc.environments or cfg.environments.keys())
        print(f"  service {name}: executor {svc.executor}; versions match "
              f"{svc.version_pattern}; deploys to {envs}")
    ann = cfg.announcements
    production = ", ".join(sorted(cfg.production_environments()))
    print(f"  production environments: {production or '(none)'}")
    print("  result severity: " + ", ".join(f"{outcome} {level}" for outcome, level
                                            in ann.severity.mapping.items()))
    print("  mentions: " + (", ".join(f"{level} {m}" for level, m in ann.mentions.items())
                            or "(none)"))
    routes = cfg.alerts.routes
    print("  alert routes: " + ("; ".join(f"{level} → {', '.join(ds) or 'nowhere'}"
                                          for level, ds in routes.items())
                                or "(none: alerts go to the deployments channel only)"))
    mail = cfg.alerts.email
    print("  daily summary: " + (f"to {', '.join(mail.to)} at {mail.send_at:%H:%M} "
                                 f"{cfg.timezone}" if mail else "(off)"))
    print(f"  audit viewers (/audit): {', '.join(cfg.audit.viewers)}")
    print(f"  locks: a timed lock lasts at most {period(cfg.locks.max_duration)}")
    for warning in approver_warnings(cfg):
        print(f"  ⚠️ warning: {warning}")
    return 0


def cmd_doctor(ns: argparse.Namespace) -> int:
    """Check the setup (config, database, Slack, Kubernetes, GitHub); exit 1 if anything fails."""
    from bot.doctor import run_doctor

    settings = Settings.from_env()
    return run_doctor(settings, config_path=ns.path or settings.config_path, out=sys.stdout)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cc = sub.add_parser("check-config", help="validate app.yaml and print what it says")
    cc.add_argument("path", nargs="?")
    cc.set_defaults(func=cmd_check_config)
    doc = sub.add_parser(
        "doctor", help="check the setup: app.yaml, database, Slack token, scopes and channel, "
                       "Kubernetes RBAC, GitHub; exit 1 if anything fails",
        description="Check, with the environment's secrets, everything deploybot needs: app.yaml "
                    "loads; the database is reachable and migrated; the Slack token is valid, "
                    "has every scope of slack-manifest.yaml, and the bot is in the deployments "
                    "channel; each Kubernetes environment grants the executor's verbs "
                    "(SelfSubjectAccessReview); each GitHub repository is visible. Prints each "
                    "check as ✅ or ❌ with the fix.")
    doc.add_argument("path", nargs="?", help="app.yaml to check (default $DEPLOYBOT_CONFIG "
                                             "or ./app.yaml)")
    doc.set_defaults(func=cmd_doctor)
