"""Requesting a deployment: `/deploy`, automatic deploys (GitHub events), `/migrate`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.domain.admission import downgrade, older, superseded
from bot.domain.busy import DeploymentBusy
from bot.domain.commands import DeployArgs, Parsed, UsageError, parse_deploy
from bot.domain.deployment import Deployment, Kind, NewDeployment
from bot.domain.faulty import FaultyMark
from bot.domain.policy import local
from bot.domain.states import State
from bot.domain.text import reason_text, shown, who
from bot.errors import (
    Conflict,
    UserError,
)
from bot.services.deploy_base import DeploymentsBase, DowngradeUnconfirmed, WindowClosed

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

    def request(self, args: DeployArgs, *, user_id: str, slack_channel: str | None = None,
                downgrade_from: str | None = None) -> Deployment:
        """`downgrade_from`: the requester confirmed replacing this (newer) live version."""
        self._check_may_deploy(user_id, args.environment)
        args = self._check_version(args)  # asks GitHub: outside any transaction
        return self._place(args, user_id=user_id, slack_channel=slack_channel,
                           downgrade_from=downgrade_from)

    def request_automatic(self, args: DeployArgs, *, source: str) -> Deployment:
        """A deploy asked for by an event (a GitHub push or pull request), requested by
        `source` (config github.auto_deployer). It skips only what belongs to a human
        request: the deployers role check, and the tag check (its version is a commit, not a
        tag). Locks, the one-in-flight rule, faulty marks, the promotion gate, windows,
        freezes and approvals apply as to everyone (UserError when refused)."""
        return self._place(args, user_id=source, slack_channel=None)

    def _place(self, args: DeployArgs, *, user_id: str, slack_channel: str | None,
               downgrade_from: str | None = None) -> Deployment:
        env = args.environment
        at = self._clock.now()
        previous, skipped_gate = self._preflight(args, user_id=user_id, at=at)
        window = self._window(args, at=at)
        if not window.allowed:
            raise WindowClosed(args, window, self._config.zone)
        emergency = args.emergency_reason is not None
        required, expires_at = self._approval_needed(env, emergency=emergency)
        if args.instance is None:
            # What runs there now, from the executor (outside the tx): the card's "Running
            # now"; the runner reads it again when the deployment starts.
            previous = self._live.version(env, args.service)
        dg = downgrade(Kind.DEPLOY, args.version, previous, confirmed_from=downgrade_from)
        if dg is not None:
            raise DowngradeUnconfirmed(dg, environment=env, service=args.service, request=args)
        confirmed = previous if previous is not None and older(args.version, previous) \
            else None
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
                downgrade_from=confirmed,
            ))
            details: dict[str, object] = {"service": d.service, "environment": env,
                                          "version": d.version, "previous_version": previous}
            if confirmed is not None:
                details["downgrade_from"] = confirmed  # confirmed by name
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
        self._supersede(d, at=at)
        if self._checklist is not None:
            self._checklist.requested(d)
        if emergency:
            self._safe(self._notifier.alert, d, list(window.reasons))
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    def _supersede(self, new: Deployment, *, at: datetime) -> None:
        """Older requests for the same service and environment that still wait (for
        approval or their window) are superseded by `new`: cancelled by a conditional
        update (an approval racing it wins or loses whole), their cards saying by which,
        their requesters told."""
        with self._store.transaction() as r:
            waiting = r.deployments.waiting_for(new.environment, new.service, new.instance)
        for old in superseded(new, waiting):
            why = f"superseded by #{new.id} ({shown(new.version)}, requested by " \
                  f"{who(new.requested_by)})"
            with self._store.transaction() as r:
                if not r.deployments.transition(old.id, State.CANCELLED, at=at, finished_at=at,
                                                error=why, superseded_by=new.id):
                    continue  # approved (or ended) meanwhile: it stands
                r.audit.record("deploy.superseded", actor=new.requested_by, at=at,
                               deployment_id=old.id,
                               details={"by": new.id, "version": old.version,
                                        "newer_version": new.version})
                old = self._get(r, old.id)
            self._metrics.deployment_finished(old.environment, State.CANCELLED.value)
            self._safe_show(old)
            self._safe_notify(old)

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
