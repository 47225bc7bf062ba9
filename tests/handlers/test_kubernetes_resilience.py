"""End to end: the Kubernetes executor when things go wrong around it (a fake API server, the
real client, Slack's HTTP protocol): a bot process that dies while its migration Job runs, a
Job watch that is dropped or whose resourceVersion is compacted away, and a Deployment that
someone else changes during the bake window."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from kubernetes import client as k8s
from sqlalchemy import select, text

from bot.config import AppConfig
from bot.domain.states import State
from bot.ports import JobResult, Migrations
from bot.store.models import AuditRow
from devtools.fake_k8s import FakeKubernetes
from devtools.fake_slack import FakeSlack
from tests.conftest import RunningBot, base_config
from tests.handlers.kube import SIDECAR, Mortal, another_bot, images, job_watches
from tests.handlers.spine import (
    CHANNEL,
    announcements,
    audit_actions,
    blocks_text,
    dms,
    ephemeral_text,
    run_to_end,
    thread_replies,
)

MIGRATE = ["python", "manage.py", "migrate"]
JOB = "api-migrate-1"
LOGS = "Running migrations:\n  Applying orders.0042_refunds... OK\n"
HOTFIX = "ghcr.io/acme/api:v1.2.4-hotfix"


@pytest.fixture
def verify() -> dict[str, Any]:
    """environments.staging.verify (a test parametrizes it); no watch after the rollout."""
    return {}


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes, verify: dict[str, Any]) -> dict[str, Any]:
    cfg = base_config(
        services={"api": {"executor": "kubernetes",
                          "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
                          "migrations": {"command": MIGRATE, "timeout": "30s"}}},
        kubernetes={"contexts": {"staging": "fake"}},
    )
    if verify:
        cfg["environments"]["staging"] = {"verify": verify}
    return cfg


def job_posts(fake: FakeKubernetes) -> list[str]:
    """The names of the Jobs created (POSTed), in order."""
    return [r.body["metadata"]["name"] for r in fake.recorded("POST", "/jobs")]


def job_running(fake: FakeKubernetes) -> bool:
    jobs = fake.objects("jobs", "staging")
    return len(jobs) == 1 and jobs[0].get("status", {}).get("active") == 1


def job_reads(fake: FakeKubernetes) -> list[Any]:
    """The plain reads (GET, not a watch) of the Job: how a deployment's fiber follows it."""
    return [r for r in fake.recorded("GET", f"/jobs/{JOB}") if not r.is_watch]


def following(fake: FakeKubernetes, since: int) -> bool:
    """A watch on the Job opened after the first `since` ones is open now."""
    return len(job_watches(fake, JOB)) > since and fake.open_watches == 1


def job_rv(fake: FakeKubernetes) -> int:
    return int(fake.get("jobs", "staging", JOB)["metadata"]["resourceVersion"])


def lease_owner(bot: RunningBot, deployment_id: int) -> str | None:
    with bot.container.database.engine.connect() as conn:
        owner = conn.execute(text("SELECT lease_owner FROM deployments WHERE id = :i"),
                             {"i": deployment_id}).scalar_one()
    return None if owner is None else str(owner)


def audit_owners(bot: RunningBot, deployment_id: int) -> dict[str, str]:
    """action → the runner process named in its audit details, for the runner's events."""
    with bot.container.database.engine.connect() as conn:
        rows = conn.execute(select(AuditRow.action, AuditRow.details)
                            .where(AuditRow.deployment_id == deployment_id)).all()
    return {action: details["owner"] for action, details in rows
            if details and "owner" in details}


def assert_one_job_ran(fake: FakeKubernetes) -> None:
    assert job_posts(fake) == [JOB]
    (job,) = fake.objects("jobs", "staging")
    assert job["status"]["succeeded"] == 1
    assert len(fake.pods("staging", f"job-name={JOB}")) == 1  # one attempt, one pod


# -- a runner dies mid-migration ---------------------------------------------------------------

