"""`deploybot doctor` against the fakes on the wire: FakeSlack (auth.test with its
X-OAuth-Scopes header, conversations.info/.list), FakeKubernetes (SelfSubjectAccessReviews
answered per `forbid`), the fake GitHub (GET /repos/{repo}) and a real database.

Each case breaks one thing and checks that exactly that check fails, with its fix, and that
the exit code says so; the all-green case also runs as a real process (`python -m bot doctor`).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

from bot.backends.kubernetes import EXECUTOR_ACCESS, FLAG_ACCESS
from bot.backends.slack.access import BOT_SCOPES
from bot.doctor import run_doctor
from bot.settings import Settings
from bot.store.schema import head
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.doctor import add_repository_routes
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_slack import FakeSlack
from tests.conftest import BOT_TOKEN, base_config

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0DEPLOYS"
SERVICES = {
    "api": {"executor": "kubernetes", "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
            "github": {"repository": "acme/api"}},
    "web": {"executor": "simulated", "github": {"repository": "acme/web"}},
}


@dataclass
class World:
    tmp: Path
    slack: FakeSlack
    k8s: FakeKubernetes
    github: FakeGitHub
    env: dict[str, str]

    def write_config(self, data: Any) -> None:
        Path(self.env["DEPLOYBOT_CONFIG"]).write_text(yaml.safe_dump(data), encoding="utf-8")

    def doctor(self) -> tuple[int, list[str]]:
        out = io.StringIO()
        settings = Settings.from_env(self.env)
        code = run_doctor(settings, config_path=settings.config_path, out=out, env=self.env)
        return code, out.getvalue().splitlines()


@pytest.fixture
def k8s() -> Iterator[FakeKubernetes]:
    with FakeKubernetes() as fake:
        yield fake


@pytest.fixture
def world(tmp_path: Path, database_url: str, fake_slack: FakeSlack, k8s: FakeKubernetes,
          httpserver: HTTPServer) -> World:
    github = FakeGitHub(httpserver, {"acme/api": ["v1.0.0"], "acme/web": ["v2.0.0"]})
    add_repository_routes(github)
    fake_slack.set_scopes(BOT_SCOPES)
    fake_slack.set_channel(CHANNEL, "deployments", member=True)
    w = World(tmp_path, fake_slack, k8s, github, env={
        "DEPLOYBOT_CONFIG": str(tmp_path / "app.yaml"),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_API_URL": fake_slack.base_url,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": github.url,
        "KUBECONFIG": k8s.write_kubeconfig(tmp_path / "kubeconfig"),
    })
    w.write_config(base_config(services=SERVICES))
    return w


def line(lines: list[str], start: str) -> str:
    found = [x for x in lines if x.startswith(start)]
    assert len(found) == 1, (start, lines)
    return found[0]


def fix_after(lines: list[str], start: str) -> str:
    i = lines.index(line(lines, start))
    assert lines[i + 1].startswith("   fix: "), lines
    return lines[i + 1].removeprefix("   fix: ")


def failures(lines: list[str]) -> list[str]:
    return [x for x in lines if x.startswith("❌")]


def test_all_green_exits_0_and_asks_every_system(world: World) -> None:
    code, lines = world.doctor()
    assert code == 0, "\n".join(lines)
    assert failures(lines) == []
    assert line(lines, "✅ config: ").endswith("is valid (services: api, web)")
    assert line(lines, "✅ database: ") == f"✅ database: reachable, schema at head ({head()})"
    assert line(lines, "✅ Slack secrets: ").endswith("HTTP mode (SLACK_SIGNING_SECRET; "
                                                      "Slack posts to /slack/events)")
    assert line(lines, "✅ Slack token: ") == ("✅ Slack token: valid: bot @deploybot in "
                                               "workspace Deploybot Test")
    assert line(lines, "✅ Slack scopes: ").startswith(f"✅ Slack scopes: the token has all "
                                                       f"{len(BOT_SCOPES)}")
    assert line(lines, f"✅ Slack channel {CHANNEL}: ")
    for env in ("staging", "production"):
        assert line(lines, f"✅ Kubernetes {env} (namespace {env}: api): ")
    assert line(lines, "✅ GitHub acme/api: ")
    assert line(lines, "✅ GitHub acme/web: ")
    assert lines[-1] == "10 of 10 checks passed"
    # On the wire: one SelfSubjectAccessReview per permission and namespace, as asked.
    reviews = world.k8s.recorded("POST", "selfsubjectaccessreviews")
    asked = {(r.body["spec"]["resourceAttributes"]["namespace"],
              r.body["spec"]["resourceAttributes"]["verb"],
              r.body["spec"]["resourceAttributes"]["resource"]
              + ("/" + r.body["spec"]["resourceAttributes"]["subresource"]
                 if r.body["spec"]["resourceAttributes"].get("subresource") else ""))
             for r in reviews}
    assert len(reviews) == 2 * len(EXECUTOR_ACCESS)  # no flags configured: not asked
    assert ("production", "patch", "deployments") in asked
    assert ("staging", "get", "pods/log") in asked
    assert [c.args.get("channel") for c in world.slack.calls("conversations.info")] == [CHANNEL]
    assert all(c.token == BOT_TOKEN for c in world.slack.calls())
    assert sorted(p for p in world.github.calls()) == ["/repos/acme/api", "/repos/acme/web"]


def test_bot_not_in_the_channel(world: World) -> None:
    world.slack.set_channel(CHANNEL, "deployments", member=False)
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == [f"❌ Slack channel {CHANNEL}: the bot is not a member, so it "
                               "cannot post there"]
    assert fix_after(lines, "❌ Slack channel") == (
        f"invite the bot: type `/invite @deploybot` in {CHANNEL}")
    assert lines[-1] == "9 of 10 checks passed; 1 failed"


def test_a_channel_given_by_name_is_found_in_the_list(world: World) -> None:
    world.write_config(base_config(services=SERVICES, slack={"deployments_channel": "#deploys"}))
    world.slack.set_channel("C0OTHER", "general", member=True)
    world.slack.set_channel("C0NAMED", "deploys", member=False)
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == ["❌ Slack channel #deploys: the bot is not a member, so it "
                               "cannot post there"]
    world.slack.set_channel("C0NAMED", "deploys", member=True)
    code, lines = world.doctor()
    assert code == 0, lines
    assert world.slack.calls("conversations.list")


def test_a_missing_channel_is_named(world: World) -> None:
    world.write_config(base_config(services=SERVICES, slack={"deployments_channel": "C0GONE"}))
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == ["❌ Slack channel C0GONE: Slack has no channel C0GONE the bot "
                               "can see"]
    assert "slack.deployments_channel" in fix_after(lines, "❌ Slack channel")


def test_a_missing_scope_is_named(world: World) -> None:
    world.slack.set_scopes(BOT_SCOPES - {"usergroups:read", "chat:write"})
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == ["❌ Slack scopes: the token lacks chat:write, usergroups:read"]
    assert "reinstall the app" in fix_after(lines, "❌ Slack scopes")


def test_a_bad_slack_token(world: World) -> None:
    world.slack.fail_next("auth.test", "invalid_auth")
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == ["❌ Slack token: Slack refused it: Slack API error invalid_auth"]
    assert "SLACK_BOT_TOKEN" in fix_after(lines, "❌ Slack token")
    assert not world.slack.calls("conversations.info")  # nothing more to ask with that token


def test_an_rbac_verb_denied_in_one_namespace(world: World) -> None:
    world.k8s.forbid("patch", "deployments.apps", "production")
    world.k8s.forbid("get", "pods/log", "production")
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == ["❌ Kubernetes production (namespace production: api): "
                               "deploybot may not patch deployments.apps; get pods/log"]
    assert "Role and RoleBinding in namespace production" in fix_after(
        lines, "❌ Kubernetes production")
    assert line(lines, "✅ Kubernetes staging")


def test_flag_permissions_are_asked_only_where_flagd_keeps_the_flags(world: World) -> None:
    # Without `flags:`, a Role without the flag rules is enough: nothing asks for them.
    world.k8s.forbid("update", "configmaps", "production")
    world.k8s.forbid("update", "featureflags.core.openfeature.dev", "flags")
    code, lines = world.doctor()
    assert code == 0, "\n".join(lines)
    # With production's flags in a FeatureFlag resource in namespace `flags`, exactly its
    # permissions are asked there, and the one denied is named.
    world.write_config(base_config(services=SERVICES, flags={"production": {"flagd": {
        "feature_flag": {"name": "app-flags", "namespace": "flags"}}}}))
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == ["❌ Feature flags production (feature flag flags/app-flags): "
                               "deploybot may not update featureflags.core.openfeature.dev"]
    assert "RoleBinding in namespace flags" in fix_after(lines, "❌ Feature flags production")
    asked = {(r.body["spec"]["resourceAttributes"]["verb"],
              r.body["spec"]["resourceAttributes"]["resource"])
             for r in world.k8s.recorded("POST", "selfsubjectaccessreviews")
             if r.body["spec"]["resourceAttributes"]["namespace"] == "flags"}
    assert asked == {(verb, resource.partition(".")[0])
                     for verb, resource in FLAG_ACCESS["feature_flag"]}


def test_a_bad_github_token(world: World) -> None:
    world.env["GITHUB_TOKEN"] = "ghp_wrong"
    code, lines = world.doctor()
    assert code == 1
    bad = failures(lines)
    assert [x.split(":")[0] for x in bad] == ["❌ GitHub acme/api", "❌ GitHub acme/web"]
    assert all("refused the token (401 Bad credentials)" in x for x in bad)
    assert "set GITHUB_TOKEN" in fix_after(lines, "❌ GitHub acme/api")


def test_a_github_app_without_an_installation(world: World) -> None:
    del world.env["GITHUB_TOKEN"]
    world.env["GITHUB_APP_ID"] = "12345"
    world.env["GITHUB_APP_PRIVATE_KEY"] = ("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n"
                                           "-----END RSA PRIVATE KEY-----\n")
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines)[0].startswith("❌ GitHub credentials: GITHUB_APP_ID is set but no "
                                         "installation is")
    assert [x.split(":")[0] for x in failures(lines)[1:]] == ["❌ GitHub acme/api",
                                                              "❌ GitHub acme/web"]
    assert world.github.calls() == []


def test_a_repository_the_token_cannot_see(world: World) -> None:
    del world.github.repos["acme/web"]
    code, lines = world.doctor()
    assert code == 1
    assert [x.split(":")[0] for x in failures(lines)] == ["❌ GitHub acme/web"]


def test_a_database_without_the_schema(world: World, tmp_path: Path) -> None:
    world.env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == [f"❌ database: no schema yet (this deploybot needs revision "
                               f"{head()})"]
    assert fix_after(lines, "❌ database") == "run `deploybot db upgrade`"
    assert not (tmp_path / "empty.db").exists()  # the doctor does not create it


def test_a_database_behind_head(world: World, tmp_path: Path) -> None:
    from bot.store.schema import upgrade_schema

    url = f"sqlite:///{tmp_path / 'old.db'}"
    first = _first_revision()
    upgrade_schema(url, first)
    world.env["DATABASE_URL"] = url
    code, lines = world.doctor()
    assert code == 1
    assert failures(lines) == [f"❌ database: at revision {first}, but this deploybot needs "
                               f"{head()}"]


def _first_revision() -> str:
    from alembic.script import ScriptDirectory

    from bot.store.schema import SCRIPT_LOCATION

    bases = ScriptDirectory(SCRIPT_LOCATION).get_bases()
    return str(bases[0])


def test_a_broken_app_yaml_is_named_and_the_rest_still_checked(world: World) -> None:
    broken = base_config(services=SERVICES)
    broken["environments"]["production"]["approval"]["required"] = "two"
    world.write_config(broken)
    code, lines = world.doctor()
    assert code == 1
    (bad,) = failures(lines)
    assert bad.startswith(f"❌ config: {world.env['DEPLOYBOT_CONFIG']}: "
                          "environments.production.approval.required: ")
    assert "environments.production.approval.required in" in fix_after(lines, "❌ config")
    # What needs no config is still checked; channels, Kubernetes and GitHub are not.
    assert line(lines, "✅ database: ")
    assert line(lines, "✅ Slack scopes: ")
    assert not [x for x in lines if "Kubernetes" in x or "GitHub" in x or "Slack channel" in x]
    assert not world.k8s.recorded("POST")


def test_no_slack_token(world: World) -> None:
    del world.env["SLACK_BOT_TOKEN"]
    code, lines = world.doctor()
    assert code == 1
    assert [x.split(":")[0] for x in failures(lines)] == ["❌ Slack secrets", "❌ Slack token"]
    assert not world.slack.calls()


def test_in_a_workers_pod_no_signing_secret_is_needed(world: World) -> None:
    """A worker (DEPLOYBOT_ROLE=worker, as its Deployment sets) answers no Slack request."""
    world.env.pop("SLACK_SIGNING_SECRET", None)
    world.env.pop("SLACK_APP_TOKEN", None)
    world.env["DEPLOYBOT_ROLE"] = "worker"
    _code, lines = world.doctor()
    assert line(lines, "✅ Slack secrets: ").endswith("a worker answers no Slack request: no "
                                                     "signing secret or app token needed)")
    world.env["DEPLOYBOT_ROLE"] = "web"
    _code, lines = world.doctor()
    assert line(lines, "❌ Slack secrets: SLACK_SIGNING_SECRET is not set")


def test_the_cli_runs_it_as_a_process(world: World) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "GITHUB_", "DATABASE_URL", "DEPLOYBOT_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(world.env)
    ok = subprocess.run([sys.executable, "-m", "bot", "doctor"], cwd=world.tmp, env=env,
                        capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1] == "10 of 10 checks passed"
    world.k8s.forbid("watch", "jobs.batch", "staging")
    bad = subprocess.run([sys.executable, "-m", "bot", "doctor"], cwd=world.tmp, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert "❌ Kubernetes staging (namespace staging: api): deploybot may not watch jobs.batch" \
        in bad.stdout
    assert "Traceback" not in bad.stderr
