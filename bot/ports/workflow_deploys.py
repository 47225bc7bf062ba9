"""An optional capability of a Cluster whose rollouts are GitHub Actions workflow runs (the
github-actions executor): the latest run of its deploy workflow for an environment, which
`/rollout` shows with its jobs (read through the WorkflowRuns port)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.domain.workflow_runs import WorkflowRun


@runtime_checkable
class DeployRuns(Protocol):
    def latest_deploy_run(self, environment: str, service: str) -> WorkflowRun | None:
        """The newest run, whatever its state (queued, running, failed, succeeded), of the
        deploy (or rollback) workflow whose title names `environment`; None when none of
        the newest runs does. RetryableError when GitHub cannot be asked this time,
        PermanentError when deploybot may not ask (token, access, a missing workflow)."""
        ...
