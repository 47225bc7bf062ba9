"""End to end: `/deploy` of a service with database migrations on a (fake) Kubernetes API
server: the migrations Job runs from the new image before the rollout, its log tail lands in
the deployment record, and a failed Job stops the deploy before any pod changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.deployment import JobOutcome
from bot.domain.states import State
from bot.store.models import AuditRow
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import (
    announcements,
    audit_actions,
    blocks_text,
    ephemeral_text,
    run_to_end,
    thread_replies,
)

MIGRATE = ["python", "manage.py", "migrate"]


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
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
                          "migrations": {"command": MIGRATE, "timeout": "30s"}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


def image(fake: FakeKubernetes) -> str:
    dep = fake.deployment("staging", "api")
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


def audit_details(bot: RunningBot, action: str) -> dict[str, Any]:
    with bot.container.database.engine.connect() as conn:
        (details,) = conn.execute(
            select(AuditRow.details).where(AuditRow.action == action)).scalars().all()
    return dict(details or {})


def test_migrations_run_as_a_job_before_the_rollout_and_land_in_the_record(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-migrate-", succeed=True,
                             logs="Operations to perform:\n  Apply all migrations: orders\n"
                                  "Running migrations:\n  Applying orders.0042_refunds... OK\n")
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert run_to_end(bot, 1) is State.SUCCEEDED
    (job,) = fake_k8s.objects("jobs", "staging")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert (job["metadata"]["name"], container["image"], container["command"]) == (
        "api-migrate-1", "ghcr.io/acme/api:v1.2.3", MIGRATE)
    assert container["env"] == [{"name": "DATABASE_URL", "value": "postgres://db/api"}]
    # the Job was created before the Deployment was patched
    writes = [r for r in fake_k8s.requests if r.method in ("POST", "PATCH")]
    assert [(r.method, "/jobs" in r.path) for r in writes] == [("POST", True), ("PATCH", False)]
    assert image(fake_k8s) == "ghcr.io/acme/api:v1.2.3"

    d = bot.deployment(1)
    assert d.migrations is not None and d.migrations.ok and d.migrations.job == "api-migrate-1"
    record = blocks_text(thread_replies(bot, d.message_ts or "")[0])
    assert ("✅ Database migrations — Job api-migrate-1: `Apply all migrations: orders / "
            "Running migrations: / Applying orders.0042_refunds... OK`") in record
    assert "✅ Rollout — v1.2.3 is live" in record
    (ann,) = announcements(bot)
    assert "api `v1.2.3` is live in staging" in blocks_text(ann)
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.migrate_job",
                                     "deploy.verifying", "deploy.succeeded"]
    details = audit_details(bot, "deploy.migrate_job")
    assert (details["job"], details["succeeded"], details["command"]) == (
        "api-migrate-1", True, MIGRATE)
    assert details["logs_tail"].endswith("Applying orders.0042_refunds... OK\n")


def test_a_failed_migration_job_stops_the_deploy_before_any_pod_changes(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-migrate-", succeed=False,
                             logs="Applying orders.0043_split... \n"
                                  'django.db.utils.IntegrityError: column "total" contains '
                                  "null values\n")
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert run_to_end(bot, 1) is State.FAILED
    cause = ('migration Job api-migrate-1 failed: django.db.utils.IntegrityError: column '
             '"total" contains null values')
    d = bot.deployment(1)
    assert d.error == cause
    assert d.migrations == JobOutcome(False, "api-migrate-1",
                                      "Applying orders.0043_split... \n" + cause.split(": ", 1)[1]
                                      + "\n")
    assert audit_details(bot, "deploy.migrate_job")["succeeded"] is False
    assert fake_k8s.recorded(method="PATCH") == []
    assert image(fake_k8s) == "ghcr.io/acme/api:v1.2.2"
    (job,) = fake_k8s.objects("jobs", "staging")  # left for inspection
    assert job["status"]["failed"] == 1
    (ann,) = announcements(bot)
    assert f"Cause: {cause}" in blocks_text(ann)
    record = blocks_text(thread_replies(bot, d.message_ts or "")[0])
    assert "❌ Database migrations — Job api-migrate-1: `Applying orders.0043_split..." in record
    assert "⏭️ Rollout — not started: the migrations failed" in record
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.migrate_job",
                                     "deploy.failed"]