def test_a_deploy_whose_process_died_mid_migration_is_resumed_on_the_same_job(
    bot: RunningBot, fake_k8s: FakeKubernetes, config: AppConfig, database_url: str,
    fake_slack: FakeSlack,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-migrate-", succeed=True, logs=LOGS)
    fake_k8s.hold_jobs("staging", "api-migrate-")
    mortal = Mortal()
    # Process A takes the /deploy, starts the deploy, creates the migration Job and dies.
    with another_bot(config, database_url=database_url, slack=fake_slack, clock=bot.clock,
                     monotonic=mortal) as a:
        assert "Deployment #1 started" in ephemeral_text(a, a.deploy("staging v1.2.3"))
        fake_k8s.wait_until(job_running)
        mortal.kill()
        assert a.container.runner.wait_idle(timeout=10)
        dead = a.container.instance
    d = bot.deployment(1)
    assert (d.state, lease_owner(bot, 1), d.migrations) == (State.RUNNING, dead, None)
    assert d.progress == "running the database migrations"
    assert job_posts(fake_k8s) == [JOB] and job_running(fake_k8s)
    assert fake_k8s.recorded("PATCH") == []
    assert announcements(bot) == [] and dms(bot) == []

    # Process B's resume-deployments pass: nothing while A's lease could still be renewed ...
    assert bot.container.runner.resume() == 0
    bot.clock.advance(config.runner.lease + timedelta(seconds=1))
    # ... then it takes the deployment over and follows A's Job, still running (a
    # deployment's fiber reads it again and again: bot/fibers.py, no watch stream).
    read = len(job_reads(fake_k8s))
    assert bot.container.runner.resume() == 1
    fake_k8s.wait_until(lambda f: len(job_reads(f)) > read + 1)
    assert job_running(fake_k8s)
    fake_k8s.release_jobs("staging", "api-migrate-")

    assert run_to_end(bot, 1) is State.SUCCEEDED
    assert_one_job_ran(fake_k8s)
    assert images(fake_k8s) == {"api": "ghcr.io/acme/api:v1.2.3", "envoy": SIDECAR["image"]}
    (patch,) = fake_k8s.recorded("PATCH")  # rolled out once, by B
    assert patch.body["metadata"]["annotations"]["deploybot.io/deployment-id"] == "1"
    d = bot.deployment(1)
    assert d.migrations is not None and d.migrations.ok and d.migrations.job == JOB
    assert lease_owner(bot, 1) is None
    assert audit_owners(bot, 1) == {"deploy.started": dead,
                                    "deploy.resumed": bot.container.instance}
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.resumed",
                                     "deploy.migrate_job", "deploy.verifying",
                                     "deploy.succeeded"]
    # One card, one record in its thread, one announcement, one DM: A's, finished by B.
    top = [m for m in fake_slack.messages(CHANNEL) if m["thread_ts"] is None]
    assert [m["ts"] for m in top if m not in announcements(bot)] == [d.message_ts]
    (ann,) = announcements(bot)
    assert "api `v1.2.3` is live in staging" in blocks_text(ann)
    (record,) = thread_replies(bot, d.message_ts or "")
    assert f"✅ Database migrations — Job {JOB}" in blocks_text(record)
    assert "✅ Rollout — v1.2.3 is live" in blocks_text(record)
    (dm,) = dms(bot)
    assert "v1.2.3" in dm["text"]


# -- the Job's watch breaks --------------------------------------------------------------------
# Outside a deployment's fiber (`/migrate status` runs its Job from a Slack worker thread) a Job
# is followed through a watch stream; these follow one that way, the runner's Job path (by
# reads, in a fiber) is the tests' above.

def follow_job(bot: RunningBot) -> Future[JobResult]:
    """The migrations Job of deployment 1 run and followed from a plain thread."""
    cluster = bot.container.cluster
    assert isinstance(cluster, Migrations)
    return ThreadPoolExecutor(1).submit(
        cluster.run_job, "staging", "api", kind="migrate", command=["migrate"],
        version="v1.2.3", deployment_id=1, timeout=60)


