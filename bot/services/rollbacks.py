"""Rollbacks people ask for: `/rollback <env> [service] [version]` (a plan to confirm, then
a ROLLBACK deployment), and the Rollback / Keep decision after a deploy failed its watch with
automatic rollback off.

The version to go back to comes from deploybot's history (the last version that succeeded and
passed its checks there), or from the cluster's own revision history when that is empty;
versions marked faulty are left out. The runner marks the version left faulty and locks the
service when the rollback starts. A decision on a failed deploy is taken once: under a row
lock, the first click wins and every later one is told who decided what.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from bot.config import AppConfig
from bot.domain.deployment import Deployment, Kind, NewDeployment
from bot.domain.policy import local
from bot.domain.rollback_commands import RollbackArgs, RollbackHelpArgs, parse_rollback
from bot.domain.rollback_plan import RollbackPlan
from bot.domain.states import State
from bot.domain.text import error_text, shown
from bot.domain.versions import is_commit, named
from bot.errors import Conflict, DeploybotError, Forbidden, NotFound
from bot.ports import Clock, Cluster, Notifier, Repositories, Revisions, Store
from bot.services.access import Access
from bot.services.deployments import Submitter
from bot.services.live import LiveState
from bot.services.policy import PolicyService
from bot.services.versions import VersionCheck

log = logging.getLogger(__name__)

Choice = Literal["rollback", "keep"]


@dataclass(frozen=True)
class Decided:
    failed: Deployment  # the deployment that failed its watch, with the decision recorded
    rollback: Deployment | None  # the rollback started, for "rollback"


class RollbackService:
    def __init__(self, *, config: AppConfig, store: Store, notifier: Notifier,
                 cluster: Cluster, access: Access, clock: Clock, runner: Submitter,
                 policy: PolicyService, live: LiveState,
                 versions: VersionCheck | None = None) -> None:
        self._live = live
        self._versions = versions  # a commit running is shown with its tag
        self._config = config
        self._store = store
        self._notifier = notifier
        self._cluster = cluster
        self._access = access
        self._clock = clock
        self._runner = runner
        self._policy = policy

    # -- /rollback ---------------------------------------------------------------------
    def parse(self, text: str) -> RollbackArgs | RollbackHelpArgs:
        cfg = self._config
        return parse_rollback(
            text, environments=cfg.environments.keys(),
            services_in={env: cfg.services_in(env) for env in cfg.environments},
            version_patterns={k: v.version_pattern for k, v in cfg.services.items()})

    def plan(self, args: RollbackArgs, *, user_id: str) -> RollbackPlan:
        """Where `/rollback` would go, checked; raises a user-facing error when it cannot."""
        env, svc = args.environment, args.service
        if not self._access.may_deploy(user_id, env):
            raise Forbidden(f"You may not roll back in {env}: that needs the deployer role "
                            "there.")
        # What runs now, from the executor (deploybot's last record if it cannot be read).
        live = self._live.of(env, svc)
        current = live.version
        with self._store.transaction() as r:
            good = r.deployments.good_versions(env, svc)
            faulty = r.faulty.marked(env, svc)
        if current is None and live.live:  # read: no Deployment, or scaled to zero
            stopped = live.observed is not None and live.observed.stopped
            why, fix = (("its Deployment is scaled to 0 replicas",
                         "scale it up (`kubectl scale --replicas=N`) to run it again")
                        if stopped else
                        ("it has no Deployment there", "create the Deployment again: deploybot "
                         "updates a Deployment, it does not create one"))
            raise Conflict(f"Nothing runs of {svc} in {env} ({why}), so there is nothing to "
                           f"roll back from; {fix}.")
        if current is None:
            raise Conflict(f"I cannot tell which version of {svc} runs in {env}, so there is "
                           "nothing to roll back from.")
        earlier = (self._cluster.earlier_versions(env, svc)
                   if isinstance(self._cluster, Revisions) else [])
        # What ran before what runs now: the cluster's revisions, newest first, win (they
        # also see changes made outside deploybot); deploybot's history of good versions
        # follows, for what the cluster no longer remembers (revisionHistoryLimit) or an
        # executor without revisions. Versions marked faulty are never offered.
        ran = list(dict.fromkeys([*earlier, *good]))
        candidates = tuple(v for v in ran if v != current and v not in faulty)
        listed = ", ".join(f"`{v}`" for v in candidates[:10])
        others = (f"Versions you can roll back to: {listed}." if listed else
                  "No other version is known to roll back to.")
        version, named_as = args.version, None
        if version is not None and version not in {*ran, current, *faulty}:
            # A tag whose commit ran there (an automatic deploy's version) names that run.
            version = self._commit_that_ran(env, svc, version, {*ran, current, *faulty},
                                            others)
            named_as = args.version if version != args.version else None
        if version is None:
            if not candidates:
                raise Conflict(f"No earlier good version of {svc} in {env} is known (from "
                               "deploybot's history or the cluster's), so there is nothing to "
                               "roll back to.")
            target = candidates[0]
        elif version == current:
            label = named(version, named_as) if named_as is not None else shown(version)
            raise Conflict(f"{label} is what runs in {env} now; nothing to roll back. {others}")
        elif version in faulty:
            self._refuse_faulty(env, svc, version, others)
        else:
            target = version
        window = self._policy.check_rollback(env, svc, at=self._clock.now())
        if not window.allowed:
            raise Conflict(f"Rollbacks in {env} follow the deploy window, and it is closed "
                           "now: " + "; ".join(window.reasons) + ".")
        with self._store.transaction() as r:
            leaving = r.deployments.latest_live(env, svc, current)
        migrations = leaving.migrations if leaving is not None and leaving.migrations \
            is not None and leaving.migrations.ok else None
        m = self._config.services[svc].migrations
        hint = " ".join(m.command_to(("<app>", "<previous_migration>"))) if m else None
        env_config = self._config.environments[env]
        required = env_config.approval.required \
            if env_config.rollbacks.approval and env_config.approval is not None else 0
        return RollbackPlan(environment=env, service=svc, current=current, target=target,
                            candidates=candidates, migrations=migrations, migrate_hint=hint,
                            approvals_required=required, named_as=named_as,
                            tags=self._tags(svc, (current, target, *candidates[:6]),
                                            named_as=named_as, target=target))

    def _tags(self, service: str, versions: tuple[str, ...], *, named_as: str | None,
              target: str) -> tuple[tuple[str, str], ...]:
        """The tags of the versions shown that are commits (GitHub's tag list, kept a
        minute; outside any transaction): (commit, tag); the target by the tag it was
        named by when the newest tags do not list it. None known when GitHub cannot say:
        the commit is shown as it is."""
        if self._versions is None:
            return ()
        known = (self._versions.commit_tag(service, v) for v in dict.fromkeys(versions))
        tags = dict((k.commit, k.tag) for k in known if k is not None and k.tag is not None)
        if named_as is not None:
            tags.setdefault(target, named_as)
        return tuple(tags.items())

    def _commit_that_ran(self, env: str, svc: str, version: str, known: set[str],
                         others: str) -> str:
        """The commit the tag `version` points at, when that commit ran in `env` (or runs,
        or is marked faulty there: `known`): a rollback to it deploys the commit, the image
        that ran. Else Conflict: it has not run there — naming its commit and where that
        ran, or why GitHub could not say which commit it is."""
        found = (self._versions.commit(svc, version)
                 if self._versions is not None and not is_commit(version) else None)
        commit = found.version if found is not None else None
        if commit is not None and commit in known:
            return commit
        tail = f"{others} To deploy a new version, use `/deploy`."
        if commit is not None:
            raise Conflict(f"{shown(version)} is commit `{commit}`, which has not run in {env} "
                           "(as far as deploybot and the cluster know), so it is no rollback. "
                           f"{self._ran_elsewhere(env, svc, commit)} {tail}")
        why = "" if found is None or found.unknown is None else (
            f" GitHub could not be asked which commit the tag {shown(version)} is "
            f"({found.unknown.rstrip('.')}), so whether that commit ran there could not be "
            "told: try again in a minute.")
        raise Conflict(f"{shown(version)} has not run in {env} before (as far as deploybot "
                       f"and the cluster know), so it is no rollback.{why} {tail}")

    def _ran_elsewhere(self, env: str, svc: str, commit: str) -> str:
        """Where deploybot took `commit` live (and it passed its checks) other than `env`."""
        with self._store.transaction() as r:
            ran = [(e, r.deployments.succeeded_there(e, svc, commit))
                   for e in self._config.environments
                   if e != env and svc in self._config.services_in(e)]
        where = [f"{e} (deployment #{rec.deployment_id})" for e, rec in ran if rec is not None]
        if not where:
            return "It has not run in any other environment either."
        return "It ran in " + ", ".join(where) + "."

    def _refuse_faulty(self, env: str, svc: str, version: str, others: str) -> None:
        """A rollback never goes to a version marked faulty: why it was marked (a
        rollback's own words), and `/deploy … --force`, which runs it again."""
        with self._store.transaction() as r:
            mark = r.faulty.get(env, svc, version)
        why = "" if mark is None else (
            f": {error_text(mark.reason)} (<@{mark.marked_by}>, "
            f"{local(mark.marked_at, self._config.zone)})")
        raise Conflict(f"{shown(version)} is marked faulty in {env}{why}, so it is no rollback "
                       f"target. {others} To run it again anyway, say why: `/deploy {svc} "
                       f"{env} {version} --force \"reason\"`.")

    def start(self, value: str, *, user_id: str,
              slack_channel: str | None = None) -> Deployment:
        """The confirmation was clicked: plan again (things may have moved meanwhile), then
        queue the rollback (or put it up for approval where the environment says so)."""
        words = value.split()
        if len(words) != 4:
            raise Conflict("That button does not name a rollback; run `/rollback` again.")
        env, svc, target, expected = words
        if env not in self._config.environments or svc not in self._config.services:
            raise Conflict("That button names an environment or service deploybot does not "
                           "know any more; run `/rollback` again.")
        plan = self.plan(RollbackArgs(environment=env, service=svc, version=target),
                         user_id=user_id)
        if plan.current != expected:
            raise Conflict(f"{svc} runs {plan.current} in {env} now, not {expected} as when "
                           "you asked; nothing was done. Run `/rollback` again.")
        at = self._clock.now()
        expires_at = None
        if plan.approvals_required:
            approval = self._config.environments[env].approval
            expires_at = at + approval.expires_after if approval is not None else None
        with self._store.transaction() as r:
            leaving = r.deployments.latest_live(env, svc, plan.current)
            d = r.deployments.add(NewDeployment(
                service=svc, environment=env, version=plan.target,
                previous_version=plan.current,
                state=State.AWAITING_APPROVAL if plan.approvals_required else State.QUEUED,
                requested_by=user_id, requested_at=at,
                approvals_required=plan.approvals_required, expires_at=expires_at,
                kind=Kind.ROLLBACK,
                rollback_of=leaving.id if leaving is not None else None,
            ))
            r.audit.record("rollback.requested", actor=user_id, at=at, deployment_id=d.id,
                           details={"environment": env, "service": svc, "from": plan.current,
                                    "to": plan.target,
                                    "rollback_of": d.rollback_of,
                                    "from_ran_migrations": plan.migrations is not None},
                           slack_channel=slack_channel)
        d = self._show_new(d)
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

    # -- Rollback / Keep after a failed watch ------------------------------------------
    def decide(self, deployment_id: int, choice: Choice, *, user_id: str) -> Decided:
        at = self._clock.now()
        with self._store.transaction() as r:
            d = r.deployments.get(deployment_id)
        if d is None:
            raise NotFound(f"Deployment #{deployment_id} does not exist.")
        if not self._access.may_deploy(user_id, d.environment):
            raise Forbidden(f"You may not roll back or keep versions in {d.environment}: that "
                            "needs the deployer role there.")
        self._check_open(d)
        if choice == "rollback":
            self._check_rollback_possible(d)
        with self._store.transaction() as r:
            if not r.deployments.lock(d.id, State.FAILED):
                raise Conflict(f"Deployment #{d.id} changed meanwhile; nothing was done.")
            d = _get(r, d.id)
            self._check_open(d)
            assert d.verification is not None and d.previous_version is not None
            rollback: Deployment | None = None
            if choice == "rollback":
                rollback = r.deployments.add(NewDeployment(
                    service=d.service, environment=d.environment, version=d.previous_version,
                    previous_version=d.version, state=State.QUEUED, requested_by=user_id,
                    requested_at=at, approvals_required=0, expires_at=None,
                    kind=Kind.ROLLBACK, rollback_of=d.id,
                ))
                r.audit.record("deploy.rollback_requested", actor=user_id, at=at,
                               deployment_id=rollback.id,
                               details={"rollback_of": d.id, "from": d.version,
                                        "to": d.previous_version})
            else:
                r.audit.record("deploy.kept", actor=user_id, at=at, deployment_id=d.id,
                               details={"version": d.version,
                                        "reasons": list(d.verification.reasons)})
            r.deployments.record_verification(d.id, d.verification.decided(
                choice, by=user_id, at=at, rollback_id=rollback.id if rollback else None))
            d = _get(r, d.id)
        self._safe_show(d)
        if rollback is not None:
            rollback = self._show_new(rollback)
            self._runner.submit(rollback.id)
        return Decided(failed=d, rollback=rollback)

    @staticmethod
    def _check_open(d: Deployment) -> None:
        v = d.verification
        if d.state is not State.FAILED or v is None or not v.offer_rollback \
                or d.previous_version is None:
            raise Conflict(f"Deployment #{d.id} has no rollback decision waiting "
                           f"({d.state.value.replace('_', ' ')}).")
        if v.decision is not None:
            what = "rolled it back" if v.decision == "rollback" else "kept it"
            raise Conflict(f"<@{v.decided_by}> already {what}; nothing more was done.")

    def _check_rollback_possible(self, d: Deployment) -> None:
        at = self._clock.now()
        window = self._policy.check_rollback(d.environment, d.service, at=at)
        if not window.allowed:
            raise Conflict(f"Rollbacks in {d.environment} follow the deploy window, and it is "
                           "closed now: " + "; ".join(window.reasons) + ".")
        running = self._live.version(d.environment, d.service)
        if running is not None and running != d.version:
            raise Conflict(f"{d.service} runs {running} in {d.environment} now, not "
                           f"{d.version}; rolling back to {d.previous_version} would undo "
                           "that change. Nothing was done.")

    def _show_new(self, d: Deployment) -> Deployment:
        """Post the rollback's card before the runner starts (it posts one itself if this
        fails: a rollback never waits for Slack)."""
        try:
            refs = self._notifier.show(d)
        except DeploybotError:
            log.warning("rollback %s: could not post its card; the runner will", d.id,
                        exc_info=True)
            return d
        with self._store.transaction() as r:
            r.deployments.record_messages(d.id, channel=refs.channel,
                                          message_ts=refs.message_ts, record_ts=refs.record_ts)
            return _get(r, d.id)

    def _safe_show(self, d: Deployment) -> None:
        try:
            self._notifier.show(d)
        except DeploybotError:
            log.warning("could not update the Slack card of deployment %s", d.id, exc_info=True)


def _get(r: Repositories, deployment_id: int) -> Deployment:
    d = r.deployments.get(deployment_id)
    if d is None:
        raise NotFound(f"Deployment #{deployment_id} does not exist.")
    return d
