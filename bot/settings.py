"""Process settings from the environment: secrets, URLs and ports (never from app.yaml)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///deploybot.db"


class SettingsError(Exception):
    """A missing or malformed environment variable; `str()` names it and says why."""


@dataclass(frozen=True)
class GitHubApp:
    """A GitHub App's credentials, used instead of GITHUB_TOKEN: GITHUB_APP_ID, its private
    key (GITHUB_APP_PRIVATE_KEY, the PEM itself, or GITHUB_APP_PRIVATE_KEY_FILE, a path to
    it) and GITHUB_APP_INSTALLATION_ID (or app.yaml's github.app.installation_id)."""

    app_id: int
    private_key: str = field(repr=False)
    installation_id: int | None = None

    def installation(self, configured: int | None) -> int:
        """The installation to act as: the environment's, else app.yaml's."""
        found = self.installation_id or configured
        if found is None:
            raise SettingsError(
                "GITHUB_APP_ID is set but no installation is: set GITHUB_APP_INSTALLATION_ID "
                "(or github.app.installation_id in app.yaml)")
        return found


def github_app_from_env(e: Mapping[str, str]) -> GitHubApp | None:
    """The GitHub App settings, None when none is given; SettingsError naming what is missing
    when only part of them is."""
    app_id = e.get("GITHUB_APP_ID") or None
    key = e.get("GITHUB_APP_PRIVATE_KEY") or None
    key_file = e.get("GITHUB_APP_PRIVATE_KEY_FILE") or None
    installation = e.get("GITHUB_APP_INSTALLATION_ID") or None
    if not (app_id or key or key_file or installation):
        return None
    if app_id is None:
        raise SettingsError("GitHub App settings are incomplete: GITHUB_APP_ID is not set "
                            "(the App's numeric id, from its settings page)")
    if not app_id.isdigit():
        raise SettingsError(f"GITHUB_APP_ID={app_id!r} is not a number (the App's id)")
    if installation is not None and not installation.isdigit():
        raise SettingsError(f"GITHUB_APP_INSTALLATION_ID={installation!r} is not a number")
    if key and key_file:
        raise SettingsError("set GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE, "
                            "not both")
    if key_file is not None:
        try:
            key = Path(key_file).read_text()
        except OSError as err:
            raise SettingsError(f"GITHUB_APP_PRIVATE_KEY_FILE={key_file!r} cannot be read: "
                                f"{err.strerror or err}") from err
    if not key:
        raise SettingsError("GitHub App settings are incomplete: GITHUB_APP_ID is set but "
                            "GITHUB_APP_PRIVATE_KEY (the PEM) or GITHUB_APP_PRIVATE_KEY_FILE "
                            "is not")
    if "PRIVATE KEY-----" not in key:
        raise SettingsError("the GitHub App private key is not a PEM private key "
                            "(-----BEGIN RSA PRIVATE KEY----- ...)")
    if e.get("GITHUB_TOKEN"):
        raise SettingsError("set GITHUB_TOKEN or the GitHub App (GITHUB_APP_ID, ...), "
                            "not both")
    return GitHubApp(int(app_id), key, int(installation) if installation else None)


@dataclass(frozen=True)
class Settings:
    config_path: str
    database_url: str
    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_app_token: str | None
    slack_api_url: str | None
    port: int
    github_token: str | None = None
    github_api_url: str | None = None  # overrides app.yaml's github.api_url
    github_webhook_secret: str | None = None  # POST /github/webhook is off without it
    github_app: GitHubApp | None = None  # instead of github_token

    def __repr__(self) -> str:  # never print secrets
        return (
            f"Settings(config_path={self.config_path!r}, database_url=<redacted>, "
            f"slack_api_url={self.slack_api_url!r}, port={self.port})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        port_s = e.get("PORT", "3000")
        if not port_s.isdigit() or not 0 < int(port_s) < 65536:
            raise SettingsError(f"PORT={port_s!r} is not a TCP port number (1-65535)")
        api = e.get("SLACK_API_URL") or None
        if api is not None:
            if not re.match(r"^https?://", api):
                raise SettingsError(f"SLACK_API_URL={api!r} must start with http:// or https://")
            if not api.endswith("/"):
                api += "/"
        gh_api = e.get("GITHUB_API_URL") or None
        if gh_api is not None and not re.match(r"^https?://\S+$", gh_api):
            raise SettingsError(f"GITHUB_API_URL={gh_api!r} must start with http:// or https://")
        return cls(
            config_path=e.get("DEPLOYBOT_CONFIG", "app.yaml"),
            database_url=e.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            slack_bot_token=e.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=e.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=e.get("SLACK_APP_TOKEN") or None,
            slack_api_url=api,
            port=int(port_s),
            github_token=e.get("GITHUB_TOKEN") or None,
            github_api_url=gh_api,
            github_webhook_secret=e.get("GITHUB_WEBHOOK_SECRET") or None,
            github_app=github_app_from_env(e),
        )

    def require_slack(self, *, answers: bool = True) -> None:
        """Fail with the first missing or malformed Slack secret needed by `deploybot run`.
        `answers`: the process answers Slack requests (web, all); a worker only posts, so it
        needs the bot token and neither the signing secret nor an app token."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN does not look like a bot token (xoxb-…)")
        if not answers:
            return
        if self.slack_app_token:
            if not self.slack_app_token.startswith("xapp-"):
                raise SettingsError("SLACK_APP_TOKEN does not look like an app token (xapp-…)")
        elif not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set (needed in HTTP mode; "
                "set SLACK_APP_TOKEN instead for Socket Mode)"
            )