def test_a_job_watch_that_is_dropped_or_cut_off_is_resumed_and_the_migration_followed_to_its_end(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-migrate-", succeed=True, logs=LOGS)
    fake_k8s.hold_jobs("staging", "api-migrate-")
    result = follow_job(bot)
    fake_k8s.wait_until(lambda f: job_running(f) and following(f, 0))

    # The API server ends the watch (as on its own timeout): the client watches on.
    before = len(job_watches(fake_k8s, JOB))
    fake_k8s.drop_watches(after_events=0)
    fake_k8s.wait_until(lambda f: following(f, before))
    # The connection is reset mid-stream: deploybot retries and watches again.
    before = len(job_watches(fake_k8s, JOB))
    fake_k8s.drop_watches(after_events=0, abrupt=True)
    fake_k8s.wait_until(lambda f: following(f, before))
    assert job_running(fake_k8s)
    fake_k8s.release_jobs("staging", "api-migrate-")

    done = result.result(timeout=30)
    assert done.succeeded and done.name == JOB
    assert_one_job_ran(fake_k8s)
    # Every watch went on from where the last one was, never from an older version.
    versions = [int(w.query["resourceVersion"]) for w in job_watches(fake_k8s, JOB)]
    assert len(versions) >= 3 and versions == sorted(versions), versions


def test_a_job_watch_whose_version_was_compacted_away_goes_on_from_a_current_one(
    bot: RunningBot, fake_k8s: FakeKubernetes,
) -> None:
    fake_k8s.set_job_outcome("staging", "api-migrate-", succeed=True, logs=LOGS)
    fake_k8s.hold_jobs("staging", "api-migrate-")
    result = follow_job(bot)
    fake_k8s.wait_until(lambda f: job_running(f) and following(f, 0))

    # Other writes move the cluster on, the history goes, and the watch ends: the Job's
    # resourceVersion is now too old to watch from (410 Gone).
    fake_k8s.add_deployment("staging", "worker", containers=[{"name": "w", "image": "w:1"}],
                            replicas=1)
    floor = int(fake_k8s.deployment("staging", "worker")["metadata"]["resourceVersion"])
    assert job_rv(fake_k8s) < floor
    before = len(job_watches(fake_k8s, JOB))
    fake_k8s.compact()
    fake_k8s.drop_watches(after_events=0)
    # deploybot lists again and watches on from a version the server still has.
    fake_k8s.wait_until(lambda f: any(int(w.query["resourceVersion"]) >= floor
                                      for w in job_watches(f, JOB)[before:]))
    fake_k8s.wait_until(lambda f: following(f, before))
    assert job_running(fake_k8s)
    fake_k8s.release_jobs("staging", "api-migrate-")

    done = result.result(timeout=30)
    assert done.succeeded and done.name == JOB
    assert_one_job_ran(fake_k8s)
    # Not a loop of watches from the compacted version: after the dropped watch's reconnect
    # and the client's one retry got 410, the next watch went on from a current version.
    versions = [int(w.query["resourceVersion"]) for w in job_watches(fake_k8s, JOB)[before:]]
    assert [v >= floor for v in versions][:3] in ([False, True], [False, False, True]), versions


# -- someone else changes the Deployment during the bake window -------------------------------

def wait_for(bot: RunningBot, deployment_id: int, state: State, progress: str,
             timeout: float = 10.0) -> None:
    """Until the deployment is in `state` and its progress starts with `progress`."""
    deadline = time.monotonic() + timeout
    while True:
        d = bot.deployment(deployment_id)
        if d.state is state and (d.progress or "").startswith(progress):
            return
        assert time.monotonic() < deadline, (d.state, d.progress)
        time.sleep(0.01)


@pytest.mark.parametrize("verify", [{"bake": "1h", "auto_rollback": True}])
def test_a_deployment_changed_by_someone_else_in_the_bake_window_fails_and_is_not_rolled_back(
    bot: RunningBot, fake_k8s: FakeKubernetes, kubectl: k8s.AppsV1Api,
) -> None:
    ephemeral_text(bot, bot.deploy("staging v1.2.3"))
    wait_for(bot, 1, State.VERIFYING, "watching the new pods")
    assert images(fake_k8s)["api"] == "ghcr.io/acme/api:v1.2.3"

    # `kubectl set image deployment/api api=…-hotfix --record`: a strategic merge patch.
    kubectl.patch_namespaced_deployment(
        "api", "staging",
        {"metadata": {"annotations": {"kubernetes.io/change-cause":
                                      f"kubectl set image deployment/api api={HOTFIX}"}},
         "spec": {"template": {"spec": {"containers": [{"name": "api", "image": HOTFIX}]}}}},
        _content_type="application/strategic-merge-patch+json")

    assert run_to_end(bot, 1) is State.FAILED
    d = bot.deployment(1)
    assert d.error == (
        f'failed verification: Deployment "api" in namespace "staging" now runs {HOTFIX}, not '
        "ghcr.io/acme/api:v1.2.3 (changed by someone else); not rolled back: that would undo "
        "someone else's change")
    # No rollback was sent: the two PATCHes are deploybot's rollout and the other person's.
    ours, theirs = fake_k8s.recorded("PATCH")
    assert ours.body["spec"]["template"]["spec"]["containers"] == [
        {"name": "api", "image": "ghcr.io/acme/api:v1.2.3"}]
    assert theirs.body["spec"]["template"]["spec"]["containers"] == [
        {"name": "api", "image": HOTFIX}]
    assert images(fake_k8s) == {"api": HOTFIX, "envoy": SIDECAR["image"]}
    annotations = fake_k8s.deployment("staging", "api")["metadata"]["annotations"]
    assert annotations["kubernetes.io/change-cause"].startswith("kubectl set image")
    assert audit_actions(bot, 1) == ["deploy.requested", "deploy.started", "deploy.migrate_job",
                                     "deploy.verifying", "deploy.verification", "deploy.failed"]
    # The cause is told in the card, the announcement and the requester's DM.
    assert f"❌ Failed — {d.error}" in blocks_text(bot.card(1))
    (ann,) = announcements(bot)
    assert f"Cause: {d.error}" in blocks_text(ann)
    # The headline does not claim v1.2.3 is still live: the other person's version is.
    assert "someone else has changed the workload since (not rolled back)" in \
        blocks_text(ann), blocks_text(ann)
    assert "is still live" not in blocks_text(ann)
    assert d.verification is not None and d.verification.superseded
    assert not d.verification.offer_rollback
    (dm,) = dms(bot)
    assert f"failed: {d.error}" in dm["text"], dm["text"]
