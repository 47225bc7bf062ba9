"""GitHub App authentication against the fake GitHub API: the client signs a JWT with the
App's private key, gets an installation token (POST /app/installations/{id}/access_tokens),
uses it on the requests that follow, and gets a new one when it expires. A test RSA key is
generated here; the fake checks the JWT with its public half."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.backends.github import GitHubClient, GitHubSourceControl
from bot.config import parse_config
from bot.settings import GitHubApp, Settings, SettingsError, github_app_from_env
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import AppTokens
from tests.backends.github.conftest import TAGS

APP_ID = 4242
INSTALLATION = 77
TOKEN_PATH = f"/app/installations/{INSTALLATION}/access_tokens"


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh test key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo
                                           ).decode()
    return private, public


def app_client(fake: FakeGitHub, private: str) -> Iterator[GitHubClient]:
    gh = GitHubClient(token=None, api_url=fake.url, timeout=5, app_id=APP_ID,
                      private_key=private, installation_id=INSTALLATION)
    yield gh
    gh.close()


@pytest.fixture
def app_gh(fake: FakeGitHub, keys: tuple[str, str]) -> Iterator[GitHubClient]:
    yield from app_client(fake, keys[0])


def test_the_installation_token_is_fetched_once_and_used_on_later_requests(
        fake: FakeGitHub, keys: tuple[str, str], app_gh: GitHubClient) -> None:
    tokens = AppTokens(fake, APP_ID, keys[1], INSTALLATION)
    source = GitHubSourceControl(app_gh)
    assert source.tags("acme/api") == TAGS
    assert source.tag_exists("acme/api", "v1.2.3") is True
    assert tokens.issued == ["ghs_1"]
    assert tokens.jwt_issuers == [str(APP_ID)]  # a JWT signed with the App's key
    requests = [(req.method, req.path, req.headers.get("Authorization"))
                for req, _ in fake.server.log]
    assert requests[0][:2] == ("POST", TOKEN_PATH)
    assert str(requests[0][2]).startswith("Bearer ")
    assert requests[1:] == [("GET", "/repos/acme/api/tags", "token ghs_1"),
                            ("GET", "/repos/acme/api/git/ref/tags/v1.2.3", "token ghs_1")]


def test_an_expiring_installation_token_is_replaced(
        fake: FakeGitHub, keys: tuple[str, str], app_gh: GitHubClient) -> None:
    # PyGithub asks for a new token 20 s before the old one expires: these are already due.
    tokens = AppTokens(fake, APP_ID, keys[1], INSTALLATION, lifetime=timedelta(seconds=5))
    source = GitHubSourceControl(app_gh)
    assert source.tags("acme/api") == TAGS
    assert source.tags("acme/api") == TAGS  # the fake accepts only the newest token
    assert tokens.issued == ["ghs_1", "ghs_2"]
    assert [p for p in fake.calls() if p.startswith("/app/")] == [TOKEN_PATH, TOKEN_PATH]


def test_a_key_that_is_not_the_apps_is_refused(fake: FakeGitHub,
                                              keys: tuple[str, str]) -> None:
    AppTokens(fake, APP_ID, keys[1], INSTALLATION)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    for gh in app_client(fake, other):
        with pytest.raises(Exception, match="401"):
            GitHubSourceControl(gh).tags("acme/api")


# -- settings -------------------------------------------------------------------------------
def test_the_app_settings_from_the_environment(keys: tuple[str, str], tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text(keys[0])
    app = github_app_from_env({"GITHUB_APP_ID": "4242", "GITHUB_APP_PRIVATE_KEY_FILE": str(pem),
                               "GITHUB_APP_INSTALLATION_ID": "77"})
    assert app == GitHubApp(APP_ID, keys[0], INSTALLATION)
    assert keys[0] not in repr(app)  # never printed
    s = Settings.from_env({"GITHUB_APP_ID": "4242", "GITHUB_APP_PRIVATE_KEY": keys[0]})
    assert s.github_app is not None and s.github_app.installation_id is None
    cfg = parse_config({**_minimal(), "github": {"app": {"installation_id": 9}}}, source="t")
    assert cfg.github.app is not None
    assert s.github_app.installation(cfg.github.app.installation_id) == 9
    assert github_app_from_env({}) is None


def _minimal() -> dict[str, object]:
    from tests.conftest import base_config
    return base_config()


@pytest.mark.parametrize("env,error", [
    ({"GITHUB_APP_ID": "4242"}, "GITHUB_APP_PRIVATE_KEY"),
    ({"GITHUB_APP_INSTALLATION_ID": "77"}, "GITHUB_APP_ID is not set"),
    ({"GITHUB_APP_ID": "x", "GITHUB_APP_PRIVATE_KEY": "k"}, "GITHUB_APP_ID='x' is not a number"),
    ({"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY_FILE": "/nonexistent/app.pem"},
     "cannot be read"),
    ({"GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": "not a key"}, "not a PEM private key"),
])
def test_only_part_of_the_app_settings_is_a_clear_startup_error(env: dict[str, str],
                                                                 error: str) -> None:
    with pytest.raises(SettingsError, match=error):
        Settings.from_env(env)


def test_an_app_without_an_installation_anywhere_is_a_clear_error(
        keys: tuple[str, str]) -> None:
    app = GitHubApp(APP_ID, keys[0])
    with pytest.raises(SettingsError, match="GITHUB_APP_INSTALLATION_ID"):
        app.installation(None)
