"""Use cases of a deployment request: request, approve/reject, expire, status.

Each method is one transaction on the store, then the side effects (Slack messages, handing
work to the runner) after it commits. Nothing here relies on process memory to be correct.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Protocol

from bot.config import AppConfig
from bot.domain.approval import ApprovalRule, check_decision, enough
from bot.domain.busy import DeploymentBusy
from bot.domain.commands import DeployArgs, Parsed, UsageError, parse_deploy
from bot.domain.deployment import Deployment, Kind, NewDeployment, RunningVersion
from bot.domain.faulty import FaultyMark
from bot.domain.policy import PolicyDecision, local
from bot.domain.states import State
from bot.domain.text import reason_text, shown
from bot.errors import (
    Conflict,
    DeploybotError,
    Forbidden,
    NotFound,
    RetryableError,
    UserError,
)
from bot.ports import Clock, Cluster, Metrics, NoMetrics, Notifier, Repositories, Store
from bot.services.access import Access
from bot.services.locks import LockService
from bot.services.policy import PolicyService
from bot.services.runner import window_for
from bot.services.versions import VersionCheck

log = logging.getLogger(__name__)


class WindowClosed(UserError):
    """A deploy refused by the schedule or a freeze; carries what to offer instead."""

    def __init__(self, args: DeployArgs, decision: PolicyDecision, zone: tzinfo) -> None:
        self.request = args
        self.decision = decision
        nxt = (f" The next window opens {local(decision.next_allowed_at, zone)}."
               if decision.next_allowed_at else " No window opens in the next 60 days.")
        super().__init__(
            f"Not now: {args.service} {args.version} cannot go to {args.environment} — "
            + "; ".join(decision.reasons) + "." + nxt
        )


class Submitter(Protocol):
    def submit(self, deployment_id: int) -> None: ...


class ChecklistGate(Protocol):
    """The pre-deployment checklist (bot.services.checklist.ChecklistService)."""

    def requested(self, d: Deployment) -> None:
        """A card awaiting approval was posted: evaluate its checklist in the background."""
        ...

    def gate(self, d: Deployment, *, user_id: str) -> None:
        """Approve was clicked: Conflict while a required item is not green."""
        ...


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
        policy: PolicyService,
        locks: LockService,
        versions: VersionCheck | None = None,
        checklist: ChecklistGate | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._versions = versions  # the version must be a tag of the service's repository
        self._checklist = checklist  # the pre-deployment checklist gates approval
        self._metrics = metrics or NoMetrics()  # approval wait
        self._locks = locks
        self._config = config
        self._store = store
        self._notifier = notifier
        self._cluster = cluster
        self._access = access
        self._clock = clock
        self._runner = runner
        self._policy = policy

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

    def _rule(self, d: Deployment) -> ApprovalRule | None:
        if d.emergency:
            e = self._config.emergency
            return ApprovalRule(e.required, e.allow_self_approval)
        a = self._config.environments[d.environment].approval
        return ApprovalRule(a.required, a.allow_self_approval) if a else None

    def _approval_needed(self, environment: str, *, emergency: bool) -> tuple[int, datetime | None]:
        """(approvals required, expiry) for a request entering approval now."""
        at = self._clock.now()
        if emergency:
            e = self._config.emergency
            return e.required, at + e.expires_after
        approval = self._config.environments[environment].approval
        if approval is None:
            return 0, None
        return approval.required, at + approval.expires_after

    def _window(self, args: DeployArgs | Deployment, *, at: datetime) -> PolicyDecision:
        if isinstance(args, Deployment) and args.kind is not Kind.DEPLOY:
            return window_for(self._policy, args, at=at)
        emergency = (args.emergency_reason is not None)
        return self._policy.check(args.environment, args.service, at=at, emergency=emergency)

    # -- request ---------------------------------------------------------------------
    def _check_may_deploy(self, user_id: str, env: str) -> None:
        if not self._access.may_deploy(user_id, env):
            roles = ", ".join(f"`{r}`" for r in self._config.environments[env].deployers)
            raise Forbidden(f"You may not deploy to {env}: that needs the {roles} role. "
                            "Ask a platform admin to add you in app.yaml.")

    def _check_version(self, args: DeployArgs) -> DeployArgs:
        """`args` with the tag to deploy: Conflict (with the nearest tags) when the version is
        neither a tag of the service's GitHub repository nor a release's name (then its tag is
        deployed and recorded, the name kept in `release`); unchanged without a repository."""
        if self._versions is None:
            return args
        tag = self._versions.check(args.service, args.version)
        return args if tag == args.version else replace(args, version=tag,
                                                        release=args.version)

    def _check_free(self, environment: str, service: str, *, user_id: str, at: datetime,
                    kind: Kind = Kind.DEPLOY, deployment_id: int | None = None,
                    prefix: str = "") -> None:
        """Refuse at once, before a card is posted, when someone else's lock holds the
        service there (`Locked`; a rollback passes) or another deployment of it is in flight
        (`DeploymentBusy`: the database would refuse it anyway when it is queued)."""
        self._locks.check(environment, service, user_id=user_id, at=at, kind=kind,
                          prefix=prefix)
        with self._store.transaction() as r:
            active = r.deployments.active_for(environment, service)
        if active is not None and active.id != deployment_id:
            raise DeploymentBusy(active, environment=environment, service=service,
                                 prefix=prefix)

    def running_version(self, env: str, service: str) -> str | None:
        """The version running there: the last one deploybot rolled out, else the
        cluster's answer (e.g. right after installing the bot)."""
        with self._store.transaction() as r:
            previous = r.deployments.last_succeeded_version(env, service)
        if previous is None:  # nothing deployed by us yet: ask the cluster (outside the tx)
            previous = self._cluster.current_version(env, service)
        return previous

    def _preflight(self, args: DeployArgs, *, user_id: str,
                   at: datetime) -> tuple[str | None, str | None]:
        """Everything a request must pass before a card is posted, read in one transaction
        (this is the busiest path): someone else's lock, another deployment in flight, a
        version marked faulty without `--force`, the promotion gate. Returns the version
        deploybot last rolled out there (None: ask the cluster) and the environment whose
        promotion gate an emergency skips (None: none skipped)."""
        env, svc = args.environment, args.service
        source = self._config.environments[env].promote_from
        with self._store.transaction() as r:
            lock = r.locks.get(env, svc, at=at)
            # A per-PR instance (args.instance) has its own one in flight and versions.
            active = r.deployments.active_for(env, svc, args.instance)
            mark = r.faulty.get(env, svc, args.version)
            previous = r.deployments.last_succeeded_version(env, svc, args.instance)
            promoted = source is None or r.deployments.succeeded_there(source, svc,
                                                                       args.version)
        self._locks.refuse(lock, user_id=user_id, at=at)
        if active is not None:
            raise DeploymentBusy(active, environment=env, service=svc)
        self._refuse_faulty(args, mark)
        self._refuse_unpromoted(args, source, promoted)
        return previous, (None if promoted else source)

    def _check_promoted(self, args: DeployArgs) -> None:
        source = self._config.environments[args.environment].promote_from
        if source is None:
            return
        with self._store.transaction() as r:
            promoted = r.deployments.succeeded_there(source, args.service, args.version)
        self._refuse_unpromoted(args, source, promoted)

    def _refuse_unpromoted(self, args: DeployArgs, source: str | None, promoted: bool) -> None:
        """The promotion gate (environments.<name>.promote_from): only a version that
        succeeded in `source` first, unless emergency."""
        if promoted or source is None or args.emergency_reason is not None:
            return
        env, v = args.environment, args.version
        raise Conflict(
            f"`{v}` has not succeeded in {source} yet: {env} takes only versions that went "
            f"live and passed their checks in {source} first. Deploy it to {source} "
            f"(`/deploy {args.service} {source} {v}`), or, if {env} is broken, use "
            "`--emergency \"reason\"`.")

    def _check_not_faulty(self, args: DeployArgs) -> None:
        with self._store.transaction() as r:
            mark = r.faulty.get(args.environment, args.service, args.version)
        self._refuse_faulty(args, mark)

    def _refuse_faulty(self, args: DeployArgs, mark: FaultyMark | None) -> None:
        """A version marked faulty there (rolled back from) needs `--force "reason"`."""
        if mark is None or args.force_reason is not None:
            return
        raise Conflict(
            f"`{args.version}` of {args.service} is marked faulty in {args.environment}: "
            f"{reason_text(mark.reason)} (<@{mark.marked_by}>, "
            f"{local(mark.marked_at, self._config.zone)}). To deploy it anyway, say why: "
            f"`/deploy {args.service} {args.environment} {args.version} --force \"reason\"`.")

    def request(self, args: DeployArgs, *, user_id: str,
                slack_channel: str | None = None) -> Deployment:
        self._check_may_deploy(user_id, args.environment)
        args = self._check_version(args)  # asks GitHub: outside any transaction
        return self._place(args, user_id=user_id, slack_channel=slack_channel)

    def request_automatic(self, args: DeployArgs, *, source: str) -> Deployment:
        """A deploy asked for by an event (a GitHub push or pull request), requested by
        `source` (config github.auto_deployer). It skips only what belongs to a human
        request: the deployers role check, and the tag check (its version is a commit, not a
        tag). Locks, the one-in-flight rule, faulty marks, the promotion gate, windows,
        freezes and approvals apply as to everyone (UserError when refused)."""
        return self._place(args, user_id=source, slack_channel=None)

    def _place(self, args: DeployArgs, *, user_id: str,
               slack_channel: str | None) -> Deployment:
        env = args.environment
        at = self._clock.now()
        previous, skipped_gate = self._preflight(args, user_id=user_id, at=at)
        window = self._window(args, at=at)
        if not window.allowed:
            raise WindowClosed(args, window, self._config.zone)
        emergency = args.emergency_reason is not None
        required, expires_at = self._approval_needed(env, emergency=emergency)
        if previous is None and args.instance is None:
            # nothing deployed by us yet: ask the cluster (outside the tx)
            previous = self._cluster.current_version(env, args.service)
        with self._store.transaction() as r:
            d = r.deployments.add(NewDeployment(
                service=args.service,
                environment=env,
                version=args.version,
                previous_version=previous,
                state=State.AWAITING_APPROVAL if required else State.QUEUED,
                requested_by=user_id,
                requested_at=at,
                approvals_required=required,
                expires_at=expires_at,
                emergency_reason=args.emergency_reason,
                instance=args.instance,
            ))
            details: dict[str, object] = {"service": d.service, "environment": env,
                                          "version": d.version, "previous_version": previous}
            if args.instance is not None:
                details["instance"] = args.instance  # a pull request's preview
            if args.release is not None:
                details["release"] = args.release  # asked for by its release name
            if emergency:
                details |= {"emergency_reason": args.emergency_reason,
                            "overrides": list(window.reasons)}
                if skipped_gate is not None:
                    details["skipped_promotion_gate"] = skipped_gate
            if args.force_reason is not None:
                mark = r.faulty.get(env, args.service, args.version)
                if mark is not None:
                    details |= {"forced_over_faulty": args.force_reason,
                                "faulty_reason": mark.reason}
            r.audit.record("deploy.emergency_requested" if emergency else "deploy.requested",
                           actor=user_id, at=at, deployment_id=d.id, details=details,
                           slack_channel=slack_channel)
        d = self._post_card(d)
        if self._checklist is not None:
            self._checklist.requested(d)
        if emergency:
            self._safe(self._notifier.alert, d, list(window.reasons))
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    def request_migration(self, environment: str, service: str, target: tuple[str, ...], *,
                          user_id: str, slack_channel: str | None = None) -> Deployment:
        """`/migrate <env> [service] <target>`: run the migrations to `target` from the image
        running now (the guide's migration rollback), with the approval a deploy to
        `environment` needs; it follows the rollback rule for deploy windows."""
        self._check_may_deploy(user_id, environment)
        migrations = self._config.services[service].migrations
        if migrations is None:
            raise UserError(f"`{service}` has no migrations configured "
                            f"(services.{service}.migrations in app.yaml).")
        at = self._clock.now()
        self._check_free(environment, service, user_id=user_id, at=at, kind=Kind.MIGRATE)
        window = self._policy.check_rollback(environment, service, at=at)
        if not window.allowed:
            raise Conflict(f"Not now: migration runs in {environment} follow the deploy "
                           f"window, and it is closed — {'; '.join(window.reasons)}.")
        running = self.running_version(environment, service)
        if running is None:
            raise Conflict(f"I do not know which version of {service} runs in {environment}, "
                           "so I cannot tell which image to run the migrations from. Deploy "
                           "it with deploybot first.")
        required, expires_at = self._approval_needed(environment, emergency=False)
        text = " ".join(target)
        with self._store.transaction() as r:
            d = r.deployments.add(NewDeployment(
                service=service, environment=environment, version=running,
                previous_version=running,
                state=State.AWAITING_APPROVAL if required else State.QUEUED,
                requested_by=user_id, requested_at=at, approvals_required=required,
                expires_at=expires_at, kind=Kind.MIGRATE, target=text,
            ))
            r.audit.record("migrate.requested", actor=user_id, at=at, deployment_id=d.id,
                           details={"service": service, "environment": environment,
                                    "target": text, "image_version": running,
                                    "command": migrations.command_to(target)},
                           slack_channel=slack_channel)
        d = self._post_card(d)
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    def _post_card(self, d: Deployment) -> Deployment:
        """Post the new deployment's card and thread; cancel it if Slack will not take it."""
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
        return replace(d, channel=refs.channel, message_ts=refs.message_ts,
                       record_ts=refs.record_ts)

    def _cancel_unposted(self, d: Deployment, why: str) -> None:
        at = self._clock.now()
        with self._store.transaction() as r:
            r.deployments.transition(d.id, State.CANCELLED, at=at, finished_at=at,
                                     error=f"request could not be posted: {why}")
            r.audit.record("deploy.cancelled", actor="deploybot", at=at, deployment_id=d.id,
                           details={"reason": why})

    # -- waiting for a window ------------------------------------------------------------
    def schedule_for_window(self, args: DeployArgs, *, user_id: str) -> Deployment:
        """Queue a refused deploy for the moment its window opens (the requester confirms
        then). If the window is open already, this is a plain request."""
        self._check_may_deploy(user_id, args.environment)
        args = self._check_version(args)
        self._check_not_faulty(args)
        self._check_promoted(args)
        at = self._clock.now()
        self._locks.check(args.environment, args.service, user_id=user_id, at=at)
        window = self._window(args, at=at)
        if window.allowed:
            return self.request(args, user_id=user_id)
        if window.next_allowed_at is None:
            raise Conflict("No deploy window opens in the next 60 days; nothing was queued. "
                           "Use `--emergency \"reason\"` if this cannot wait.")
        with self._store.transaction() as r:
            same = r.deployments.find_scheduled(
                service=args.service, environment=args.environment, version=args.version,
                requested_by=user_id)
        if same is not None:  # a second click on the same "Queue it" button
            return same
        previous = self.running_version(args.environment, args.service)
        with self._store.transaction() as r:
            d = r.deployments.add(NewDeployment(
                service=args.service, environment=args.environment, version=args.version,
                previous_version=previous, state=State.SCHEDULED, requested_by=user_id,
                requested_at=at, approvals_required=0, expires_at=None,
                not_before=window.next_allowed_at,
            ))
            r.audit.record("deploy.scheduled", actor=user_id, at=at, deployment_id=d.id,
                           details={"service": d.service, "environment": d.environment,
                                    "version": d.version,
                                    "not_before": window.next_allowed_at.isoformat(),
                                    "reasons": list(window.reasons)})
        return self._post_card(d)

    def prompt_due(self, *, at: datetime) -> list[int]:
        """Ask each requester whose window has opened to confirm their queued deploy, and
        expire the queued deploys nobody started in time (`start_within`)."""
        self._expire_unanswered(at=at)
        prompted: list[int] = []
        with self._store.transaction() as r:
            due = list(r.deployments.due_scheduled(at))
        for i in due:
            with self._store.transaction() as r:
                if not r.deployments.mark_prompted(i, at=at):
                    continue  # another process took it
                r.audit.record("deploy.window_open", actor="deploybot", at=at, deployment_id=i)
                d = self._get(r, i)
            try:
                self._notifier.prompt_requester(d)
            except DeploybotError:
                log.warning("deployment %s: could not ask the requester; will retry", i,
                            exc_info=True)
                with self._store.transaction() as r:
                    r.deployments.set_fields(i, prompted_at=None)
                continue
            self._safe_show(d)
            prompted.append(i)
        return prompted

    def _expire_unanswered(self, *, at: datetime) -> None:
        shortest = min(e.start_within for e in self._config.environments.values())
        with self._store.transaction() as r:
            candidates = list(r.deployments.unanswered(prompted_before=at - shortest))
        for i in candidates:
            with self._store.transaction() as r:
                d = self._get(r, i)
                limit = self._config.environments[d.environment].start_within
                if d.prompted_at is None or d.prompted_at > at - limit:
                    continue
                if not r.deployments.transition(
                        i, State.EXPIRED, at=at, finished_at=at,
                        error=f"not started within {limit} of the window opening"):
                    continue
                r.audit.record("deploy.expired", actor="deploybot", at=at, deployment_id=i,
                               details={"reason": "queued deploy not started"})
                d = self._get(r, i)
            self._safe_show(d)
            self._safe_notify(d)

    def confirm_scheduled(self, deployment_id: int, *, user_id: str) -> Deployment:
        """The requester says go: the queued deploy enters approval (or runs) if the window
        is still open; otherwise it waits for the next one."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = self._get(r, deployment_id)
        if d.requested_by != user_id:
            raise Forbidden(f"Only <@{d.requested_by}>, who queued deployment #{d.id}, can "
                            "start it.")
        if d.state is not State.SCHEDULED:
            raise Conflict(f"Deployment #{d.id} is no longer waiting for its window "
                           f"({d.state.value.replace('_', ' ')}).")
        self._check_may_deploy(user_id, d.environment)
        self._check_free(d.environment, d.service, user_id=user_id, at=at, kind=d.kind)
        window = self._window(d, at=at)
        if not window.allowed:
            nxt = window.next_allowed_at
            with self._store.transaction() as r:
                r.deployments.set_fields(d.id, not_before=nxt, prompted_at=None)
                d = self._get(r, d.id)
            self._safe_show(d)
            when_ = f" I will ask you again at {local(nxt, self._config.zone)}." if nxt else ""
            raise Conflict(f"The deploy window closed again: {'; '.join(window.reasons)}."
                           + when_)
        required, expires_at = self._approval_needed(d.environment, emergency=False)
        target = State.AWAITING_APPROVAL if required else State.QUEUED
        with self._store.transaction() as r:
            if not r.deployments.transition(d.id, target, at=at, expires_at=expires_at,
                                            approvals_required=required):
                raise Conflict(f"Deployment #{d.id} changed meanwhile; nothing was done.")
            r.audit.record("deploy.confirmed", actor=user_id, at=at, deployment_id=d.id)
            d = self._get(r, d.id)
        self._safe_show(d)
        if self._checklist is not None:
            self._checklist.requested(d)
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    def cancel(self, deployment_id: int, *, user_id: str) -> Deployment:
        """Cancel a deploy that waits for its window (the requester, or an approver)."""
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"Deployment #{deployment_id} does not exist.")
        if user_id != d.requested_by and not self._access.may_approve(user_id, d.environment):
            raise Forbidden(f"Only <@{d.requested_by}> or an approver for {d.environment} "
                            f"can cancel deployment #{d.id}.")
        if d.state is not State.SCHEDULED:
            hint = " Use its Reject button instead." if d.state is State.AWAITING_APPROVAL else ""
            raise Conflict(f"Deployment #{d.id} is not waiting for a window "
                           f"({d.state.value.replace('_', ' ')}); it cannot be cancelled."
                           + hint)
        with self._store.transaction() as r:
            if not r.deployments.transition(d.id, State.CANCELLED, at=at, finished_at=at,
                                            error=f"cancelled by <@{user_id}>"):
                raise Conflict(f"Deployment #{d.id} changed meanwhile; nothing was done.")
            r.audit.record("deploy.cancelled", actor=user_id, at=at, deployment_id=d.id)
            d = self._get(r, d.id)
        self._metrics.deployment_finished(d.environment, State.CANCELLED.value)
        self._safe_show(d)
        return d

    # -- approve / reject ------------------------------------------------------------
    def decide(self, deployment_id: int, *, user_id: str, approve: bool,
               slack_channel: str | None = None, slack_ts: str | None = None) -> DecisionResult:
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
            if d is None:
                raise NotFound(f"Deployment #{deployment_id} does not exist.")
        rule = self._rule(d)
        if rule is None or d.state is State.SCHEDULED:
            raise Conflict(f"Deployment #{d.id} does not need approval.")
        is_approver = self._access.may_approve(user_id, d.environment, emergency=d.emergency)
        if approve and d.state is State.AWAITING_APPROVAL:
            window = self._window(d, at=at)  # checked again at approval time
            if not window.allowed:
                nxt = window.next_allowed_at
                when_ = (f" It can be approved from {local(nxt, self._config.zone)}."
                         if nxt else "")
                raise Conflict(f"Not approved: the deploy window is closed now — "
                               f"{'; '.join(window.reasons)}.{when_}")
            self._check_free(d.environment, d.service, user_id=d.requested_by, at=at,
                             kind=d.kind, deployment_id=d.id, prefix="Not approved: ")
            if self._checklist is not None and is_approver and (
                    user_id != d.requested_by or rule.allow_self_approval):
                self._checklist.gate(d, user_id=user_id)  # asks GitHub again, outside a tx

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
            self._metrics.deployment_finished(d.environment, State.EXPIRED.value)
            self._safe_notify(d)  # as `expire_due` does: the job will not see it again
            raise Conflict(f"Deployment #{d.id} ({d.service} {shown(d.version)} to "
                           f"{d.environment}) expired without enough approvals; "
                           "request it again.")
        self._safe_show(d)
        if started:
            self._metrics.approval_waited(d.environment, (at - d.requested_at).total_seconds())
            self._runner.submit(d.id)
        elif not approve:
            self._metrics.deployment_finished(d.environment, State.REJECTED.value)
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
            self._metrics.deployment_finished(d.environment, State.EXPIRED.value)
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

    def _safe(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except DeploybotError:
            log.warning("could not post to Slack (%s)", getattr(fn, "__name__", fn),
                        exc_info=True)

    def _safe_notify(self, d: Deployment) -> None:
        try:
            self._notifier.notify_requester(d)
        except DeploybotError:
            log.warning("could not notify the requester of deployment %s", d.id, exc_info=True)
