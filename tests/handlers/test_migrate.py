"""End to end: `/migrate <env> [service] <target>` (the guide's migration rollback) over
signed Slack HTTP, on a fake Kubernetes API server: the same approval as a production deploy,
the backup first where production requires it, the migration command with the target run as
a Job from the image running now, no pod touched, and the result in the card, the record and
the announcement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.deployment import Kind
from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import APPROVER, APPROVER2, OUTSIDER, REQUESTER, RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    click_reply,
    deployment_ids,
    ephemeral_text,
    has_buttons,
    run_to_end,
    thread_replies,
)

MIGRATE = ["python", "manage.py", "migrate"]
BACKUP = ["/bin/backup-db", "--label", "before-migrate"]
IMAGE_NOW = "ghcr.io/acme/api:v1.2.2"


@pytest.fixture
def fake_k8s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as fake:
        for env in ("staging", "production"):
            fake.add_deployment(env, "api", containers=[{"name": "api", "image": IMAGE_NOW}],
                                replicas=2)
        monkeypatch.setenv("KUBECONFIG",
                           fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake"))
        yield fake


@pytest.fixture
def migrations() -> dict[str, Any]:
    return {"command": MIGRATE, "timeout": "30s",
            "backup": {"command": BACKUP, "environments": ["production"]},
            "backup_required_in": ["production"]}


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes, migrations: dict[str, Any]) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
                          "migrations": migrations}},
        kubernetes={"contexts": {"staging": "fake", "production": "fake"}},
    )


def migrate(bot: RunningBot, text: str, *, user: str = REQUESTER) -> str:
    reply = bot.requester.command("/migrate", text, user_id=user)
    assert reply.status == 200, reply.body
    return ephemeral_text(bot, reply)


def ack_text(bot: RunningBot, text: str, *, user: str = REQUESTER) -> str:
    reply = bot.requester.command("/migrate", text, user_id=user)
    assert reply.status == 200, reply.body
    return str(reply.json["text"])


def job_commands(fake: FakeKubernetes, namespace: str) -> list[tuple[str, str, list[str]]]:
    out = []
    for job in fake.objects("jobs", namespace):
        c = job["spec"]["template"]["spec"]["containers"][0]
        out.append((job["metadata"]["name"], c["image"], c["command"]))
    return sorted(out)


def test_a_production_migration_run_needs_approval_backs_up_and_migrates_to_the_target(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("production", "api-migrate-", succeed=True,
                             logs="Unapplying orders.0042_refunds... OK\n")
    text = migrate(bot, "production api orders 0041_previous", user=APPROVER2)
    assert "Migration run #1 requested: `api` migrations → `orders 0041_previous` in " \
           "*production*" in text, text
    d = bot.deployment(1)
    assert (d.kind, d.target, d.version, d.state, d.approvals_required) == (
        Kind.MIGRATE, "orders 0041_previous", "v1.2.2", State.AWAITING_APPROVAL, 1)
    card = bot.card(1)
    assert card["text"].startswith("🗄️ Migration #1 api migrations → orders 0041_previous "
                                   "in production")
    assert has_buttons(card)
    assert fake_k8s.objects("jobs", "production") == []  # nothing runs before approval

    # The requester may not approve their own, as for a deploy.
    assert "You requested Migration run #1 (api to `orders 0041_previous` in production), " \
           "so you cannot approve it yourself" in click_reply(bot, 1, APPROVER2)
    assert "starting now" in click_reply(bot, 1, APPROVER)
    assert run_to_end(bot, 1, APPROVER2) is State.SUCCEEDED

    assert job_commands(fake_k8s, "production") == [
        ("api-backup-1", IMAGE_NOW, BACKUP),
        ("api-migrate-1", IMAGE_NOW, [*MIGRATE, "orders", "0041_previous"]),
    ]
    assert fake_k8s.recorded(method="PATCH") == []  # no pod was touched
    d = bot.deployment(1)
    assert d.progress == "migrated to orders 0041_previous"
    assert d.migrations is not None and d.migrations.ok
    assert audit_actions(bot, 1) == ["migrate.requested", "deploy.approved", "deploy.started",
                                     "deploy.backup_job", "deploy.migrate_job",
                                     "deploy.succeeded"]
    record = blocks_text(thread_replies(bot, d.message_ts or "")[0])
    assert "*Migration record*" in record
    assert "✅ Database migrations — Job api-migrate-1: `Unapplying orders.0042_refunds... OK`" \
        in record
    (ann,) = announcements(bot)
    assert "🗄️ *api migrations in production are at `orders 0041_previous`*" in \
        blocks_text(ann)
    assert f"Requested by <@{APPROVER2}>, approved by <@{APPROVER}>" in blocks_text(ann)


def test_a_failed_migration_run_is_announced_with_its_cause(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-migrate-", succeed=False,
                             logs="CommandError: Cannot find a migration matching '0099'\n")
    text = migrate(bot, "staging 0099")  # one service: it may be left out
    assert "Migration run #1 started" in text, text
    assert run_to_end(bot, 1) is State.FAILED
    d = bot.deployment(1)
    assert d.error == ("migration Job api-migrate-1 failed: CommandError: Cannot find a "
                       "migration matching '0099'")
    assert job_commands(fake_k8s, "staging") == [
        ("api-migrate-1", IMAGE_NOW, [*MIGRATE, "0099"])]  # no backup outside production
    (ann,) = announcements(bot)
    assert "❌ *Migration of api in staging to `0099` failed*" in blocks_text(ann)
    assert f"Cause: {d.error}" in blocks_text(ann)


def test_the_migration_runs_from_the_image_deployed_last(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    assert run_to_end(bot, 1) is State.SUCCEEDED
    migrate(bot, "staging api orders 0041")
    assert run_to_end(bot, 2) is State.SUCCEEDED
    assert ("api-migrate-2", "ghcr.io/acme/api:v1.2.3", [*MIGRATE, "orders", "0041"]) in \
        job_commands(fake_k8s, "staging")
    # A migration run changes no version: v1.2.3 is still what runs, and since its deploy.
    (running,) = [v for v in bot.container.deployments.status().running
                  if v.environment == "staging"]
    assert running.version == "v1.2.3"
    assert bot.container.deployments.running_version("staging", "api") == "v1.2.3"


@pytest.mark.parametrize("migrations", [{"command": MIGRATE,
                                         "target_command": ["alembic", "downgrade", "{target}"]}])
def test_a_target_command_from_config(bot: RunningBot, fake_k8s: FakeKubernetes) -> None:
    migrate(bot, "staging 3f2a1b")
    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert job_commands(fake_k8s, "staging") == [
        ("api-migrate-1", IMAGE_NOW, ["alembic", "downgrade", "3f2a1b"])]


def test_someone_who_may_not_deploy_there_cannot_migrate(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    text = migrate(bot, "production api orders 0041", user=OUTSIDER)
    assert "You may not deploy to production" in text
    assert deployment_ids(bot) == []
    assert fake_k8s.objects("jobs", "production") == []


@pytest.mark.parametrize(("command", "problem"), [
    ("production", "target"),
    ("", "Which environment, and which migration"),
    ("nowhere api 0041", "Unknown environment"),
])
def test_bad_input_is_answered_at_once_and_nothing_is_stored(
    bot: RunningBot, command: str, problem: str,
) -> None:
    text = ack_text(bot, command)
    assert text.startswith("⚠️"), text
    assert problem.lower() in text.lower(), text
    assert deployment_ids(bot) == []
