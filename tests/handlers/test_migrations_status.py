"""`/migrations` end to end: signed Slack HTTP in, a real status Job on the fake Kubernetes
API server from the image of the version running now, the answer out through the
response_url of the fake Slack, an audit event in the real store.

The listener acks at once; the Job runs on the container's `jobs` pool, so a slow Job holds
up neither the ack nor the other commands.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.states import State
from bot.store.models import AuditRow
from devtools.fake_k8s import FakeKubernetes
from devtools.slack_requests import Reply
from tests.conftest import OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.kube import SIDECAR
from tests.handlers.spine import blocks_text, ephemeral_text, run_to_end, settle

MIGRATE = ["python", "manage.py", "migrate"]
SHOW = ["python", "manage.py", "showmigrations"]
SHOWMIGRATIONS = ("orders\n [X] 0001_initial\n [X] 0042_refunds\n [ ] 0043_split\n"
                  "payments\n [X] 0001_initial\n")


@pytest.fixture
def fake_k8s(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    """tests/handlers/conftest.py's cluster; `tick` (seconds per controller step) may be
    given as the fixture's parameter: a Job takes a few ticks."""
    with FakeKubernetes(tick=getattr(request, "param", 0.02)) as fake:
        fake.add_deployment("staging", "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}, dict(SIDECAR)], replicas=2,
            env=[{"name": "DATABASE_URL", "value": "postgres://db/api"}])
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def config_data(request: pytest.FixtureRequest, fake_k8s: FakeKubernetes) -> dict[str, Any]:
    """`api` on Kubernetes with migrations and a status command; the parameter (a dict)
    replaces keys of `services.api.migrations` (None: leave the key out)."""
    migrations: dict[str, Any] = {"command": MIGRATE, "timeout": "30s", "status_command": SHOW}
    for key, value in getattr(request, "param", {}).items():
        if value is None:
            migrations.pop(key, None)
        else:
            migrations[key] = value
    return base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
                          "migrations": migrations},
                  "web": {"executor": "simulated"}},
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}},
    )


def migrations(bot: RunningBot, text: str, *, user: str = REQUESTER) -> Reply:
    """`/migrations text`, acknowledged."""
    reply = bot.requester.command("/migrations", text, user_id=user)
    assert reply.status == 200, reply.body
    assert reply.json["response_type"] == "ephemeral"
    return reply


def answer(bot: RunningBot, reply: Reply) -> tuple[str, dict[str, Any]]:
    """The one ephemeral answer after the ack: (its text, its blocks' text)."""
    (post,) = bot.requester.response_posts(reply, timeout=15)
    assert post.args.get("response_type") == "ephemeral", post.args
    assert post.args.get("replace_original") is False, post.args
    return str(post.args["text"]), post.args


def status_jobs(fake: FakeKubernetes) -> list[dict[str, Any]]:
    return [j for j in fake.objects("jobs", "staging")
            if j["metadata"]["labels"].get("deploybot.io/job-kind") == "status"]


def audit(bot: RunningBot) -> list[tuple[str, dict[str, Any]]]:
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(select(AuditRow.actor, AuditRow.details)
                            .where(AuditRow.action == "migrations.status")
                            .order_by(AuditRow.id)).all()
    return [(r[0], dict(r[1] or {})) for r in rows]


