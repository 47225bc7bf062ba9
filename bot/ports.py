"""The small interfaces the services need. Backends and the store implement them.

Why one module: each Protocol is small, and keeping them together is what lets the services
depend on one module and the import contracts forbid everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from bot.clock import Clock
from bot.domain.alerts import PagerEvent
from bot.domain.audit import AuditEntry, AuditEvent
from bot.domain.checklist import Checklist, CheckStatus, Comparison, Facts, Tick
from bot.domain.deployment import Deployment, NewDeployment, RunningVersion
from bot.domain.dora import DeploymentFact
from bot.domain.faulty import FaultyMark
from bot.domain.freezes import RuntimeFreeze
from bot.domain.github_polling import PullHead
from bot.domain.live import Observed, Recorded
from bot.domain.locks import Lock
from bot.domain.states import State
from bot.domain.workflow_runs import RunJob, WorkflowRun

__all__ = [
    "AlreadyRunning",
    "AnnouncementLog",
    "AuditLog",
    "Changes",
    "ChecklistCards",
    "ChecklistRepository",
    "Clock",
    "Cluster",
    "CodeReview",
    "Dependency",
    "DeployRefusals",
    "DeploymentMirror",
    "DeploymentRepository",
    "DeploymentWatcher",
    "DirectMessages",
    "Directory",
    "FaultyVersions",
    "FreezeRepository",
    "GitHubDeploymentState",
    "Health",
    "Holidays",
    "HomeTab",
    "HomeViewers",
    "JobKind",
    "JobResult",
    "LockRepository",
    "Mailer",
    "MessageRefs",
    "Metrics",
    "Migrations",
    "Notifier",
    "Pager",
    "Poster",
    "Probes",
    "Repositories",
    "RepositoryHeads",
    "Revisions",
    "RolloutFailed",
    "RollsBack",
    "SourceControl",
    "Store",
    "Verifier",
    "VerifyResult",
    "WorkflowRuns",
]


class RolloutFailed(Exception):
    """The cluster could not roll the version out; `str()` says why in plain words."""


class AlreadyRunning(RolloutFailed):
    """The version asked for already runs there: nothing was changed, and that is no failure.

    A RolloutFailed so that a caller which knows only that one still stops safely."""

    def __init__(self, version: str, environment: str) -> None:
        super().__init__(f"{version} is already running in {environment}; nothing to do")
        self.version, self.environment = version, environment


class Cluster(Protocol):
    def observe(self, environment: str, service: str) -> Observed | None:
        """What runs there now, read from the executor (the source of truth): the version,
        since when, whether the workload is settled on it, and which deploybot deployment
        put it there when the executor remembers. None: nothing runs there (no workload).
        RetryableError when the executor cannot be read this time (unreachable, 5xx),
        PermanentError when deploybot may not read it (access, RBAC): the message says
        why, and callers then show deploybot's last record as "last known"."""
        ...

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> str | None:
        """Roll `version` out and return when it is live; raise RolloutFailed otherwise
        (AlreadyRunning when it runs already). What it returns, if anything, stays with the
        result (e.g. the link to the workflow run that deployed it). `progress` gets a
        short line whenever the rollout moves; `deployment_id` and `requested_by` are
        recorded where the cluster can keep them (e.g. annotations). `instance` ("pr-7"):
        roll it out to that per-PR instance of the environment (created on its first
        deploy), not the main one."""
        ...


@runtime_checkable
class Previews(Protocol):
    """An optional capability of a Cluster: remove a per-PR instance (previews)."""

    def remove_instance(self, environment: str, service: str, instance: str) -> bool:
        """Remove the per-PR `instance` of `service` in `environment`; False when there was
        nothing to remove. RetryableError / PermanentError when the cluster refuses."""
        ...


JobKind = Literal["migrate", "backup", "status"]


