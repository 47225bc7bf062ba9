"""The deployments' repository, by role: what each caller reads or writes of a deployment.

`DeploymentRepository` is their union, what the store implements (bot.store.repositories)
and `Repositories.deployments` hands out. A write names what it records (`record_messages`,
`record_verification`, `release_lease`, …); the columns a state change records with it are
the keys of `DeploymentChanges`, so a misspelt or mistyped column is a mypy error, and the
store refuses any other at run time (TypeError).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypedDict, Unpack

from bot.domain.deployment import (
    Deployment,
    JobOutcome,
    NewDeployment,
    RunningVersion,
    Verification,
)
from bot.domain.dora import DeploymentFact
from bot.domain.live import Recorded
from bot.domain.states import State


class DeploymentChanges(TypedDict, total=False):
    """What a state change (`DeploymentWrites.transition`) records with it, column by column:
    the columns the services move with the state, never the state, the request or the ids."""

    started_at: datetime  # into RUNNING
    finished_at: datetime  # into a final state
    error: str | None  # why it failed, was cancelled or expired
    progress: str | None  # the runner's last line
    previous_version: str | None  # what it replaces, read from the executor as it starts
    expires_at: datetime | None  # when an approval comes too late
    not_before: datetime | None  # when its window (next) opens
    approvals_required: int
    superseded_by: int  # the newer request that replaced it while it waited
    lease_owner: str | None  # the runner following it (None: nobody)
    lease_until: datetime | None


class DeploymentWrites(Protocol):
    """A deployment's life: its request, its state changes, and what it records on the way."""

    def add(self, new: NewDeployment) -> Deployment: ...

    def lock(self, deployment_id: int, state: State) -> bool:
        """Serialize writers on one deployment still in `state` (row lock); False if not."""
        ...

    def transition(self, deployment_id: int, target: State, *, at: datetime,
                   **changes: Unpack[DeploymentChanges]) -> bool:
        """Move to `target` only from a legal source state, recording `changes` with it;
        False when another got there. Into QUEUED, bot.domain.busy.DeploymentBusy (a
        Conflict; the transaction stays usable) when another deployment is in flight there."""
        ...

    def record_messages(self, deployment_id: int, *, channel: str, message_ts: str,
                        record_ts: str | None) -> None:
        """Where its card (`message_ts`) and its record thread are in Slack."""
        ...

    def record_progress(self, deployment_id: int, text: str) -> None:
        """The runner's last line about it (at most 255 characters)."""
        ...

    def record_verification(self, deployment_id: int, verification: Verification) -> None:
        """What the watch after its rollout found, and what people decided about it."""
        ...

    def record_migrations(self, deployment_id: int, outcome: JobOutcome) -> None:
        """How its database migrations Job ended."""
        ...

    def record_github_deployment(self, deployment_id: int, github_deployment_id: int) -> None:
        """Its mirror on GitHub (the Deployments API)."""
        ...

    def record_error(self, deployment_id: int, error: str) -> None:
        """Why it ended as it did, said again once it ended (its rollback failed too)."""
        ...

    def record_previous_version(self, deployment_id: int, version: str | None) -> None:
        """What a request still waiting would replace (the version live there now)."""
        ...

    def request_abort(self, deployment_id: int, *, by: str, at: datetime) -> bool:
        """Record that `by` asked to abort a deployment rolling out or being watched: one
        conditional update (still running or verifying, no abort asked yet), so concurrent
        requests abort once. False when it is no longer running or someone asked first."""
        ...


class DeploymentQueries(Protocol):
    """One deployment, and those in flight or waiting in one place."""

    def get(self, deployment_id: int) -> Deployment | None: ...

    def active_for(self, environment: str, service: str,
                   instance: str | None = None) -> Deployment | None:
        """The deployment of `service` to `environment` (its main instance, or a per-PR
        `instance`) in flight (queued, running or verifying), if any. The database holds
        at most one: `add` and `transition` raise bot.domain.busy.DeploymentBusy (a
        Conflict; the transaction stays usable) when a second one would be put in flight."""
        ...

    def waiting_for(self, environment: str, service: str,
                    instance: str | None = None) -> Sequence[Deployment]:
        """Requests still waiting for approval or their window there, oldest first."""
        ...

    def awaiting_approval(self, limit: int) -> tuple[Sequence[Deployment], int]:
        """The oldest `limit` deployments awaiting approval, and how many there are."""
        ...

    def unstarted_on_instance(self, environment: str, service: str,
                              instance: str) -> Sequence[int]:
        """Deployments to a per-PR instance awaiting approval, a window, or the runner."""
        ...

    def last_to_instance(self, environment: str, service: str, instance: str) -> int | None:
        """The id of the last deployment to a per-PR instance, if any (previews)."""
        ...


