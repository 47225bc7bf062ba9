"""`/migrations` also says whether the service's database answers (issue 16, the guide's
"check connections"): `migrations.check_command` runs as a one-off Job like the status
command, from the running version's image — on the fake Kubernetes API server and on the
simulated executor — and the answer says "Database: answers", "Database: does not answer —
<why>", or how to have it checked when no check command is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.store.models import AuditRow
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import REQUESTER, RunningBot, base_config
from tests.handlers.spine import blocks_text

MIGRATE = ["python", "manage.py", "migrate"]
SHOW = ["python", "manage.py", "showmigrations"]
CHECK = ["python", "manage.py", "check", "--database", "default"]
SHOWMIGRATIONS = "orders\n [X] 0001_initial\n [X] 0042_refunds\n"
REFUSED = ('django.db.utils.OperationalError: connection to server at "db" (10.0.0.5), port '
           "5432 failed: Connection refused")


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as fake:
        fake.add_deployment("staging", "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}], replicas=2,
            env=[{"name": "DATABASE_URL", "value": "postgres://db/api"}])
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(request: pytest.FixtureRequest, fake_k8s: FakeKubernetes) -> dict[str, Any]:
    """`api` on Kubernetes and `web` on the simulated executor, both with a status and a
    check command; the parameter (a dict) may set `simulated.fail_jobs` ("fail_jobs") or
    leave the check command out ("no_check")."""
    param: dict[str, Any] = getattr(request, "param", {})
    migrations: dict[str, Any] = {"command": MIGRATE, "timeout": "30s", "status_command": SHOW}
    if not param.get("no_check"):
        migrations["check_command"] = CHECK
    cfg = base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
                          "migrations": dict(migrations)},
                  "web": {"executor": "simulated", "migrations": dict(migrations)}},
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}},
    )
    if param.get("fail_jobs"):
        cfg["simulated"]["fail_jobs"] = param["fail_jobs"]
    return cfg


def ask(bot: RunningBot, text: str) -> tuple[str, str, dict[str, Any]]:
    """`/migrations text`: the ack's text, then the answer's text and its blocks."""
    reply = bot.requester.command("/migrations", text, user_id=REQUESTER)
    assert reply.status == 200, reply.body
    (post,) = bot.requester.response_posts(reply, timeout=15)
    assert post.args.get("response_type") == "ephemeral", post.args
    return str(reply.json["text"]), str(post.args["text"]), post.args


def jobs_of_kind(fake: FakeKubernetes, kind: str) -> list[dict[str, Any]]:
    return [j for j in fake.objects("jobs", "staging")
            if j["metadata"]["labels"].get("deploybot.io/job-kind") == kind]


def audit(bot: RunningBot) -> list[dict[str, Any]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(select(AuditRow.details)
                            .where(AuditRow.action == "migrations.status")
                            .order_by(AuditRow.id)).all()
    return [dict(r[0] or {}) for r in rows]


def test_kubernetes_a_database_that_answers(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.set_job_outcome("staging", "api-status-", succeed=True, logs=SHOWMIGRATIONS)
    fake_k8s.set_job_outcome("staging", "api-check-", succeed=True,
                             logs="System check identified no issues (0 silenced).\n")

    ack, text, post = ask(bot, "staging api")

    assert ack.startswith("⏳ Running `showmigrations` for api in staging, then "
                          "`check --database default` (does the database answer?)…")
    (check,) = jobs_of_kind(fake_k8s, "check")
    name = check["metadata"]["name"]
    assert name.startswith("api-check-")
    container = check["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["command"]) == ("ghcr.io/acme/api:v1.2.2", CHECK)
    assert container["env"] == [{"name": "DATABASE_URL", "value": "postgres://db/api"}]
    assert len(jobs_of_kind(fake_k8s, "status")) == 1
    shown = blocks_text(post)
    assert f"🟢 *Database: answers* — `check --database default` in Job `{name}` succeeded" \
        in shown
    assert "[X] 0042_refunds" in shown  # the status output is still there
    assert "Database: answers" in text  # the notification text too
    (details,) = audit(bot)
    assert details["database"] == {"answers": True, "job": name, "command": CHECK,
                                   "reason": None}


def test_kubernetes_a_database_that_does_not_answer_says_why(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.set_job_outcome("staging", "api-status-", succeed=True, logs=SHOWMIGRATIONS)
    fake_k8s.set_job_outcome("staging", "api-check-", succeed=False,
                             logs=f"Traceback (most recent call last):\n  ...\n{REFUSED}\n")

    _, text, post = ask(bot, "staging api")

    (check,) = jobs_of_kind(fake_k8s, "check")
    name = check["metadata"]["name"]
    shown = blocks_text(post)
    assert "Database: does not answer" in text  # the notification text says it too
    assert ("🔴 *Database: does not answer* — django.db.utils.OperationalError: connection "
            'to server at "db" (10.0.0.5), port 5432 failed: Connection refused\n'
            f"`check --database default` in Job `{name}`") in shown
    assert "✅ *Migration status of `api` in staging*" in shown  # the status Job succeeded
    (details,) = audit(bot)
    assert details["database"]["answers"] is False
    assert details["database"]["reason"] == REFUSED


@pytest.mark.parametrize("config_data", [{"no_check": True}], indirect=True)
def test_kubernetes_without_a_check_command_says_how_to_enable_it(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.set_job_outcome("staging", "api-status-", succeed=True, logs=SHOWMIGRATIONS)

    ack, _, post = ask(bot, "staging api")

    assert "does the database answer" not in ack
    assert ("Database not checked: set `services.api.migrations.check_command` (e.g. "
            "`[python, manage.py, check, --database, default]`) to have `/migrations` check "
            "that it answers.") in blocks_text(post)
    assert jobs_of_kind(fake_k8s, "check") == []
    (details,) = audit(bot)
    assert "database" not in details


def test_simulated_a_database_that_answers(bot: RunningBot) -> None:
    _, _, post = ask(bot, "staging web")

    shown = blocks_text(post)
    assert "✅ *Migration status of `web` in staging* — version `v1.2.2`" in shown
    assert ("🟢 *Database: answers* — `check --database default` in Job `web-check-once` "
            "succeeded") in shown


@pytest.mark.parametrize("config_data", [{"fail_jobs": "^check:"}], indirect=True)
def test_simulated_a_failing_check_shows_the_reason(bot: RunningBot) -> None:
    _, _, post = ask(bot, "staging web")

    shown = blocks_text(post)
    assert "✅ *Migration status of `web` in staging*" in shown  # only the check failed
    assert ("🔴 *Database: does not answer* — simulated failure (simulated.fail_jobs "
            "'^check:')\n`check --database default` in Job `web-check-once`") in shown
    (details,) = audit(bot)
    assert details["database"]["job"] == "web-check-once"
    assert details["database"]["answers"] is False
