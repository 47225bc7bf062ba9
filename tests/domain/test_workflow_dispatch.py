"""The pure part of deploying through a workflow: run keys, templates, job lines, the
failure text."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.workflow_dispatch import (
    JobChanges,
    RunKey,
    failure,
    key_in_title,
    render,
    run_key,
    template_problem,
    title_has_key,
    title_names,
)
from bot.domain.workflow_runs import RunJob, Step, WorkflowRun

AT = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


def job(i: int, name: str, status: str, conclusion: str | None = None,
        steps: tuple[Step, ...] = ()) -> RunJob:
    return RunJob(id=i, name=name, status=status, conclusion=conclusion,
                  url=f"https://github.com/acme/api/actions/runs/1/job/{i}", steps=steps)


def test_the_run_key_is_unique_per_deployment_and_version() -> None:
    assert run_key(42, "v1.2.3", at=AT) == "deploybot-42-v1.2.3"
    assert run_key(42, "v1.2.2", at=AT) != run_key(42, "v1.2.3", at=AT)  # auto rollback
    assert run_key(None, "v1.2.3", at=AT) == "deploybot-20261118150000-v1.2.3"


def test_a_key_is_found_only_as_a_whole_word_in_the_title() -> None:
    assert title_has_key("Deploy v1.2.3 (deploybot-42-v1.2.3)", "deploybot-42-v1.2.3")
    assert title_has_key("deploybot-42-v1.2.3", "deploybot-42-v1.2.3")
    assert not title_has_key("Deploy (deploybot-42-v1.2.3)", "deploybot-4-v1.2.3")
    assert not title_has_key("Deploy (deploybot-42-v1.2.3.1)", "deploybot-42-v1.2.3")
    assert not title_has_key("Deploy to Production", "deploybot-42-v1.2.3")


def test_a_title_s_run_key_says_the_deployment_and_the_version() -> None:
    title = "Deploy v1.2.4-rc.1+b.7 to production (deploybot-42-v1.2.4-rc.1+b.7)"
    assert key_in_title(title) == RunKey(42, "v1.2.4-rc.1+b.7")
    assert title_has_key(title, run_key(42, "v1.2.4-rc.1+b.7", at=AT))
    one_off = run_key(None, "v1.2.3", at=AT)  # from the shell: the time stands in
    assert key_in_title(f"Deploy ({one_off})") == RunKey(None, "v1.2.3")
    assert key_in_title("Deploy v1.2.3 to production ()") is None  # dispatched by hand
    assert key_in_title("Deploy (xdeploybot-42-v1)") is None


def test_a_title_names_an_environment_as_a_whole_word_outside_its_run_key() -> None:
    title = "Deploy v1.2.3 to production (deploybot-42-v1.2.3)"
    assert title_names(title, "production")
    assert not title_names(title, "staging")
    assert title_names("Roll back Production to v1.", "production")  # any case, a full stop
    assert not title_names("Deploy v1 to pre-production (deploybot-1-v1)", "production")
    assert not title_names("Deploy v1-staging (deploybot-1-v1-staging)", "staging")


def test_templates_know_their_placeholders() -> None:
    assert template_problem("{environment}-{version}") is None
    assert template_problem("{run_key}") is None
    assert template_problem("{env}") == (
        "unknown placeholder {env} in '{env}' (known: {environment}, {version}, {service}, "
        "{deployment_id}, {run_key}, {instance})")
    assert template_problem("preview-{instance}") is None  # a pull request's preview
    assert "not a valid template" in (template_problem("{version") or "")
    assert render("{service}@{version}", {"service": "api", "version": "v1"}) == "api@v1"


def test_one_line_per_job_state_change() -> None:
    seen = JobChanges()
    assert seen.changes([job(1, "build", "queued")]) == ["build ⏳ queued"]
    assert seen.changes([job(1, "build", "queued")]) == []
    assert seen.changes([job(1, "build", "in_progress"), job(2, "deploy", "queued")]) == [
        "build ⏳ in progress", "deploy ⏳ queued"]
    assert seen.changes([job(1, "build", "completed", "success"),
                         job(2, "deploy", "completed", "failure")]) == [
        "build ✅", "deploy ❌ failure"]


def test_the_failure_names_failed_jobs_their_failed_steps_and_the_run() -> None:
    run = WorkflowRun(id=7, name="Deploy to Production", title="Deploy", number=12, attempt=1,
                      status="completed", conclusion="cancelled",
                      url="https://github.com/acme/api/actions/runs/7", head_sha="0" * 40,
                      branch="main", event="workflow_dispatch", created_at=AT)
    jobs = [job(1, "build", "completed", "success"),
            job(2, "deploy", "completed", "timed_out",
                (Step(1, "Set up job", "completed", "success"),
                 Step(2, "Roll out", "completed", "failure"))),
            job(3, "verify", "completed", "cancelled"),
            job(4, "notify", "completed", "skipped")]
    assert failure(run, jobs, workflow="deploy.yml") == (
        "workflow run #12 of deploy.yml ended cancelled: failed jobs: deploy (timed out at "
        "step 'Roll out'); verify (cancelled) — https://github.com/acme/api/actions/runs/7")