class DeploymentDecisions(Protocol):
    """Approvals: who decided, how many approvals it needs, a downgrade confirmed."""

    def add_decision(self, deployment_id: int, user_id: str, *, approve: bool,
                     at: datetime, reason: str | None = None) -> bool:
        """False when `user_id` decided on it already (each person counts once); `reason`:
        why it was rejected."""
        ...

    def count_approvals(self, deployment_id: int) -> int: ...

    def require_approvals(self, deployment_id: int, required: int) -> None:
        """How many approvals it needs (set when it is approved ahead of its window)."""
        ...

    def record_downgrade(self, deployment_id: int, downgrade_from: str) -> None:
        """The newer version it replaces, confirmed as a downgrade by its approver."""
        ...


class DeploymentSchedules(Protocol):
    """What is due at a time: approvals that expire, windows that open, requesters who
    never answered; and a request waiting for its window."""

    def due_for_expiry(self, at: datetime) -> Sequence[int]: ...

    def due_scheduled(self, at: datetime) -> Sequence[int]: ...

    def unanswered(self, *, prompted_before: datetime) -> Sequence[int]: ...

    def next_due(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        """When the queries above next find something, as things stand: the earliest
        approval expiry (`due_for_expiry`), window opening of a request not yet prompted
        (`due_scheduled`) and prompt (`unanswered`); None where there is none."""
        ...

    def find_scheduled(self, *, service: str, environment: str, version: str,
                       requested_by: str) -> Deployment | None: ...

    def mark_prompted(self, deployment_id: int, *, at: datetime) -> bool:
        """Claim the one reminder to its requester (False: someone else did)."""
        ...

    def unmark_prompted(self, deployment_id: int) -> None:
        """The reminder could not be sent: the next run asks again."""
        ...

    def reschedule(self, deployment_id: int, *, not_before: datetime | None,
                   prompt_again: bool = False) -> None:
        """Wait for the window opening at `not_before`; `prompt_again`: and ask its
        requester again then (forget the reminder already sent)."""
        ...


class DeploymentLeases(Protocol):
    """The runner's lease on the deployment it follows (one process at a time)."""

    def claim(self, deployment_id: int, *, owner: str, at: datetime, until: datetime) -> bool:
        """Take the lease on a queued deployment (or on a running one whose lease ran out)."""
        ...

    def renew(self, deployment_id: int, *, owner: str, until: datetime) -> bool: ...

    def release_lease(self, deployment_id: int) -> None:
        """Nobody follows it any more (it ended)."""
        ...

    def claimable(self, at: datetime) -> Sequence[int]: ...

    def next_claimable(self, at: datetime) -> datetime | None:
        """When `claimable` next finds something, as things stand: `at` when it does now,
        else the earliest lease to run out; None when no deployment is in flight."""
        ...


class DeploymentHistory(Protocol):
    """What ran where: the record of deployments that ended, for `/deploys`, status, DORA,
    promotion gates and rollback targets."""

    def recent(self, limit: int) -> Sequence[Deployment]: ...

    def history(self, *, limit: int, environment: str | None = None,
                service: str | None = None) -> Sequence[Deployment]:
        """The last `limit` deployments (there), newest first, with their decisions."""
        ...

    def facts(self, *, environments: Sequence[str], service: str | None,
              since: datetime) -> Sequence[DeploymentFact]:
        """Deploys and rollbacks there requested since `since` (for the DORA measures)."""
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

    def last_put_live(self, environment: str, service: str) -> Recorded | None:
        """What deploybot last put live on the main instance there (its history)."""
        ...

    def good_versions(self, environment: str, service: str, *, limit: int = 20) -> list[str]:
        ...

    def succeeded_there(self, environment: str, service: str,
                        version: str) -> Recorded | None:
        """The last deployment that took `version` live there and passed its checks (deploy
        or rollback), and when; None: none did."""
        ...

    def latest_live(self, environment: str, service: str, version: str) -> Deployment | None:
        ...


class DeploymentRepository(DeploymentWrites, DeploymentQueries, DeploymentDecisions,
                           DeploymentSchedules, DeploymentLeases, DeploymentHistory,
                           Protocol):
    """Every role: what the store implements and `Repositories.deployments` is."""