def test_the_status_jobs_output_is_shown_from_the_running_image(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-status-", succeed=True, logs=SHOWMIGRATIONS)

    reply = migrations(bot, "staging")
    assert reply.json["text"].startswith("⏳ Running `showmigrations` for api in staging…")
    text, post = answer(bot, reply)

    (job,) = status_jobs(fake_k8s)
    name = job["metadata"]["name"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert name.startswith("api-status-")
    assert (container["image"], container["command"]) == ("ghcr.io/acme/api:v1.2.2", SHOW)
    assert container["env"] == [{"name": "DATABASE_URL", "value": "postgres://db/api"}]
    assert len(job["spec"]["template"]["spec"]["containers"]) == 1  # no sidecar
    assert fake_k8s.recorded(method="PATCH") == []  # nothing else changed
    assert fake_k8s.deployment("staging", "api")["spec"]["template"]["spec"][
        "containers"][0]["image"] == "ghcr.io/acme/api:v1.2.2"

    shown = blocks_text(post)
    assert "✅ *Migration status of `api` in staging* — version `v1.2.2`" in shown
    assert "```\norders\n [X] 0001_initial\n [X] 0042_refunds\n [ ] 0043_split\npayments\n" \
           " [X] 0001_initial\n```" in shown
    assert f"`showmigrations` in Job `{name}` · succeeded" in shown
    assert "[ ] 0043_split" in text  # the notification text carries it too
    assert "earlier line" not in shown

    ((actor, details),) = audit(bot)
    assert actor == REQUESTER
    assert details == {"service": "api", "environment": "staging", "version": "v1.2.2",
                       "command": SHOW, "job": name, "succeeded": True, "reason": None,
                       "logs_tail": SHOWMIGRATIONS}


def test_the_version_deploybot_deployed_last_is_the_one_asked(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    ephemeral_text(bot, bot.deploy("api staging v1.2.3"))
    assert run_to_end(bot, 1) is State.SUCCEEDED

    _, post = answer(bot, migrations(bot, "staging api"))

    (job,) = status_jobs(fake_k8s)
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "ghcr.io/acme/api:v1.2.3"
    assert "version `v1.2.3`" in blocks_text(post)


def test_long_output_shows_its_tail_and_says_how_much_was_cut(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    logs = "".join(f" [X] {i:04d}_{'x' * 90}\n" for i in range(40))
    fake_k8s.set_job_outcome("staging", "api-status-", succeed=True, logs=logs)

    _, post = answer(bot, migrations(bot, "staging"))

    shown = blocks_text(post)
    assert " [X] 0039_" in shown  # the tail
    assert " [X] 0000_" not in shown
    assert "earlier line(s) not shown" in shown
    assert all(len(b["text"]["text"]) <= 3000 for b in post["blocks"] if "text" in b)


@pytest.mark.parametrize("config_data", [{"status_command": None}], indirect=True)
def test_without_a_status_command_it_says_which_key_to_set(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    reply = migrations(bot, "staging")

    assert reply.json["text"] == (
        "⚠️ `/migrations` is not configured for `api`: set "
        "`services.api.migrations.status_command` in app.yaml (e.g. "
        "`[python, manage.py, showmigrations]`).")
    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []
    assert fake_k8s.objects("jobs", "staging") == []
    assert audit(bot) == []


def test_a_service_without_migrations_says_so(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    reply = migrations(bot, "staging web")

    assert reply.json["text"].startswith(
        "⚠️ `web` has no database migrations configured (set `services.web.migrations` in "
        "app.yaml).")
    assert "*Usage*" in reply.json["text"]
    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []
    assert fake_k8s.objects("jobs", "staging") == []


def test_someone_who_may_not_deploy_there_is_refused_and_no_job_runs(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    text, _ = answer(bot, migrations(bot, "staging", user=OUTSIDER))

    assert text == ("⚠️ You may not see the migrations of staging: that needs the `deployers` "
                    "role. Ask a platform admin to add you in app.yaml.")
    assert fake_k8s.objects("jobs", "staging") == []
    assert audit(bot) == []


def test_a_failed_job_shows_its_log_tail_and_why(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    logs = ("Traceback (most recent call last):\n  File \"manage.py\", line 22, in <module>\n"
            "django.db.utils.OperationalError: could not connect to server: Connection "
            "refused\n")
    fake_k8s.set_job_outcome("staging", "api-status-", succeed=False, logs=logs)

    text, post = answer(bot, migrations(bot, "staging"))

    (job,) = status_jobs(fake_k8s)
    name = job["metadata"]["name"]
    shown = blocks_text(post)
    assert text.startswith("❌ *The migration status of `api` in staging could not be read* — "
                           "version `v1.2.2`\n")
    assert (f"migration status Job {name} failed: django.db.utils.OperationalError: could "
            "not connect to server: Connection refused") in shown
    assert 'File "manage.py", line 22, in &lt;module&gt;' in shown  # its log, escaped
    assert f"`showmigrations` in Job `{name}` · failed" in shown
    assert "💥" not in text and "reference" not in text  # a result, not an internal error
    ((_, details),) = audit(bot)
    assert (details["job"], details["succeeded"]) == (name, False)


def test_a_job_that_cannot_be_run_is_explained(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    fake_k8s.forbid("create", "jobs", "staging")

    text, _ = answer(bot, migrations(bot, "staging"))

    assert text.startswith("⚠️ Could not get the migration status of `api` in staging "
                           "(version `v1.2.2`): could not run the status Job: ")
    assert text.endswith("Nothing was changed.")
    assert "💥" not in text
    ((_, details),) = audit(bot)
    assert details["succeeded"] is False and "could not run the status Job" in details["error"]


def test_no_running_version_is_a_clear_answer(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    # Nothing was deployed to production by deploybot, and there is no Deployment there.
    text, _ = answer(bot, migrations(bot, "production"))

    assert text == ("⚠️ I cannot tell which version of `api` runs in production: deploybot "
                    "has not deployed it there yet and the cluster does not say. Deploy it "
                    "once with `/deploy`, then ask again.")
    assert fake_k8s.objects("jobs", "production") == []


@pytest.mark.parametrize(("text", "problem"), [
    ("prod", "Unknown environment `prod`. Known environments: `production`, `staging`."),
    ("staging db", "Unknown service `db`. Known services: `api`, `web`."),
    ("staging api now", "Too many words: `now` was not expected."),
    ("<!channel>", "`&lt;!channel&gt;` is not a name"),
])
def test_bad_input_is_answered_in_the_ack_and_runs_nothing(
    bot: RunningBot, fake_k8s: FakeKubernetes, text: str, problem: str,
) -> None:
    reply = migrations(bot, text)

    assert reply.json["text"].startswith(f"⚠️ {problem}")
    assert "*Usage*" in reply.json["text"]
    assert "<!channel>" not in reply.body
    settle(bot)
    assert bot.slack.response_posts(reply.response_key) == []
    assert fake_k8s.objects("jobs", "staging") == []
    assert audit(bot) == []


def test_help_shows_the_usage(bot: RunningBot) -> None:
    reply = migrations(bot, "help")
    assert reply.json["text"].startswith("*Usage*")
    assert "/migrations &lt;environment&gt; &lt;service&gt;" in reply.json["text"]


def test_the_ack_and_other_commands_are_answered_while_the_job_runs(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-status-", succeed=True, logs=SHOWMIGRATIONS)
    fake_k8s.hold_jobs("staging", "api-status-")  # its pod runs until released

    reply = migrations(bot, "staging")
    assert reply.json["text"].startswith("⏳ Running `showmigrations` for api in staging…")
    fake_k8s.wait_until(lambda f: bool(status_jobs(f)), timeout=30)
    assert bot.slack.response_posts(reply.response_key) == []  # the Job has not ended

    # The listener pool (one thread) is free: /freeze is answered while the Job runs.
    other = bot.requester.command("/freeze", "", user_id=REQUESTER)
    assert other.status == 200
    (freeze_answer,) = bot.requester.response_posts(other)
    assert bot.slack.response_posts(reply.response_key) == []
    assert not any(j.get("status", {}).get("succeeded") for j in status_jobs(fake_k8s))

    fake_k8s.release_jobs("staging", "api-status-")
    text, _ = answer(bot, reply)
    assert "[X] 0042_refunds" in text
    (post,) = bot.slack.response_posts(reply.response_key)
    assert freeze_answer.at < post.at
