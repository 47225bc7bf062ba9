"""The shared part of the deployment request use cases (bot.services.deployments): the
protocols they need, their collaborators, and the helpers they share.

Each use case is one transaction on the store, then the side effects (Slack messages,
handing work to the runner) after it commits. Nothing relies on process memory to be
correct.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from bot.config import AppConfig
from bot.config.environments import ApprovalConfig, EmergencyConfig
from bot.domain.admission import Admission, Ask, Decision, Facts, Rule, admit
from bot.domain.approval import ApprovalRule
from bot.domain.approver_shortage import ApproverRule, shortage
from bot.domain.busy import DeploymentBusy
from bot.domain.commands import DeployArgs
from bot.domain.deployment import Deployment, Kind
from bot.domain.freezes import Freeze
from bot.domain.live import Live
from bot.domain.locks import Lock
from bot.domain.policy import PolicyDecision, local
from bot.domain.states import State
from bot.domain.text import error_text
from bot.domain.versions import TagCommit
from bot.errors import (
    Conflict,
    DeploybotError,
    Forbidden,
    NotFound,
    RetryableError,
)
from bot.ports import Clock, Cluster, Metrics, NoMetrics, Notifier, Repositories, Store
from bot.services.access import Access
from bot.services.live import LiveState, Observation
from bot.services.locks import LockService
from bot.services.policy import PolicyService, WindowStatus
from bot.services.refusals import (
    AlreadyQueued,
    DowngradeUnconfirmed,
    RunsAlready,
    WindowClosed,
)
from bot.services.runner import window_for
from bot.services.versions import VersionCheck

log = logging.getLogger(__name__)


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
    running: Sequence[Live]  # live per environment and service (or last known)
    recent: Sequence[Deployment]
    at: datetime
    locks: Sequence[Lock] = ()  # in force at `at` (a rollback's, and those set with /lock)
    windows: Sequence[WindowStatus] = ()  # each environment's deploy window at `at`


@dataclass(frozen=True)
class DecisionResult:
    deployment: Deployment
    approve: bool
    started: bool  # this decision released the deployment to the runner

class DeploymentsBase:
    """What every use case of a deployment request shares: its collaborators, the rules
    that say which approval and window apply, the checks run before a card is posted,
    and the card and requester updates that must not fail the use case."""

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
        live: LiveState,
    ) -> None:
        self._live = live  # what runs where: the one answer
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

    def _approval(self, environment: str, *, emergency: bool
                  ) -> tuple[str, ApprovalConfig | EmergencyConfig] | None:
        """The approval rule a request waits on, with its app.yaml key: the emergency one,
        else the environment's (None: it needs no approval)."""
        if emergency:
            return "emergency", self._config.emergency
        a = self._config.environments[environment].approval
        return (f"environments.{environment}.approval", a) if a else None

    def _rule(self, d: Deployment) -> ApprovalRule | None:
        found = self._approval(d.environment, emergency=d.emergency)
        return ApprovalRule(found[1].required, found[1].allow_self_approval) if found else None

    def _check_approvable(self, environment: str, *, emergency: bool, user_id: str,
                          what: str = "deploy to") -> None:
        """Conflict when the approvers the request would wait on cannot give the approvals
        it needs (only the requester, with self-approval off): it could only expire. Groups
        are read in Slack (cached); when they cannot be, the request goes on."""
        found = self._approval(environment, emergency=emergency)
        rule = None if found is None else ApproverRule(
            found[1].required, found[1].allow_self_approval, found[1].approvers,
            self._config.roles, found[0], emergency=emergency)
        members = None if rule is None else self._access.known_members(rule.refs)
        refusal = None if rule is None or members is None else shortage(
            rule, members, requester=user_id,
            what=f"this {'emergency ' if emergency else ''}{what} {environment}")
        if refusal is not None:
            raise Conflict(refusal)

    def _approval_needed(self, environment: str, *, emergency: bool,
                         service: str | None = None, kind: Kind = Kind.DEPLOY,
                         freezes: Sequence[Freeze] | None = None,
                         ) -> tuple[int, datetime | None]:
        """(approvals required, expiry) for a request entering approval now.

        The expiry is never later than the moment the request could still start: it is
        clipped to the next closing of its deploy window (the schedule closing, a freeze
        starting; of any service when `service` is None). An emergency ignores windows, and
        so do migration runs and rollbacks where the rollback rule lets them. `freezes`: the
        freezes the request read already (PolicyService.freezes)."""
        at = self._clock.now()
        if emergency:
            e = self._config.emergency
            return e.required, at + e.expires_after
        approval = self._config.environments[environment].approval
        if approval is None:
            return 0, None
        expires_at = at + approval.expires_after
        ignores = (kind is not Kind.DEPLOY
                   and self._config.environments[environment].rollbacks.ignore_windows)
        closes = None if ignores else self._policy.closes_at(environment, service, at=at,
                                                              freezes=freezes)
        if closes is not None and closes > at:
            expires_at = min(expires_at, closes)
        return approval.required, expires_at

    def _window(self, args: DeployArgs | Deployment, *, at: datetime,
                freezes: Sequence[Freeze] | None = None) -> PolicyDecision:
        if isinstance(args, Deployment) and args.kind is not Kind.DEPLOY:
            return window_for(self._policy, args, at=at)
        emergency = (args.emergency_reason is not None)
        return self._policy.check(args.environment, args.service, at=at, emergency=emergency,
                                  freezes=freezes)

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
        with self._store.transaction() as r:
            lock = r.locks.get(environment, service, at=at)
            active = r.deployments.active_for(environment, service)
        ask = Ask(kind=kind, environment=environment, service=service, version="",
                  user_id=user_id, deployment_id=deployment_id)
        self._refuse(admit(ask, Facts(lock=lock, active=active)), ask, prefix=prefix)

    def _check_decision(self, d: Deployment, *, user_id: str, approve: bool,
                        is_approver: bool, rule: ApprovalRule, at: datetime) -> None:
        """The approval rules for this decision (bot.domain.admission, `Decision`)."""
        ask = Ask(kind=d.kind, environment=d.environment, service=d.service,
                  version=d.version, user_id=user_id, instance=d.instance,
                  deployment_id=d.id)
        self._refuse(admit(ask, Facts(decision=Decision(
            deployment=d, user_id=user_id, approve=approve, is_approver=is_approver,
            rule=rule, at=at))), ask)

    def _refuse(self, admission: Admission, ask: Ask, *, args: DeployArgs | None = None,
                prefix: str = "") -> None:
        """Raise the first refusal of `admission` as the user's error (nothing when it
        admits): the rules are decided in bot.domain.admission, the words are here."""
        refusal = admission.first
        if refusal is None:
            return
        env, svc, v = ask.environment, ask.service, ask.version
        match refusal.rule:
            case Rule.APPROVAL if refusal.error is not None:
                raise refusal.error
            case Rule.LOCK:
                # A version marked faulty there too (an abort or a rollback leaves both):
                # one answer names both obstacles and the way through both.
                faulty = admission.refused(Rule.FAULTY) is not None
                self._locks.refuse(refusal.lock, user_id=ask.user_id, at=self._clock.now(),
                                   kind=ask.kind, prefix=prefix, faulty=v if faulty else None)
            case Rule.IN_FLIGHT:
                raise DeploymentBusy(refusal.active, environment=env, service=svc,
                                     prefix=prefix)
            case Rule.FAULTY if refusal.faulty is not None:
                mark = refusal.faulty  # its reason is a rollback's, deploybot's own words
                raise Conflict(
                    f"`{v}` of {svc} is marked faulty in {env}: {error_text(mark.reason)} "
                    f"(<@{mark.marked_by}>, {local(mark.marked_at, self._config.zone)}). To "
                    f"deploy it anyway, say why: `/deploy {svc} {env} {v} --force \"reason\"`.")
            case Rule.PROMOTION if refusal.source is not None:
                self._refuse_unpromoted(refusal.source, refusal.commit, ask)
            case Rule.WINDOW if refusal.window is not None:
                if args is not None:
                    queued = self._queued_already(args)
                    if queued is not None:  # asked again: no second one offered
                        raise AlreadyQueued(queued, self._config.zone, asked_by=ask.user_id)
                    raise WindowClosed(args, refusal.window, self._config.zone)
                raise Conflict(f"{prefix}the deploy window is closed now — "
                               f"{'; '.join(refusal.window.reasons)}.")
            case Rule.DOWNGRADE if refusal.downgrade is not None:
                raise DowngradeUnconfirmed(refusal.downgrade, environment=env, service=svc,
                                           request=args, deployment_id=ask.deployment_id)
        raise Conflict(f"{prefix}{svc} cannot go to {env} now ({refusal.rule.value}).")

    def _refuse_running(self, args: DeployArgs, seen: Observation | None) -> None:
        """Conflict when the executor, read just now (`seen`), runs nothing there because
        its workload is scaled to 0 (any version: it would run nothing); RunsAlready when it
        runs this very version there, settled. Nothing when it could not be read
        (deploybot's record is never the reason), runs something else, or is still rolling
        out (or stuck) on it."""
        obs = seen.observed if seen is not None and seen.unreadable is None else None
        if obs is not None and obs.stopped:  # scaled to 0: a deploy would run nothing
            what = ("and a deploy of the same image changes nothing"
                    if obs.version == args.version else
                    f"so a deploy of `{args.version}` would change its template and run "
                    "nothing (and could not be verified)")
            raise Conflict(f"Nothing runs of {args.service} in {args.environment}: its "
                           f"Deployment is scaled to 0 replicas, {what}. Scale it up "
                           "(`kubectl scale --replicas=N`) first.")
        if seen is None or obs is None or obs.version != args.version or not obs.settled:
            return
        with self._store.transaction() as r:
            live = self._live.reconciled(r, seen)  # since when: the one answer
        raise RunsAlready(live, self._config.zone,
                          executor=self._config.services[args.service].executor)

    def _queued_already(self, args: DeployArgs) -> Deployment | None:
        """The deploy of this very version waiting for its window there (anyone's), if any:
        asked again while the window is closed, the answer names it."""
        with self._store.transaction() as r:
            waiting = r.deployments.waiting_for(args.environment, args.service, args.instance)
        return next((d for d in waiting if d.state is State.SCHEDULED
                     and d.kind is Kind.DEPLOY and d.version == args.version), None)

    def _refuse_unpromoted(self, source: str, commit: TagCommit | None, ask: Ask) -> None:
        """The promotion gate's refusal: neither the version nor its tag's commit (`commit`:
        what GitHub said, or why it could not be asked) succeeded in `source`. RetryableError
        when GitHub could not be asked for the commit: it may well have succeeded there."""
        env, svc, v = ask.environment, ask.service, ask.version
        there = self._live.of(source, svc, announce=False)  # the live version there
        outside = (f" It runs in {source} now, but deploybot did not put it there "
                   "(changed outside deploybot), so nothing checked it."
                   if there.version == v and there.drift else "")
        rule = (f"{env} takes only versions that went live and passed their checks in "
                f"{source} first.{outside}")
        how = (f"Deploy it to {source} (`/deploy {svc} {source} {v}`), or, if {env} is broken, "
               "use `--emergency \"reason\"`.")
        if commit is not None and commit.unknown is not None:
            raise RetryableError(
                f"`{v}` has not succeeded in {source} yet, and GitHub could not be asked which "
                f"commit the tag `{commit.tag}` points at ({commit.unknown.rstrip('.')}), so "
                f"I cannot tell whether that commit did (a push deploys a commit, not its "
                f"tag): {rule} {how}")
        if commit is not None and commit.version is not None and commit.version != v:
            raise Conflict(
                f"`{v}` has not succeeded in {source} yet, nor has its commit "
                f"`{commit.version}` (as a push to a branch deploys it): {rule} {how}")
        raise Conflict(f"`{v}` has not succeeded in {source} yet: {rule} {how}")

    def running_version(self, env: str, service: str) -> str | None:
        """The version running there: the executor's answer (the source of truth), else
        deploybot's last record when the executor cannot be read; None when unknown."""
        return self._live.version(env, service)

    def _post_card(self, d: Deployment, *,
                   then: Callable[[Repositories, Deployment], None] | None = None,
                   ) -> Deployment:
        """Post the new deployment's card and thread; cancel it if Slack will not take it.
        `then`: more work in the transaction that records the card's message ids (handed
        the deployment with them)."""
        try:
            refs = self._notifier.show(d)
        except DeploybotError as e:
            self._cancel_unposted(d, str(e))
            raise RetryableError(  # the handler adds "please try again"
                f"Deployment #{d.id} was cancelled: I could not post the request in the "
                f"deployments channel ({e})."
            ) from e
        posted = replace(d, channel=refs.channel, message_ts=refs.message_ts,
                         record_ts=refs.record_ts)
        with self._store.transaction() as r:
            r.deployments.record_messages(d.id, channel=refs.channel,
                                          message_ts=refs.message_ts, record_ts=refs.record_ts)
            if then is not None:
                then(r, posted)
        return posted

    def _cancel_unposted(self, d: Deployment, why: str) -> None:
        at = self._clock.now()
        with self._store.transaction() as r:
            r.deployments.transition(d.id, State.CANCELLED, at=at, finished_at=at,
                                     error=f"request could not be posted: {why}")
            r.audit.record("deploy.cancelled", actor="deploybot", at=at, deployment_id=d.id,
                           details={"reason": why})

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
