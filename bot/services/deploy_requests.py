"""Requesting a deployment: `/deploy`, automatic deploys (GitHub events), `/migrate`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bot.domain.admission import Admission, Ask, Facts, admit, superseded
from bot.domain.cause import Cause
from bot.domain.commands import DeployArgs, Parsed, UsageError, parse_deploy
from bot.domain.deployment import Deployment, Kind, NewDeployment
from bot.domain.freezes import Freeze
from bot.domain.live import Live, Recorded
from bot.domain.policy import PolicyDecision
from bot.domain.states import State
from bot.domain.text import shown, who
from bot.domain.versions import CommitTag, TagCommit, semver
from bot.errors import (
    Conflict,
    UserError,
)
from bot.ports import Repositories
from bot.services.deploy_base import DeploymentsBase
from bot.services.live import Observation

log = logging.getLogger(__name__)


class RequestUseCases(DeploymentsBase):
    """`/deploy` (and automatic deploys, and `/migrate`): parse, check, record, post the
    card, hand it to approval or to the runner."""

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

    @staticmethod
    def _ask(args: DeployArgs, user_id: str) -> Ask:
        return Ask(kind=Kind.DEPLOY, environment=args.environment, service=args.service,
                   version=args.version, user_id=user_id, instance=args.instance,
                   emergency=args.emergency_reason is not None,
                   forced=args.force_reason is not None)

    def _facts(self, args: DeployArgs, *, at: datetime,
               commit: TagCommit | None = None) -> tuple[Facts, list[Freeze]]:
        """What the admission rules need about a request, read in one transaction (this is
        the busiest path): the lock, the deployment in flight (a per-PR instance has its
        own), the version's faulty mark, the promotion gate's answer — the version itself,
        else `commit`, its tag's commit as an automatic deploy records it, succeeded in
        `promote_from` —; and the freezes the deploy window and the approval expiry are
        decided on."""
        env, svc = args.environment, args.service
        source = self._config.environments[env].promote_from
        promoted_by: str | None = None
        succeeded: Recorded | None = None
        with self._store.transaction() as r:
            lock = r.locks.get(env, svc, at=at)
            active = r.deployments.active_for(env, svc, args.instance)
            mark = r.faulty.get(env, svc, args.version)
            if source is not None:
                succeeded = r.deployments.succeeded_there(source, svc, args.version)
            as_commit = commit.version if commit is not None else None
            if (succeeded is None and source is not None and as_commit is not None
                    and as_commit != args.version):
                succeeded = r.deployments.succeeded_there(source, svc, as_commit)
                promoted_by = as_commit if succeeded is not None else None
            freezes = self._policy.freezes(at=at, within=r)
        return Facts(lock=lock, active=active, faulty=mark, promote_from=source,
                     promoted=source is None or succeeded is not None,
                     promoted_by=promoted_by, succeeded=succeeded,
                     commit=commit if source is not None else None), freezes

    def _promotion_commit(self, args: DeployArgs) -> TagCommit | None:
        """The commit the version's tag points at, when a promotion gate looks for it too
        (services with `github:`): known since the tag check, else asked now — outside any
        transaction. None: no gate there, or no GitHub."""
        if (self._versions is None or args.instance is not None
                or self._config.environments[args.environment].promote_from is None):
            return None
        return self._versions.commit(args.service, args.version)

    def _running_tag(self, args: DeployArgs, seen: Observation | None) -> CommitTag | None:
        """What the commit the executor runs there is known as (its tag, or why GitHub
        could not say), when a semantic version is asked for over it: the downgrade rule
        compares the two. None otherwise (no GitHub, not a commit, a per-PR instance)."""
        obs = seen.observed if seen is not None and seen.unreadable is None else None
        if (self._versions is None or obs is None or obs.version is None
                or semver(args.version) is None):
            return None
        return self._versions.commit_tag(args.service, obs.version)

    def request(self, args: DeployArgs, *, user_id: str, slack_channel: str | None = None,
                downgrade_from: str | None = None) -> Deployment:
        """`downgrade_from`: the requester confirmed replacing this (newer) live version."""
        self._check_may_deploy(user_id, args.environment)
        args = self._check_version(args)  # asks GitHub: outside any transaction
        return self._place(args, user_id=user_id, slack_channel=slack_channel,
                           downgrade_from=downgrade_from, commit=self._promotion_commit(args))

    def request_automatic(self, args: DeployArgs, *, source: str,
                          cause: Cause | None = None) -> Deployment:
        """A deploy asked for by an event (a GitHub push or pull request), requested by
        `source` (config github.auto_deployer); `cause` (what moved on GitHub) is kept with
        it and audited. It skips only what belongs to a human request: the deployers role
        check, and the tag check (its version is a commit, not a tag). Locks, the
        one-in-flight rule, faulty marks, the promotion gate, windows, freezes and approvals
        apply as to everyone (UserError when refused)."""
        return self._place(args, user_id=source, slack_channel=None, cause=cause)

    def _place(self, args: DeployArgs, *, user_id: str, slack_channel: str | None,
               downgrade_from: str | None = None,
               commit: TagCommit | None = None, cause: Cause | None = None) -> Deployment:
        env = args.environment
        at = self._clock.now()
        ask = self._ask(args, user_id)
        facts, freezes = self._facts(args, at=at, commit=commit)
        # Refused on what the database says before the executor and the policy are asked.
        self._refuse(admit(ask, facts), ask, args=args)
        # Nobody but the requester could approve it (reads user groups: off the ack path).
        self._check_approvable(env, emergency=ask.emergency, user_id=user_id)
        window = self._window(args, at=at, freezes=freezes)
        # What runs there now: the executor's answer (outside any transaction), put together
        # with deploybot's record read in the transaction that records the request (one
        # transaction, not two); the card's "Running now", and the runner reads it again when
        # the deployment starts. A per-PR instance: the last version that succeeded there.
        seen = self._live.observe(env, args.service) if args.instance is None else None
        self._refuse_running(args, seen)  # runs already, or scaled to 0: nothing to deploy
        live_tag = self._running_tag(args, seen)  # asks GitHub (kept): outside the transaction
        live: Live | None = None
        d: Deployment | None = None
        try:
            with self._store.transaction() as r:
                if seen is not None:
                    live = self._live.reconciled(r, seen)
                    previous = live.version
                else:
                    previous = r.deployments.last_succeeded_version(env, args.service,
                                                                    args.instance)
                admission = admit(ask, replace(facts, window=window, live=previous,
                                               live_tag=live_tag,
                                               downgrade_confirmed_from=downgrade_from))
                if admission.first is None:  # refused: nothing is written
                    d = self._record(r, args, admission, user_id=user_id, at=at,
                                     previous=previous, window=window, freezes=freezes,
                                     slack_channel=slack_channel, cause=cause)
        finally:
            if live is not None:
                self._live.report(live)  # drift seen now (after the transaction: its own)
        self._refuse(admission, ask, args=args)  # outside the transaction
        assert d is not None  # admitted
        emergency = args.emergency_reason is not None
        replaced: list[Deployment] = []
        # The card's message ids and the supersession in one transaction, not three.
        d = self._post_card(d, then=lambda r, new: replaced.extend(
            self._supersede(r, new, at=at)))
        for old in replaced:
            self._metrics.deployment_finished(old.environment, State.CANCELLED.value)
            self._safe_show(old)
            self._safe_notify(old)
            for decision in old.approvers:  # their approval went with it: told once, here
                self._safe(self._notifier.notify_approval_dropped, old, d, decision.user_id)
        if self._checklist is not None:
            self._checklist.requested(d)
        if emergency:
            self._safe(self._notifier.alert, d, list(window.reasons))
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    def _record(self, r: Repositories, args: DeployArgs, admission: Admission, *,
                user_id: str, at: datetime, previous: str | None, window: PolicyDecision,
                freezes: list[Freeze], slack_channel: str | None,
                cause: Cause | None = None) -> Deployment:
        """Insert the admitted request and its audit event, in the caller's transaction."""
        env = args.environment
        confirmed, skipped_gate = admission.downgrade_from, admission.skipped_gate
        emergency = args.emergency_reason is not None
        required, expires_at = self._approval_needed(env, emergency=emergency,
                                                     service=args.service, freezes=freezes)
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
            downgrade_from=confirmed,
            promotion=admission.promotion,
            cause=cause,
        ))
        details: dict[str, object] = {"service": d.service, "environment": env,
                                      "version": d.version, "previous_version": previous}
        if cause is not None:
            details["cause"] = cause.as_dict()  # what moved on GitHub
        if confirmed is not None:
            details["downgrade_from"] = confirmed  # confirmed by name
        if args.instance is not None:
            details["instance"] = args.instance  # a pull request's preview
        if args.release is not None:
            details["release"] = args.release  # asked for by its release name
        if admission.promoted_by is not None:  # the gate passed for the tag's commit
            details["promoted_by"] = {"commit": admission.promoted_by, "tag": d.version,
                                      "source": self._config.environments[env].promote_from}
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
                       slack_channel=slack_channel, environment=env)
        return d

    def _supersede(self, r: Repositories, new: Deployment, *,
                   at: datetime) -> list[Deployment]:
        """Older requests for the same service and environment that still wait (for
        approval or their window) are superseded by `new`: cancelled by a conditional
        update (an approval racing it wins or loses whole), in the caller's transaction.
        What it cancelled, as now: after the commit, their cards say by which and their
        requesters are told."""
        cancelled: list[Deployment] = []
        waiting = r.deployments.waiting_for(new.environment, new.service, new.instance)
        for old in superseded(new, waiting):
            why = f"superseded by #{new.id} ({shown(new.version)}, requested by " \
                  f"{who(new.requested_by)})"
            if not r.deployments.transition(old.id, State.CANCELLED, at=at, finished_at=at,
                                            error=why, superseded_by=new.id):
                continue  # approved (or ended) meanwhile: it stands
            r.audit.record("deploy.superseded", actor=new.requested_by, at=at,
                           deployment_id=old.id, environment=old.environment,
                           details={"by": new.id, "version": old.version,
                                    "newer_version": new.version})
            cancelled.append(self._get(r, old.id))
        return cancelled

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
        self._check_approvable(environment, emergency=False, user_id=user_id,
                               what="migration run in")
        required, expires_at = self._approval_needed(environment, emergency=False,
                                                     service=service, kind=Kind.MIGRATE)
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
