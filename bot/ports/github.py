"""What the services ask of GitHub: tags and releases, branch and pull-request heads (polling),
workflow runs (`/ci`), what a version's commits went through (the checklist), the
Deployments API mirror, and the token's access as the doctor checks it."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from bot.domain.checklist import Checklist
from bot.domain.checklist_facts import CheckStatus, Comparison
from bot.domain.deployment import Deployment
from bot.domain.github_polling import BranchHead, PullHead
from bot.domain.workflow_runs import RunJob, WorkflowRun


class SourceControl(Protocol):
    """The service's repository on GitHub (or GitHub Enterprise): which tags exist, and
    which commit a tag points at (the promotion gate's second name for a version).

    RetryableError when it cannot be asked this time (unreachable, 5xx, rate limited: the
    message says when the limit resets); PermanentError when deploybot is not allowed to ask
    (bad token, missing scopes: the message says which); NotFound for a repository that does
    not exist or that the token cannot see."""

    def tag_exists(self, repository: str, tag: str) -> bool:
        """Whether `tag` is a tag of `repository` ("owner/name")."""
        ...

    def tag_commit(self, repository: str, tag: str) -> str | None:
        """The full sha of the commit `tag` points at (an annotated tag peeled to its
        commit); None when `repository` has no such tag."""
        ...

    def tags(self, repository: str, limit: int = 100) -> list[str]:
        """At most `limit` tag names of `repository`, newest first (as GitHub lists them)."""
        ...

    def tagged(self, repository: str, limit: int = 100) -> list[tuple[str, str]]:
        """At most `limit` tags of `repository`, newest first, each with the full sha of the
        commit it points at: (tag, sha), one request (the tag list gives both)."""
        ...

    def release_tag(self, repository: str, name: str) -> str | None:
        """The tag of the (published) release named `name`, among its newest 100; None when
        no release has that name."""
        ...


class RepositoryHeads(Protocol):
    """What a repository's branches and open pull requests point at now (GitHub polling, when
    webhooks are off). Errors as for SourceControl; RateLimited (a RetryableError) says when
    GitHub's rate limit resets."""

    def branch_head(self, repository: str, branch: str) -> BranchHead | None:
        """`branch`'s head commit (its full sha, and its author and message when GitHub
        gives them); None when there is no such branch."""
        ...

    def open_pulls(self, repository: str) -> list[PullHead]:
        """The open pull requests of `repository`, with their head branch and commit, who
        opened each and its title."""
        ...


class WorkflowRuns(Protocol):
    """A repository's GitHub Actions workflow runs (`/ci`). Errors as for SourceControl
    (RetryableError — RateLimited when the limit is used up —, PermanentError, NotFound)."""

    def tag_commit(self, repository: str, tag: str) -> str | None:
        """The sha of the commit `tag` points at (through an annotated tag); None when
        there is no such tag."""
        ...

    def runs_for_commit(self, repository: str, sha: str, *,
                        limit: int) -> tuple[list[WorkflowRun], int]:
        """At most `limit` runs of the commit `sha`, newest first, and how many there are."""
        ...

    def run(self, repository: str, run_id: int) -> WorkflowRun:
        """One run; NotFound (saying so) when the repository has no run `run_id`."""
        ...

    def jobs(self, repository: str, run_id: int) -> list[RunJob]:
        """The jobs of the run's latest attempt, with their steps."""
        ...

    def rerun(self, repository: str, run_id: int, *, failed_only: bool) -> None:
        """Re-run the run (`failed_only`: only its failed jobs and what depends on them).
        Conflict when GitHub refuses because of the run's state (still running, nothing
        failed)."""
        ...

    def job(self, repository: str, job_id: int) -> RunJob:
        """One job, with the id of the run it belongs to; NotFound (saying so) when the
        repository has no job `job_id`."""
        ...

    def rerun_job(self, repository: str, job_id: int) -> None:
        """Re-run one job of a finished run, and the jobs that depend on it. Conflict when
        GitHub refuses because of the job's or the run's state (403: still running, too old
        to re-run)."""
        ...


GitHubDeploymentState = Literal["queued", "in_progress", "success", "failure", "error",
                                "inactive"]


class CodeReview(Protocol):
    """What GitHub knows about a version's commit, for the pre-deployment checklist.
    Errors as for SourceControl (RetryableError — RateLimited when the limit is used up —,
    PermanentError, NotFound)."""

    def checks(self, repository: str, ref: str) -> tuple[CheckStatus, ...]:
        """The check runs and commit statuses of `ref`'s commit (the latest of each name)."""
        ...

    def compare(self, repository: str, base: str, head: str, *,
                max_commits: int) -> Comparison:
        """The commits (with the pull requests they came through and whether those were
        approved, for at most `max_commits` of them) and changed files from `base` to
        `head`."""
        ...

    def evaluate(self, repository: str, head: str, *, base: str | None,
                 max_commits: int) -> tuple[tuple[CheckStatus, ...], Comparison | None]:
        """`checks(head)` and (with `base`) `compare(base, head)` together, in as few
        requests as the backend can (GitHub: at most 2, whatever the number of commits);
        the comparison is None without `base`."""
        ...


class ChecklistCards(Protocol):
    """The checklist to show on a deployment's card (None: it has none). Never raises."""

    def card_checklist(self, d: Deployment) -> Checklist | None: ...


class DeploymentMirror(Protocol):
    """GitHub's Deployments API: deploybot's deployments mirrored on the repository's
    Environments page. Errors as for SourceControl (RetryableError, PermanentError)."""

    def create_deployment(self, repository: str, ref: str, environment: str,
                          description: str, payload: dict[str, Any]) -> int:
        """Create a deployment of `ref` to `environment`; its GitHub id."""
        ...

    def set_status(self, repository: str, github_deployment_id: int,
                   state: GitHubDeploymentState, *, log_url: str | None, description: str,
                   environment: str) -> None:
        """Add a status to that deployment (success marks the earlier ones inactive)."""
        ...


class RepositoryAccess(Protocol):
    def check(self, repository: str) -> None:
        """Raise unless the GitHub token is valid and can see `repository` (PermanentError:
        the token; NotFound: the repository; RetryableError: GitHub unreachable)."""
        ...
