"""Process settings from the environment: defaults, validation, Slack secrets, no leaks."""

from __future__ import annotations

import pytest

from bot.settings import DEFAULT_DATABASE_URL, Settings, SettingsError

BOT = "xoxb-1234-secret-bot-token"
APP = "xapp-1-secret-app-token"
SIGNING = "s3cr3t-signing"


def test_defaults_from_an_empty_environment() -> None:
    s = Settings.from_env({})
    assert s == Settings(config_path="app.yaml", database_url=DEFAULT_DATABASE_URL,
                         slack_bot_token=None, slack_signing_secret=None, slack_app_token=None,
                         slack_api_url=None, port=3000)
    assert DEFAULT_DATABASE_URL == "sqlite:///deploybot.db"


def test_values_from_the_environment() -> None:
    s = Settings.from_env({
        "DEPLOYBOT_CONFIG": "/etc/deploybot/app.yaml",
        "DATABASE_URL": "postgresql://db/deploybot",
        "SLACK_BOT_TOKEN": BOT,
        "SLACK_SIGNING_SECRET": SIGNING,
        "SLACK_APP_TOKEN": APP,
        "SLACK_API_URL": "http://127.0.0.1:9999/api/",
        "PORT": "8080",
    })
    assert s.config_path == "/etc/deploybot/app.yaml"
    assert s.database_url == "postgresql://db/deploybot"
    assert (s.slack_bot_token, s.slack_signing_secret, s.slack_app_token) == (BOT, SIGNING, APP)
    assert s.slack_api_url == "http://127.0.0.1:9999/api/"
    assert s.port == 8080


def test_empty_values_count_as_unset() -> None:
    s = Settings.from_env({"DATABASE_URL": "", "SLACK_BOT_TOKEN": "", "SLACK_API_URL": "",
                           "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": ""})
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.slack_bot_token is None
    assert s.slack_signing_secret is None
    assert s.slack_app_token is None
    assert s.slack_api_url is None


def test_reads_os_environ_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "4321")
    monkeypatch.setenv("DEPLOYBOT_CONFIG", "elsewhere.yaml")
    s = Settings.from_env()
    assert (s.port, s.config_path) == (4321, "elsewhere.yaml")


@pytest.mark.parametrize("port", ["1", "80", "3000", "65535"])
def test_valid_ports(port: str) -> None:
    assert Settings.from_env({"PORT": port}).port == int(port)


@pytest.mark.parametrize("port", ["", "0", "65536", "99999", "-1", "abc", "80a", " 80", "8.0",
                                  "0x50"])
def test_malformed_port(port: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"PORT": port})
    assert str(info.value) == f"PORT={port!r} is not a TCP port number (1-65535)"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8888/api", "http://127.0.0.1:8888/api/"),
        ("http://127.0.0.1:8888/api/", "http://127.0.0.1:8888/api/"),
        ("https://slack.example.com", "https://slack.example.com/"),
        ("https://slack.example.com/a/b", "https://slack.example.com/a/b/"),
    ],
)
def test_slack_api_url_gets_a_trailing_slash(given: str, expected: str) -> None:
    assert Settings.from_env({"SLACK_API_URL": given}).slack_api_url == expected


@pytest.mark.parametrize("url", ["127.0.0.1:8888/api", "ftp://x/", "slack.com/api/"])
def test_slack_api_url_must_be_http(url: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"SLACK_API_URL": url})
    assert str(info.value) == f"SLACK_API_URL={url!r} must start with http:// or https://"


# -- require_slack ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)"),
        ({"SLACK_SIGNING_SECRET": SIGNING}, "SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": SIGNING},
         "SLACK_BOT_TOKEN does not look like a bot token (xoxb-…)"),
        ({"SLACK_BOT_TOKEN": APP, "SLACK_SIGNING_SECRET": SIGNING},
         "SLACK_BOT_TOKEN does not look like a bot token (xoxb-…)"),
        ({"SLACK_BOT_TOKEN": BOT},
         "SLACK_SIGNING_SECRET is not set (needed in HTTP mode; set SLACK_APP_TOKEN instead "
         "for Socket Mode)"),
        ({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": "xoxb-not-an-app-token"},
         "SLACK_APP_TOKEN does not look like an app token (xapp-…)"),
    ],
)
def test_require_slack_refuses(env: dict[str, str], message: str) -> None:
    s = Settings.from_env(env)
    with pytest.raises(SettingsError) as info:
        s.require_slack()
    assert str(info.value) == message


@pytest.mark.parametrize(
    "env",
    [
        {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SIGNING},  # HTTP mode
        {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP},  # Socket Mode: no signing secret
        {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP, "SLACK_SIGNING_SECRET": SIGNING},
    ],
)
def test_require_slack_accepts(env: dict[str, str]) -> None:
    assert Settings.from_env(env).require_slack() is None


def test_a_worker_needs_only_the_bot_token() -> None:
    """`deploybot run --role worker` answers no Slack request: no signing secret, no app
    token; the bot token it posts with is checked as ever."""
    assert Settings.from_env({"SLACK_BOT_TOKEN": BOT}).require_slack(answers=False) is None
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN is not set"):
        Settings.from_env({"SLACK_SIGNING_SECRET": SIGNING}).require_slack(answers=False)
    with pytest.raises(SettingsError, match="does not look like a bot token"):
        Settings.from_env({"SLACK_BOT_TOKEN": APP}).require_slack(answers=False)
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET is not set"):
        Settings.from_env({"SLACK_BOT_TOKEN": BOT}).require_slack(answers=True)


def test_errors_never_echo_a_secret() -> None:
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxp-secret-user-token"})
    with pytest.raises(SettingsError) as info:
        s.require_slack()
    assert "secret-user-token" not in str(info.value)


# -- no secrets in repr ----------------------------------------------------------------------

def test_repr_hides_secrets() -> None:
    s = Settings.from_env({
        "SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SIGNING, "SLACK_APP_TOKEN": APP,
        "DATABASE_URL": "postgresql://deploybot:hunter2@db.internal/deploybot",
        "SLACK_API_URL": "http://127.0.0.1:9/api", "PORT": "8080",
        "DEPLOYBOT_CONFIG": "conf/app.yaml",
    })
    for text in (repr(s), str(s), f"{s}", repr([s])):
        for secret in (BOT, SIGNING, APP, "hunter2", "db.internal"):
            assert secret not in text
    assert repr(s) == ("Settings(config_path='conf/app.yaml', database_url=<redacted>, "
                       "slack_api_url='http://127.0.0.1:9/api/', port=8080)")


def test_settings_are_frozen() -> None:
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]


def test_github_token_and_api_url_from_the_environment_never_printed() -> None:
    s = Settings.from_env({"GITHUB_TOKEN": "ghp_secret", "GITHUB_API_URL":
                           "https://ghe.example.com/api/v3"})
    assert (s.github_token, s.github_api_url) == ("ghp_secret", "https://ghe.example.com/api/v3")
    assert "ghp_secret" not in repr(s)
    assert Settings.from_env({"GITHUB_TOKEN": ""}).github_token is None
    with pytest.raises(SettingsError, match="GITHUB_API_URL"):
        Settings.from_env({"GITHUB_API_URL": "ghe.example.com"})
