"""Migration (and backup) Jobs through the real client against the fake API server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends.clusters import ServiceClusters
from bot.backends.kubernetes import (
    DEPLOYMENT_ID,
    JOB_TTL_SECONDS,
    MANAGED_BY,
    KubeClients,
    KubernetesCluster,
)
from bot.backends.simulated import SimulatedCluster
from bot.clock import ManualClock
from bot.config import (
    JobTemplateConfig,
    KubernetesAccessConfig,
    KubernetesServiceConfig,
    SimulatedConfig,
)
from bot.ports import JobResult, Migrations, RolloutFailed
from bot.store.simulated import SqlSimulatedWorkloads
from devtools.fake_k8s import FakeKubernetes
from tests.backends.kubernetes.test_cluster import FAST, IMAGE, NS, SIDECAR

ENV: list[dict[str, Any]] = [
    {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
    {"name": "DJANGO_SETTINGS_MODULE", "value": "api.settings"},
]
ENV_FROM = [{"configMapRef": {"name": "api-config"}}]
MIGRATE = ["python", "manage.py", "migrate"]
LOGS = "".join(f"Applying app.{i:04d}_change... OK\n" for i in range(1, 61))


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    with FakeKubernetes(tick=0.02) as f:
        f.add_deployment(NS, "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2", "envFrom": ENV_FROM,
             "ports": [{"containerPort": 8000}],
             "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8000}}},
            dict(SIDECAR),
        ], replicas=2, service_account="api-runtime", env=ENV)
        yield f


@pytest.fixture
def cluster(fake: FakeKubernetes, tmp_path: Path) -> Iterator[KubernetesCluster]:
    kubeconfig = fake.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
    clients = KubeClients(KubernetesAccessConfig(contexts={NS: "fake"}), kubeconfig=kubeconfig)
    yield KubernetesCluster("api", KubernetesServiceConfig(image=IMAGE), clients, timing=FAST)
    clients.close()


def migrate(cluster: KubernetesCluster, *, deployment_id: int | None = 7,
            timeout: float = 5.0) -> JobResult:
    return cluster.run_job(NS, "api", kind="migrate", command=MIGRATE, version="v1.2.3",
                           deployment_id=deployment_id, timeout=timeout)


def jobs(fake: FakeKubernetes) -> list[dict[str, Any]]:
    return fake.objects("jobs", NS)


def test_a_successful_migration_job_returns_the_tail_of_its_log(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.set_job_outcome(NS, "api-migrate-", succeed=True, logs=LOGS)

    result = migrate(cluster)

    assert result.succeeded and result.name == "api-migrate-7" and result.reason is None
    lines = result.logs_tail.splitlines()
    assert len(lines) == 40  # the last 40 of 60
    assert lines[0] == "Applying app.0021_change... OK"
    assert result.last_line == "Applying app.0060_change... OK"
    (job,) = jobs(fake)
    assert any(c["type"] == "Complete" and c["status"] == "True"
               for c in job["status"]["conditions"])
    # followed with a watch on that Job, not by polling it
    job_watches = [r for r in fake.recorded(method="GET", path_contains="/jobs") if r.is_watch]
    assert job_watches and job_watches[0].query["fieldSelector"] == "metadata.name=api-migrate-7"
    assert fake.recorded(method="PATCH") == []  # the Deployment is not touched
    assert fake.recorded(method="DELETE") == []


def test_the_job_runs_the_new_image_with_the_pod_templates_account_and_env(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    migrate(cluster, deployment_id=42)

    (job,) = jobs(fake)
    meta, spec = job["metadata"], job["spec"]
    assert meta["name"] == "api-migrate-42"
    assert meta["labels"][MANAGED_BY] == "deploybot"
    assert meta["labels"][DEPLOYMENT_ID] == "42"
    assert spec["backoffLimit"] == 0
    assert spec["ttlSecondsAfterFinished"] == JOB_TTL_SECONDS
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "api-runtime"
    assert spec["template"]["metadata"]["labels"][DEPLOYMENT_ID] == "42"
    # not the Deployment's pod labels: its Service must not route to the Job's pod
    assert "app" not in spec["template"]["metadata"]["labels"]
    (container,) = pod["containers"]  # the sidecar is left out
    assert container["name"] == "api"
    assert container["image"] == "ghcr.io/acme/api:v1.2.3"
    assert container["command"] == MIGRATE
    assert container["env"] == ENV
    assert container["envFrom"] == ENV_FROM
    assert "readinessProbe" not in container and "ports" not in container


def test_a_failed_job_is_reported_with_its_logs_and_left_for_inspection(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.set_job_outcome(NS, "api-migrate-", succeed=False,
                         logs="Applying app.0007_orders... \ndjango.db.utils.ProgrammingError: "
                              'relation "orders" does not exist\n')

    result = migrate(cluster)

    assert not result.succeeded
    assert result.last_line == 'django.db.utils.ProgrammingError: relation "orders" does not exist'
    assert result.reason is not None and result.reason.startswith("BackoffLimitExceeded")
    (job,) = jobs(fake)  # still there, with its one failed pod
    assert job["status"]["failed"] == 1
    assert len(fake.pods(NS, "job-name=api-migrate-7")) == 1
    assert fake.recorded(method="DELETE") == []


def test_a_resumed_runner_follows_the_existing_job_instead_of_creating_another(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    fake.set_job_outcome(NS, "api-migrate-", succeed=True, logs="migrated\n")
    first = migrate(cluster)
    fake.clear_requests()

    again = migrate(cluster)  # the same deployment, after a restart

    assert again == first
    assert fake.recorded(method="POST") == []
    assert len(jobs(fake)) == 1
    assert len(fake.pods(NS, "job-name=api-migrate-7")) == 1


def test_a_job_that_does_not_finish_in_time_fails_and_keeps_running_to_its_deadline(
    tmp_path: Path,
) -> None:
    with FakeKubernetes(tick=30.0) as slow:  # the controller does not get to finish it
        slow.add_deployment(NS, "api", containers=[
            {"name": "api", "image": "ghcr.io/acme/api:v1.2.2"}], replicas=1)
        kubeconfig = slow.write_kubeconfig(str(tmp_path / "kubeconfig"), context="fake")
        clients = KubeClients(KubernetesAccessConfig(contexts={NS: "fake"}),
                              kubeconfig=kubeconfig)
        try:
            cluster = KubernetesCluster("api", KubernetesServiceConfig(image=IMAGE), clients,
                                        timing=FAST)
            result = migrate(cluster, timeout=0.5)
        finally:
            clients.close()
        assert not result.succeeded
        assert result.reason == "did not finish within 0.5s"
        (job,) = slow.objects("jobs", NS)
        assert job["spec"]["activeDeadlineSeconds"] == 1  # Kubernetes stops it
        assert slow.recorded(method="DELETE") == []


def test_jobs_config_picks_the_container_the_account_and_adds_env(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    config = KubernetesServiceConfig(image=IMAGE, jobs=JobTemplateConfig(
        container="envoy", service_account="api-migrator",
        env={"DJANGO_SETTINGS_MODULE": "api.settings_migrate", "MIGRATING": "1"}))
    other = KubernetesCluster("api", config, cluster._clients, timing=FAST)
    migrate(other, deployment_id=43)

    (job,) = jobs(fake)
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "api-migrator"
    (container,) = pod["containers"]
    assert container["name"] == "envoy"  # copied from the named container
    assert container["image"] == "ghcr.io/acme/api:v1.2.3"
    assert container["env"] == [{"name": "DJANGO_SETTINGS_MODULE",
                                 "value": "api.settings_migrate"},
                                {"name": "MIGRATING", "value": "1"}]
    # The Deployment itself is not changed by the Jobs' settings.
    assert fake.deployment(NS, "api")["spec"]["template"]["spec"]["serviceAccountName"] == \
        "api-runtime"


def test_jobs_config_naming_a_missing_container_fails_in_plain_words(
    fake: FakeKubernetes, cluster: KubernetesCluster,
) -> None:
    config = KubernetesServiceConfig(image=IMAGE, jobs=JobTemplateConfig(container="worker"))
    other = KubernetesCluster("api", config, cluster._clients, timing=FAST)
    with pytest.raises(RolloutFailed, match='has no container named "worker" .*check '
                                            r"services.api.kubernetes.jobs.container"):
        migrate(other)
    assert jobs(fake) == []


def test_an_unknown_deployment_fails_the_job_in_plain_words(
    cluster: KubernetesCluster, fake: FakeKubernetes,
) -> None:
    other = KubernetesCluster("api", KubernetesServiceConfig(image=IMAGE, deployment="web"),
                              cluster._clients, timing=FAST)
    with pytest.raises(RolloutFailed, match='could not run the migrate Job: Deployment "web" '
                                            'not found in namespace "staging"'):
        migrate(other)
    assert jobs(fake) == []


def test_the_job_name_fits_a_label_value() -> None:
    clients = KubeClients(KubernetesAccessConfig(), kubeconfig=None)
    long = KubernetesCluster("api", KubernetesServiceConfig(image=IMAGE, deployment="a" * 70),
                             clients)
    name = long.job_name("migrate", 123456)
    assert len(name) == 63 and name.endswith("-migrate-123456")


def test_the_router_and_the_simulated_cluster_run_jobs(
        simulated_workloads: SqlSimulatedWorkloads, clock: ManualClock) -> None:
    simulated = SimulatedCluster(SimulatedConfig(rollout_seconds=0, fail_jobs="^migrate:.*-bad"),
                                 workloads=simulated_workloads, clock=clock,
                                 sleep=lambda _s: None)
    assert isinstance(simulated, Migrations)
    router = ServiceClusters({"api": simulated})
    ok = router.run_job("staging", "api", kind="migrate", command=MIGRATE, version="v1",
                        deployment_id=3, timeout=1.0)
    bad = router.run_job("staging", "api", kind="migrate", command=MIGRATE, version="v1-bad",
                         deployment_id=4, timeout=1.0)
    assert (ok.succeeded, ok.name) == (True, "api-migrate-3")
    assert not bad.succeeded and "simulated.fail_jobs" in bad.last_line
