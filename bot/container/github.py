"""GitHub, built for the composition root (bot.container): the one client every GitHub backend
shares (a token or the GitHub App's installation), the deployments mirrored on GitHub's
Deployments API, and the polling for automatic deploys where webhooks cannot arrive.
PyGithub is loaded only inside `github_client` and `build_mirror`, so a process whose config
names no GitHub never loads it (tests/test_container_imports.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.backends.slack import SlackNotifier
from bot.clock import Clock
from bot.config import AppConfig
from bot.ports import DeploymentMirror, RepositoryHeads
from bot.services.deployments import DeploymentService
from bot.services.github_mirror import GitHubMirror
from bot.services.github_polling import GitHubPolling
from bot.services.github_webhooks import GitHubWebhooks
from bot.services.previews import PreviewService
from bot.settings import GitHubApp
from bot.store.db import Database

if TYPE_CHECKING:  # imported where it is built (below)
    from bot.backends.github import GitHubClient


def github_client(config: AppConfig, *, api_url: str | None, token: str | None,
                  app: GitHubApp | None) -> GitHubClient:
    """With the token, or as the GitHub App's installation (GITHUB_APP_* settings), at
    `api_url` (None: GitHub's own). The one place PyGithub gets loaded for the container."""
    from bot.backends.github import DEFAULT_API_URL, GitHubClient

    api_url = api_url or DEFAULT_API_URL
    if app is None:
        return GitHubClient(token=token, api_url=api_url)
    configured = config.github.app.installation_id if config.github.app else None
    return GitHubClient(token=None, api_url=api_url, app_id=app.app_id,
                        private_key=app.private_key,
                        installation_id=app.installation(configured))


def build_mirror(config: AppConfig, *, store: Database, notifier: SlackNotifier,
                 mirror: DeploymentMirror | None, github: GitHubClient | None
                 ) -> GitHubMirror | None:
    """The deployments of services on GitHub mirrored there (`mirror`, else the Deployments
    API through `github`); None when no service names a repository or there is no GitHub."""
    if mirror is None and github is not None:
        from bot.backends.github import GitHubDeploymentMirror

        mirror = GitHubDeploymentMirror(github)
    repositories = {name: svc.github.repository for name, svc in config.services.items()
                    if svc.github is not None}
    if mirror is None or not repositories:
        return None
    github_mirror = GitHubMirror(repositories=repositories, store=store, mirror=mirror,
                                 permalink=notifier.permalink)
    notifier.watch(github_mirror)
    return github_mirror


def build_polling(config: AppConfig, *, store: Database, webhooks: GitHubWebhooks | None,
                  clock: Clock, heads: RepositoryHeads | None, socket_mode: bool,
                  notifier: SlackNotifier, deployments: DeploymentService,
                  defer: Callable[[Callable[[], None]], None],
                  previews: PreviewService | None = None) -> GitHubPolling | None:
    """Polling GitHub for automatic deploys (config github.poll): by default only when
    webhooks cannot arrive (no secret, or Socket Mode: no HTTP endpoint) and something is to
    be deployed automatically. Its deploys go through the webhooks' processing (one path)."""
    wanted = any(svc.github is not None and (svc.github.auto_deploy or svc.github.pull_requests)
                 for svc in config.services.values())
    mode = config.github.poll
    if heads is None or not wanted or mode == "off" or (
            mode == "auto" and webhooks is not None and not socket_mode):
        return None
    automatic = webhooks or GitHubWebhooks(config=config, store=store, deployments=deployments,
                                           poster=notifier, clock=clock, secret="",
                                           defer=defer, previews=previews)
    return GitHubPolling(config=config, store=store, heads=heads, automatic=automatic,
                         clock=clock)
