"""Use cases of a deployment request: request, approve/reject, expire, status.

Each method is one transaction on the store, then the side effects (Slack messages, handing
work to the runner) after it commits. Nothing here relies on process memory to be correct.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.config import AppConfig
from bot.domain.approval import ApprovalRule, check_decision, enough
from bot.domain.commands import DeployArgs, Parsed, UsageError, parse_deploy
from bot.domain.deployment import Deployment, NewDeployment, RunningVersion
from bot.domain.states import State
from bot.domain.text import shown
from bot.errors import Conflict, DeploybotError, Forbidden, NotFound, RetryableError
from bot.ports import Clock, Cluster, Notifier, Repositories, Store
from bot.services.access import Access

log = logging.getLogger(__name__)


class Submitter(Protocol):
    def submit(self, deployment_id: int) -> None: ...


@dataclass(frozen=True)
class Status:
    running: Sequence[RunningVersion]
    recent: Sequence[Deployment]
    at: datetime


@dataclass(frozen=True)
class DecisionResult:
    deployment: Deployment
    approve: bool
    started: bool  # this decision released the deployment to the runner


class DeploymentService:
    def __init__(
        self,
        *,
        config: AppConfig,
        store: Store,
        notifier: Notifier,
        cluster: Cluster,
        access: Access,
        clock: Clock,
        runner: Submitter,
    ) -> None:
        self._config = config
        self._store = store
        self._notifier = notifier
        self._cluster = cluster
        self._access = access
        self._clock = clock
        self._runner = runner

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def parse(self, text: str) -> Parsed:
        cfg = self._config
        args = parse_deploy(
            text,
            environments=cfg.environments.keys(),
            services=cfg.services.keys(),
            version_patterns={k: v.version_pattern for k, v in cfg.services.items()},
        )
        if isinstance(args, DeployArgs) and args.service not in cfg.services_in(args.environment):
            envs = ", ".join(f"`{e}`" for e in cfg.services[args.service].environments or [])
            raise UsageError(f"`{args.service}` is not deployed to `{args.environment}` "
                             f"(it deploys to {envs}).")
        return args

    def _rule(self, environment: str) -> ApprovalRule | None:
        a = self._config.environments[environment].approval
        return ApprovalRule(a.required, a.allow_self_approval) if a else None

    # -- request ---------------------------------------------------------------------
    def request(self, args: DeployArgs, *, user_id: str,
                slack_channel: str | None = None) -> Deployment:
        env = args.environment
        if not self._access.may_deploy(user_id, env):
            roles = ", ".join(f"`{r}`" for r in self._config.environments[env].deployers)
            raise Forbidden(f"You may not deploy to {env}: that needs the {roles} role. "
                            "Ask a platform admin to add you in app.yaml.")
        at = self._clock.now()
        approval = self._config.environments[env].approval
        with self._store.transaction() as r:
            previous = r.deployments.last_succeeded_version(env, args.service)
        if previous is None:  # nothing deployed by us yet: ask the cluster (outside the tx)
            previous = self._cluster.current_version(env, args.service)
        with self._store.transaction() as r:
            d = r.deployments.add(NewDeployment(
                service=args.service,
                environment=env,
                version=args.version,
                previous_version=previous,
                state=State.AWAITING_APPROVAL if approval else State.QUEUED,
                requested_by=user_id,
                requested_at=at,
                approvals_required=approval.required if approval else 0,
                expires_at=at + approval.expires_after if approval else None,
            ))
            r.audit.record("deploy.requested", actor=user_id, at=at, deployment_id=d.id,
                           details={"service": d.service, "environment": env,
                                    "version": d.version, "previous_version": previous},
                           slack_channel=slack_channel)
        try:
            refs = self._notifier.show(d)
        except DeploybotError as e:
            self._cancel_unposted(d, str(e))
            raise RetryableError(  # the handler adds "please try again"
                f"Deployment #{d.id} was cancelled: I could not post the request in the "
                f"deployments channel ({e})."
            ) from e
        with self._store.transaction() as r:
            r.deployments.set_fields(d.id, channel=refs.channel, message_ts=refs.message_ts,
                                     record_ts=refs.record_ts)
            d = self._get(r, d.id)
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    def _cancel_unposted(self, d: Deployment, why: str) -> None:
        at = self._clock.now()
        with self._store.transaction() as r:
            r.deployments.transition(d.id, State.CANCELLED, at=at, finished_at=at,
                                     error=f"request could not be posted: {why}")
            r.audit.record("deploy.cancelled", actor="deploybot", at=at, deployment_id=d.id,
                           details={"reason": why})

    # -- approve / reject ------------------------------------------------------------
    def decide(self, deployment_id: int, *, user_id: str, approve: bool,
               slack_channel: str | None = None, slack_ts: str | None = None) -> DecisionResult:
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
            if d is None:
                raise NotFound(f"Deployment #{deployment_id} does not exist.")
        rule = self._rule(d.environment)
        if rule is None:
            raise Conflict(f"Deployment #{d.id} does not need approval.")
        is_approver = self._access.may_approve(user_id, d.environment)

        expired = False
        started = False
        with self._store.transaction() as r:
            locked = r.deployments.lock(deployment_id, State.AWAITING_APPROVAL)
            d = self._get(r, deployment_id)
            if locked and d.expires_at is not None and at >= d.expires_at:
                r.deployments.transition(d.id, State.EXPIRED, at=at, finished_at=at)
                r.audit.record("deploy.expired", actor="deploybot", at=at, deployment_id=d.id)
                expired = True
            else:
                check_decision(d, user_id=user_id, approve=approve, is_approver=is_approver,
                               rule=rule, at=at)
                if not r.deployments.add_decision(d.id, user_id, approve=approve, at=at):
                    raise Conflict(f"You already decided on deployment #{d.id}; "
                                   "each person counts once.")
                r.audit.record("deploy.approved" if approve else "deploy.rejected",
                               actor=user_id, at=at, deployment_id=d.id,
                               slack_channel=slack_channel, slack_ts=slack_ts)
                if not approve:
                    r.deployments.transition(d.id, State.REJECTED, at=at, finished_at=at)
                elif enough(r.deployments.count_approvals(d.id), rule):
                    started = r.deployments.transition(d.id, State.QUEUED, at=at)
                d = self._get(r, deployment_id)
        if expired:
            d = self._refresh_card(deployment_id)
            self._safe_notify(d)  # as `expire_due` does: the job will not see it again
            raise Conflict(f"Deployment #{d.id} ({d.service} {shown(d.version)} to "
                           f"{d.environment}) expired without enough approvals; "
                           "request it again.")
        self._safe_show(d)
        if started:
            self._runner.submit(d.id)
        elif not approve:
            self._safe_notify(d)
        return DecisionResult(deployment=d, approve=approve, started=started)

    # -- expiry ----------------------------------------------------------------------
    def expire_due(self, *, at: datetime) -> list[int]:
        expired: list[int] = []
        with self._store.transaction() as r:
            for i in r.deployments.due_for_expiry(at):
                if r.deployments.transition(i, State.EXPIRED, at=at, finished_at=at):
                    r.audit.record("deploy.expired", actor="deploybot", at=at, deployment_id=i)
                    expired.append(i)
        for i in expired:
            d = self._refresh_card(i)
            self._safe_notify(d)
        return expired

    # -- status ----------------------------------------------------------------------
    def status(self, *, limit: int = 10) -> Status:
        at = self._clock.now()
        with self._store.transaction() as r:
            running = list(r.deployments.running_versions())
            recent = r.deployments.recent(limit)
        known = {(v.environment, v.service) for v in running}
        for env in self._config.environments:
            for svc in self._config.services_in(env):
                if (env, svc) not in known:
                    version = self._cluster.current_version(env, svc)
                    if version is not None:
                        running.append(RunningVersion(env, svc, version, since=at))
        running.sort(key=lambda v: (v.environment, v.service))
        return Status(running=running, recent=recent, at=at)

    # -- helpers ---------------------------------------------------------------------
    @staticmethod
    def _get(r: Repositories, deployment_id: int) -> Deployment:
        d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"Deployment #{deployment_id} does not exist.")
        return d

    def _refresh_card(self, deployment_id: int) -> Deployment:
        with self._store.transaction() as r:
            d = self._get(r, deployment_id)
        self._safe_show(d)
        return d

    def _safe_show(self, d: Deployment) -> None:
        try:
            self._notifier.show(d)
        except DeploybotError:
            log.warning("could not update the Slack card of deployment %s", d.id, exc_info=True)

    def _safe_notify(self, d: Deployment) -> None:
        try:
            self._notifier.notify_requester(d)
        except DeploybotError:
            log.warning("could not notify the requester of deployment %s", d.id, exc_info=True)
