"""`deploybot doctor`: builds what the checks ask through (the doctor's own small
composition: the backends behind bot.services.setup_checks's ports, from the environment's
Settings and app.yaml), runs them and prints each as ✅ or ❌ with its fix.

The configuration is checked first: when app.yaml does not load, its file/key/reason is
printed and the checks that need it (channels, Kubernetes, GitHub) are left out; the
database and the Slack token are checked all the same. Exit code 0 when every check
passed, 1 when any failed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TextIO

from bot.config import AppConfig, ConfigError, load_config
from bot.ports import ClusterAccess, RepositoryAccess
from bot.roles import role_of
from bot.services.setup_checks import Check, SetupChecks, failed, passed
from bot.settings import Settings, SettingsError, github_app_from_env

OK, FAIL = "✅", "❌"


def config_check(path: str) -> tuple[Check, AppConfig | None]:
    from bot.backends.holiday_calendar import check_holiday

    try:
        config = load_config(path, holidays=check_holiday)
    except ConfigError as e:
        where = f"{e.key} in {e.path}" if e.key else e.path
        return failed("config", str(e), f"correct {where}; `deploybot check-config` "
                                        "prints what the file says once it loads"), None
    services = ", ".join(config.services) or "none"
    return passed("config", f"{path} is valid (services: {services})"), config


def secrets_check(settings: Settings, *, answers_slack: bool = True) -> Check:
    """The Slack secrets `deploybot run` needs, and which mode they select.
    `answers_slack`: False for a worker ($DEPLOYBOT_ROLE=worker), which only posts."""
    try:
        settings.require_slack(answers=answers_slack)
    except SettingsError as e:
        return failed("Slack secrets", str(e),
                      "set SLACK_BOT_TOKEN, and SLACK_APP_TOKEN (Socket Mode) or "
                      "SLACK_SIGNING_SECRET (HTTP mode: Slack posts to /slack/events)")
    if not answers_slack:
        return passed("Slack secrets", "the bot token is set (a worker answers no Slack "
                                       "request: no signing secret or app token needed)")
    mode = ("Socket Mode (SLACK_APP_TOKEN)" if settings.slack_app_token
            else "HTTP mode (SLACK_SIGNING_SECRET; Slack posts to /slack/events)")
    return passed("Slack secrets", f"set for {mode}")


def run_doctor(settings: Settings, *, config_path: str, out: TextIO,
               env: Mapping[str, str] | None = None) -> int:
    """`env`: where KUBECONFIG and the GitHub App settings are read (default os.environ)."""
    from bot.backends.slack import make_client
    from bot.backends.slack.access import BOT_SCOPES, SlackAccessCheck
    from bot.store.schema_status import DatabaseSchemaStatus

    checks: list[Check] = []
    cfg_check, config = config_check(config_path)
    try:  # the role of the process this runs beside (a worker's pod sets DEPLOYBOT_ROLE)
        answers_slack = role_of(None, os.environ if env is None else env).answers_slack
    except ValueError:
        answers_slack = True  # an unknown role: `deploybot run` says so; check everything
    checks += [cfg_check, secrets_check(settings, answers_slack=answers_slack)]
    closers: list[Callable[[], None]] = []
    env = os.environ if env is None else env
    try:
        github = None
        try:
            github = _github(config, settings, env, closers)
        except SettingsError as e:
            checks.append(failed("GitHub credentials", str(e), "set GITHUB_TOKEN, or all of "
                                 "the GitHub App settings (docs/github.md)"))
        slack = None
        if settings.slack_bot_token:
            slack = SlackAccessCheck(make_client(settings.slack_bot_token,
                                                 settings.slack_api_url))
        setup = SetupChecks(config=config, schema=DatabaseSchemaStatus(settings.database_url),
                            slack=slack, scopes=BOT_SCOPES,
                            clusters=_clusters(config, env, closers),
                            github=github)
        checks += setup.run()
    finally:
        for close in closers:
            close()
    for check in checks:
        print(render(check), file=out)
    bad = sum(1 for c in checks if not c.ok)
    print(f"\n{len(checks) - bad} of {len(checks)} checks passed"
          + (f"; {bad} failed" if bad else ""), file=out)
    return 1 if bad else 0


def render(check: Check) -> str:
    line = f"{OK if check.ok else FAIL} {check.name}: {check.detail}"
    return line + (f"\n   fix: {check.fix}" if check.fix else "")


def _clusters(config: AppConfig | None, env: Mapping[str, str],
              closers: list[Callable[[], None]]) -> ClusterAccess | None:
    if config is None or not any(s.executor == "kubernetes" for s in config.services.values()):
        return None
    from bot.backends.kubernetes import KubeClients, KubernetesAccessCheck

    clients = KubeClients(config.kubernetes, kubeconfig=env.get("KUBECONFIG") or None)
    closers.append(clients.close)
    return KubernetesAccessCheck(clients)


def _github(config: AppConfig | None, settings: Settings, env: Mapping[str, str],
            closers: list[Callable[[], None]]) -> RepositoryAccess | None:
    """With GITHUB_TOKEN, or as the GitHub App (GITHUB_APP_*), as `deploybot run` does."""
    if config is None or not any(s.github for s in config.services.values()):
        return None
    from bot.backends.github.access import GitHubRepositoryAccess
    from bot.backends.github.client import GitHubClient

    api_url = settings.github_api_url or config.github.api_url
    app = None if settings.github_token else github_app_from_env(env)
    if app is None:
        client = GitHubClient(token=settings.github_token, api_url=api_url)
    else:
        configured = config.github.app.installation_id if config.github.app else None
        client = GitHubClient(token=None, api_url=api_url, app_id=app.app_id,
                              private_key=app.private_key,
                              installation_id=app.installation(configured))
    closers.append(client.close)
    return GitHubRepositoryAccess(client)