@dataclass(frozen=True)
class JobResult:
    """How a one-off Job (migrations, backup, migration status) ended."""

    succeeded: bool
    logs_tail: str  # the last lines of its pod's log ("" when there were none)
    name: str  # the Job's name in the cluster
    reason: str | None = None  # why it failed, when not in the logs ("timed out after 10m")

    @property
    def last_line(self) -> str:
        lines = [ln for ln in self.logs_tail.splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""


@runtime_checkable
class Migrations(Protocol):
    """An optional capability of a Cluster: run a command once from a version's image."""

    def run_job(
        self, environment: str, service: str, *, kind: JobKind, command: Sequence[str],
        version: str, deployment_id: int | None, timeout: float,
    ) -> JobResult:
        """Run `command` as a one-off Job from `version`'s image and wait (at most `timeout`
        seconds) for it to end. A deployment's Job has a fixed name, so a second call (a
        resumed runner) follows the Job of the first instead of starting another. Raises
        RolloutFailed when the Job could not be run or followed at all."""
        ...


@runtime_checkable
class Health(Protocol):
    """An optional capability of a Cluster: one look at the pods of a version that went
    live, for the watch after the rollout."""

    def check_health(self, environment: str, service: str, version: str) -> str | None:
        """Why the pods of `version` are unhealthy (restarts, a crash loop, not ready), in
        plain words; None when they look fine. RetryableError when the cluster could not be
        asked this time."""
        ...


@runtime_checkable
class RollsBack(Protocol):
    """An optional capability of a Cluster: a rollback done differently from a deploy (the
    github-actions executor's rollback workflow). A Cluster without it rolls back with
    `deploy` of the version rolled back to."""

    def roll_back(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
    ) -> str | None:
        """As `deploy`, for going back to `version` (an earlier one)."""
        ...


@runtime_checkable
class Revisions(Protocol):
    """An optional capability of a Cluster: which versions ran before in an environment, as
    the cluster remembers them (for `/rollback` while deploybot's own history is empty)."""

    def earlier_versions(self, environment: str, service: str) -> list[str]:
        """The versions that ran there before the current one, newest first, without
        duplicates and without the version running now; [] when unknown. RetryableError
        when the cluster could not be asked this time, PermanentError when deploybot is not
        set up to ask it (access, RBAC)."""
        ...


class SourceControl(Protocol):
    """The service's repository on GitHub (or GitHub Enterprise): which tags exist.

    RetryableError when it cannot be asked this time (unreachable, 5xx, rate limited: the
    message says when the limit resets); PermanentError when deploybot is not allowed to ask
    (bad token, missing scopes: the message says which); NotFound for a repository that does
    not exist or that the token cannot see."""

    def tag_exists(self, repository: str, tag: str) -> bool:
        """Whether `tag` is a tag of `repository` ("owner/name")."""
        ...

    def tags(self, repository: str, limit: int = 100) -> list[str]:
        """At most `limit` tag names of `repository`, newest first (as GitHub lists them)."""
        ...

    def release_tag(self, repository: str, name: str) -> str | None:
        """The tag of the (published) release named `name`, among its newest 100; None when
        no release has that name."""
        ...


class RepositoryHeads(Protocol):
    """What a repository's branches and open pull requests point at now (GitHub polling, when
    webhooks are off). Errors as for SourceControl; RateLimited (a RetryableError) says when
    GitHub's rate limit resets."""

    def branch_head(self, repository: str, branch: str) -> str | None:
        """The full sha of `branch`'s head commit; None when there is no such branch."""
        ...

    def open_pulls(self, repository: str) -> list[PullHead]:
        """The open pull requests of `repository`, with their head branch and commit."""
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


class Probes(Protocol):
    """HTTP checks from outside the cluster (smoke URLs, a Prometheus query)."""

    def smoke(self, url: str, *, expect_status: int) -> str | None:
        """None when GET `url` answers `expect_status`; else what went wrong."""
        ...

    def prometheus(self, url: str, query: str, *, max_value: float) -> tuple[str | None, str]:
        """(why it failed or None, what was seen) for an instant query whose values must
        not be above `max_value`."""
        ...


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reasons: tuple[str, ...] = ()  # why it failed (empty when ok)
    summary: str = ""  # what was checked and seen, one line
    superseded: bool = False  # someone else changed the workload: never roll that back


class Superseded(Exception):
    """The workload no longer runs the version being watched: someone else deployed."""


class Verifier(Protocol):
    def watch(self, environment: str, service: str, version: str, *, until: datetime,
              progress: Callable[[str], None]) -> VerifyResult:
        """Watch `version` of `service` in `environment` until `until` (or its first
        failure) and run the environment's checks; the result in plain words."""
        ...


@dataclass(frozen=True)
class MessageRefs:
    channel: str
    message_ts: str
    record_ts: str | None


class Notifier(Protocol):
    def show(self, d: Deployment) -> MessageRefs:
        """Post the deployment's card and record thread, or update them in place."""
        ...

    def announce(self, d: Deployment) -> None:
        """Announce the end result in the deployments channel."""
        ...

    def notify_requester(self, d: Deployment) -> None: ...

    def alert(self, d: Deployment, overrides: Sequence[str]) -> None:
        """Announce loudly (top level in the channel) an emergency deploy request."""
        ...

    def prompt_requester(self, d: Deployment) -> None:
        """DM the requester of a scheduled deploy: its window is open, start it or cancel."""
        ...


class Directory(Protocol):
    def group_members(self, group_id: str) -> frozenset[str]: ...


class Changes(Protocol):
    """Told that something people see has changed (a deployment's card, a lock, a freeze),
    so that views showing it (the App Home tab) are refreshed. Returns at once and never
    raises: the caller may be the deployment runner."""

    def changed(self) -> None: ...


class DeploymentWatcher(Protocol):
    """Told of each deployment the Notifier shows (`refs`: where its card is, when known).
    Returns at once and never raises: the caller may be the deployment runner."""

    def deployment_changed(self, d: Deployment, refs: MessageRefs | None) -> None: ...


class DeployRefusals(Protocol):
    """Told of each deploy request a lock refused at once (no deployment was created).
    Returns at once and never raises: the caller is answering a Slack request."""

    def deploy_refused(self, lock: Lock, *, user_id: str, at: datetime, reason: str) -> None:
        ...


class HomeTab(Protocol):
    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """Publish `view` (a Block Kit `home` view) as the user's App Home tab."""
        ...


class DirectMessages(Protocol):
    def direct_message(self, user_id: str, text: str,
                       blocks: Sequence[dict[str, Any]] | None = None) -> None:
        """Tell one user something in their DM with the bot (e.g. the answer to a click in
        the App Home, which has no response_url)."""
        ...


class DeploymentRepository(Protocol):
    def add(self, new: NewDeployment) -> Deployment: ...

    def get(self, deployment_id: int) -> Deployment | None: ...

    def lock(self, deployment_id: int, state: State) -> bool:
        """Serialize writers on one deployment still in `state` (row lock); False if not."""
        ...

    def transition(
        self, deployment_id: int, target: State, *, at: datetime, **fields: Any
    ) -> bool:
        """Move to `target` only from a legal source state; False when another got there."""
        ...

    def set_fields(self, deployment_id: int, **fields: Any) -> None: ...

    def add_decision(self, deployment_id: int, user_id: str, *, approve: bool,
                     at: datetime) -> bool: ...

    def count_approvals(self, deployment_id: int) -> int: ...

    def due_for_expiry(self, at: datetime) -> Sequence[int]: ...

    def due_scheduled(self, at: datetime) -> Sequence[int]: ...

    def mark_prompted(self, deployment_id: int, *, at: datetime) -> bool: ...

    def request_abort(self, deployment_id: int, *, by: str, at: datetime) -> bool:
        """Record that `by` asked to abort a deployment rolling out or being watched: one
        conditional update (still running or verifying, no abort asked yet), so concurrent
        requests abort once. False when it is no longer running or someone asked first."""
        ...

    def unanswered(self, *, prompted_before: datetime) -> Sequence[int]: ...

    def find_scheduled(self, *, service: str, environment: str, version: str,
                       requested_by: str) -> Deployment | None: ...

    def claim(self, deployment_id: int, *, owner: str, at: datetime, until: datetime) -> bool:
        """Take the lease on a queued deployment (or on a running one whose lease ran out)."""
        ...

    def renew(self, deployment_id: int, *, owner: str, until: datetime) -> bool: ...

    def claimable(self, at: datetime) -> Sequence[int]: ...

    def recent(self, limit: int) -> Sequence[Deployment]: ...

    def awaiting_approval(self, limit: int) -> tuple[Sequence[Deployment], int]:
        """The oldest `limit` deployments awaiting approval, and how many there are."""
        ...

    def running_versions(self) -> Sequence[RunningVersion]: ...

    def running_versions_of(self, environments: Sequence[str],
                            services: Sequence[str]) -> Sequence[RunningVersion]:
        """`running_versions` of these services in these environments, indexed per pair."""
        ...

    def last_succeeded_version(self, environment: str, service: str,
                               instance: str | None = None) -> str | None:
        """On the main instance (None) or one per-PR instance."""
        ...

    def last_to_instance(self, environment: str, service: str, instance: str) -> int | None:
        """The id of the last deployment to a per-PR instance, if any (previews)."""
        ...

    def last_put_live(self, environment: str, service: str) -> Recorded | None:
        """What deploybot last put live on the main instance there (its history)."""
        ...

    def waiting_for(self, environment: str, service: str,
                    instance: str | None = None) -> Sequence[Deployment]:
        """Requests still waiting for approval or their window there, oldest first."""
        ...

    def unstarted_on_instance(self, environment: str, service: str,
                              instance: str) -> Sequence[int]:
        """Deployments to a per-PR instance awaiting approval, a window, or the runner."""
        ...

    def history(self, *, limit: int, environment: str | None = None,
                service: str | None = None) -> Sequence[Deployment]:
        """The last `limit` deployments (there), newest first, with their decisions."""
        ...

    def facts(self, *, environments: Sequence[str], service: str | None,
              since: datetime) -> Sequence[DeploymentFact]:
        """Deploys and rollbacks there requested since `since` (for the DORA measures)."""
        ...

    def active_for(self, environment: str, service: str,
                   instance: str | None = None) -> Deployment | None:
        """The deployment of `service` to `environment` (its main instance, or a per-PR
        `instance`) in flight (queued, running or verifying), if any. The database holds
        at most one: `add` and `transition` raise bot.domain.busy.DeploymentBusy (a
        Conflict; the transaction stays usable) when a second one would be put in flight."""
        ...

    def good_versions(self, environment: str, service: str, *, limit: int = 20) -> list[str]:
        ...

    def succeeded_there(self, environment: str, service: str, version: str) -> bool:
        """Whether `version` went live there and passed its checks (deploy or rollback)."""
        ...

    def latest_live(self, environment: str, service: str, version: str) -> Deployment | None:
        ...


class AuditLog(Protocol):
    def record(
        self,
        action: str,
        *,
        actor: str,
        at: datetime,
        deployment_id: int | None = None,
        details: dict[str, Any] | None = None,
        slack_channel: str | None = None,
        slack_ts: str | None = None,
        environment: str | None = None,
    ) -> None:
        """`environment` defaults to the deployment's, when `deployment_id` names one."""
        ...

    def record_many(self, entries: Sequence[AuditEntry]) -> None:
        """Record a batch (the request trail). The environment defaults to that of the
        deployment in `deployment_id`, or named by `details["deployment_id"]`; a
        `deployment_id` that names no deployment is moved to the details."""
        ...

    def latest(self, *, environment: str | None, since: datetime | None,
               before_id: int | None, limit: int) -> Sequence[AuditEvent]:
        """The newest events first (ids below `before_id`, at or after `since`)."""
        ...

    def start_id(self, since: datetime) -> int | None:
        """The smallest id of an event at or after `since` (None: there is none)."""
        ...

    def batch_after(self, after_id: int, *, environment: str | None,
                    limit: int) -> Sequence[AuditEvent]:
        """The next `limit` events with ids above `after_id`, in id order (export)."""
        ...

    def first_times(self, action: str, deployment_ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these deployments first recorded `action`."""
        ...


class FreezeRepository(Protocol):
    def add(self, *, name: str, start: datetime, end: datetime, reason: str,
            environments: Sequence[str] | None, created_by: str,
            at: datetime) -> RuntimeFreeze: ...

    def current(self, at: datetime) -> Sequence[RuntimeFreeze]: ...

    def get(self, number: int) -> RuntimeFreeze | None: ...

    def remove(self, number: int, *, by: str, at: datetime) -> bool: ...


class HomeViewers(Protocol):
    def opened(self, user_id: str, *, at: datetime) -> None:
        """`user_id` opened the App Home tab at `at`."""
        ...

    def since(self, at: datetime, *, limit: int) -> Sequence[str]:
        """Who opened it at or after `at` (most recent first, at most `limit`)."""
        ...


class AnnouncementLog(Protocol):
    def claim(self, key: str, *, due_at: datetime, at: datetime) -> bool: ...

    def posted(self, key: str, *, channel: str, ts: str) -> None: ...

    def release(self, key: str) -> None: ...

    def claimed(self, key: str) -> bool: ...

    def forget(self, prefix: str, *, claimed_before: datetime) -> int: ...

    def keys(self, prefix: str) -> list[str]:
        """The claimed keys that start with `prefix`, sorted."""
        ...

    def drop(self, key: str) -> bool:
        """Delete one claim; True only for the one caller that deleted it."""
        ...


class FaultyVersions(Protocol):
    def mark(self, *, environment: str, service: str, version: str, reason: str, by: str,
             at: datetime, deployment_id: int | None = None) -> FaultyMark: ...

    def get(self, environment: str, service: str, version: str) -> FaultyMark | None: ...

    def marked(self, environment: str, service: str) -> set[str]: ...


class LockRepository(Protocol):
    def acquire(self, *, environment: str, service: str, holder: str, reason: str,
                at: datetime, expires_at: datetime | None = None, origin: str = "manual",
                deployment_id: int | None = None) -> Lock | None:
        """Take the lock; None when one is held there already (the transaction stays
        usable). An expired lock nobody released yet gives way."""
        ...

    def get(self, environment: str, service: str, *, at: datetime) -> Lock | None:
        """The lock in force there at `at`, if any."""
        ...

    def active(self, at: datetime) -> Sequence[Lock]: ...

    def expired(self, at: datetime) -> Sequence[Lock]:
        """Locks whose time is up at `at` that nobody released yet."""
        ...

    def release(self, lock_id: int, *, by: str, at: datetime) -> bool:
        """Release it if nobody did yet (a conditional UPDATE): True for one caller only."""
        ...


class ChecklistRepository(Protocol):
    def ticks(self, deployment_id: int) -> Sequence[Tick]: ...

    def set_tick(self, deployment_id: int, tick: Tick) -> None:
        """Tick an item (or mark it not applicable), replacing an earlier tick of it; a
        tick with `attested` keeps an approval's attestation of an item nothing checked."""
        ...

    def clear_tick(self, deployment_id: int, item: str) -> bool:
        """Untick; False when it was not ticked."""
        ...

    def facts(self, deployment_id: int) -> Facts | None:
        """What GitHub said when last asked (None: never asked yet)."""
        ...

    def save_facts(self, deployment_id: int, facts: Facts, *, failures: int,
                   next_check_at: datetime | None) -> None: ...

    def failures(self, deployment_id: int) -> int:
        """How many times in a row GitHub could not be asked (for the back-off)."""
        ...

    def due(self, at: datetime, limit: int) -> Sequence[int]:
        """Deployments whose facts should be asked for again at `at` (awaiting approval)."""
        ...


class Repositories(Protocol):
    @property
    def deployments(self) -> DeploymentRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def freezes(self) -> FreezeRepository: ...

    @property
    def announcements(self) -> AnnouncementLog: ...

    @property
    def locks(self) -> LockRepository: ...

    @property
    def home_viewers(self) -> HomeViewers: ...

    @property
    def faulty(self) -> FaultyVersions: ...

    @property
    def checklists(self) -> ChecklistRepository: ...


class Holidays(Protocol):
    def between(self, country: str, subdivision: str | None, names: Sequence[str] | None,
                language: str | None, first: date, last: date) -> list[tuple[date, str]]:
        """Public holidays (date, name) from `first` to `last` inclusive."""
        ...


class Poster(Protocol):
    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        """Post a plain message (announcements); returns (channel, ts)."""
        ...


class Pager(Protocol):
    """An on-call paging service (PagerDuty Events API v2): trigger or resolve an incident.
    Raises RetryableError (down, 5xx, 429) or PermanentError (refused: a 4xx)."""

    def send(self, event: PagerEvent) -> None: ...


class Mailer(Protocol):
    """Sends one plain-text email (the daily summary). Raises RetryableError (the server
    is down or said try later) or PermanentError (refused: bad login, bad recipients)."""

    def send(self, *, sender: str, to: Sequence[str], subject: str, body: str) -> None: ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Repositories]:
        """A unit of work: commits when the block ends, rolls back on an exception."""
        ...


# -- `deploybot doctor`: can the bot reach what it needs? ---------------------------------

@dataclass(frozen=True)
class SlackIdentity:
    """Who the bot token is (auth.test) and the scopes Slack granted it (None: not said)."""

    user: str
    team: str
    scopes: frozenset[str] | None


class SlackAccess(Protocol):
    """The bot token's identity and channel membership. Errors: PermanentError (a bad
    token, a missing scope), RetryableError (Slack unreachable), NotFound (no such channel)."""

    def identity(self) -> SlackIdentity: ...

    def is_member(self, channel: str) -> bool:
        """Whether the bot is in `channel` (an id C…, or a #name)."""
        ...


class ClusterAccess(Protocol):
    """RBAC as the Kubernetes API answers it for deploybot's own identity."""

    def denied(self, environment: str, namespace: str) -> list[str]:
        """What the Kubernetes executor needs in `namespace` that it may not do, as
        "verb resource" ("patch deployments.apps"); empty when it may do everything.
        PermanentError / RetryableError when the cluster cannot be asked."""
        ...


class RepositoryAccess(Protocol):
    def check(self, repository: str) -> None:
        """Raise unless the GitHub token is valid and can see `repository` (PermanentError:
        the token; NotFound: the repository; RetryableError: GitHub unreachable)."""
        ...


class SchemaStatus(Protocol):
    def revisions(self) -> tuple[str | None, str]:
        """(the database's Alembic revision or None, the code's head); RetryableError when
        the database is unreachable."""
        ...


class Metrics(Protocol):
    """What the services report for /metrics (bot.metrics implements it). Label values are
    bounded: environments from app.yaml, results are deployment states."""

    def deployment_finished(self, environment: str, result: str) -> None: ...

    def approval_waited(self, environment: str, seconds: float) -> None:
        """From a deployment's request to the approval that released it."""
        ...

    def rollout_took(self, environment: str, result: str, seconds: float) -> None:
        """From the runner's start of a deployment to its result."""
        ...


class NoMetrics:
    """Metrics that go nowhere (a service built without them)."""

    def deployment_finished(self, environment: str, result: str) -> None:
        return None

    def approval_waited(self, environment: str, seconds: float) -> None:
        return None

    def rollout_took(self, environment: str, result: str, seconds: float) -> None:
        return None


class Dependency(Protocol):
    """Something the bot cannot serve without (the database, Slack), for GET /readyz."""

    name: str

    def check(self) -> None:
        """Return when it answers; raise RetryableError or PermanentError saying why not."""
        ...


# -- the simulated cluster's state, kept in the database --------------------------------

@dataclass(frozen=True)
class SimulatedWorkload:
    """What the simulated cluster runs in one (environment, service, instance)."""

    version: str
    since: datetime  # when the rollout that put it there ended (the injected clock's time)
    deployment_id: int | None = None  # the deploybot deployment that put it there, if any
    requested_by: str | None = None  # who asked for that rollout, when said


class SimulatedWorkloads(Protocol):
    """The simulated cluster's state (bot.backends.simulated), kept in the database so that
    it survives a restart: per environment, service and instance (None: the environment's
    main instance; "pr-7": a per-PR one) the version it runs, and the versions that went
    live there. Each call is its own short transaction; RetryableError when the database is
    unavailable."""

    def get(self, environment: str, service: str,
            instance: str | None = None) -> SimulatedWorkload | None:
        """What runs there; None: nothing was ever rolled out there (or it was removed)."""
        ...

    def put(self, environment: str, service: str, workload: SimulatedWorkload, *,
            instance: str | None = None) -> None:
        """`workload` went live there: it is what runs now, and joins the history."""
        ...

    def history(self, environment: str, service: str, instance: str | None = None, *,
                limit: int = 100) -> list[str]:
        """The versions that went live there, newest first (the one running now first), at
        most `limit`; a version rolled out twice is there twice."""
        ...

    def remove(self, environment: str, service: str, instance: str) -> bool:
        """Forget a per-PR instance and its history; False when there was none."""
        ...
