"""End to end: the backup Job before the migrations (services.<name>.migrations.backup)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import RunningBot, base_config
from tests.handlers.spine import announcements, blocks_text, ephemeral_text, run_to_end
from tests.handlers.test_kubernetes_migrations import MIGRATE, fake_k8s, image

__all__ = ["fake_k8s"]  # the fixture, shared with the migrations tests

BACKUP = ["/bin/backup-db", "--label", "pre-migrate"]


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes) -> dict[str, Any]:
    return base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
                          "migrations": {"command": MIGRATE,
                                         "backup": {"command": BACKUP},
                                         "backup_required_in": ["staging"]}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


def job_commands(fake: FakeKubernetes) -> list[tuple[str, list[str]]]:
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/jobs")]
    return [(r.body["metadata"]["name"], r.body["spec"]["template"]["spec"]["containers"][0]
             ["command"]) for r in posts]


def test_the_backup_job_runs_before_the_migrations(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert job_commands(fake_k8s) == [("api-backup-1", BACKUP), ("api-migrate-1", MIGRATE)]
    assert image(fake_k8s) == "ghcr.io/acme/api:v1.2.3"


def test_a_failed_backup_stops_the_deploy_before_the_migrations(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-backup-", succeed=False,
                             logs="pg_dump: error: connection refused\n")
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))

    assert run_to_end(bot, 1) is State.FAILED
    cause = "backup Job api-backup-1 failed: pg_dump: error: connection refused"
    assert bot.deployment(1).error == cause
    assert job_commands(fake_k8s) == [("api-backup-1", BACKUP)]
    assert fake_k8s.recorded(method="PATCH") == []
    (ann,) = announcements(bot)
    assert f"Cause: {cause}" in blocks_text(ann)
