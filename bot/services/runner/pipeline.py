"""One deployment carried from its claim to its result (`_run`).

The start checks (the deploy window once more, a lock someone took, a newer version gone
live since the approval), the start itself (RUNNING, what it replaces read from the
executor), the migrations (bot.services.runner.jobs), the rollout through the cluster port,
the watch after it (`_watch`), the outcome moved to (`_move`) — or, after a failure or an
abort, the environment's rule (bot.services.runner.verdicts) — and the end: the lease
released, the result measured, announced, shown and told, and the "Running now" of the
cards still waiting there refreshed (`_refresh_running_now`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain.admission import Ask, Facts, Rule, admit
from bot.domain.deployment import Deployment, Kind, Verification
from bot.domain.flag_changes import acts_as
from bot.domain.policy import PolicyDecision
from bot.domain.states import State
from bot.domain.versions import CommitTag, semver
from bot.errors import DeploybotError
from bot.ports import AlreadyRunning, RolloutFailed, RollsBack, VerifyResult
from bot.presentation.admission_views import downgrade_at_start
from bot.presentation.lock_views import refusal_at_start
from bot.services.runner.base import Aborted, check_abort, log, window_for
from bot.services.runner.flag_runs import FlagRuns
from bot.services.runner.jobs import Jobs
from bot.services.runner.leases import LostLease
from bot.services.runner.verdicts import Verdicts


class Pipeline(Verdicts, Jobs, FlagRuns):
    def _run(self, deployment_id: int) -> None:
        at = self._clock.now()
        d = self._claim(deployment_id, at=at)
        if d is None:
            return
        started = self._start(d, at=at)
        if started is None:
            return
        self._carry(started, self._progress_for(deployment_id))
        self._finish(deployment_id)

    # -- the start -----------------------------------------------------------------------
    def _start(self, d: Deployment, *, at: datetime) -> Deployment | None:
        """RUNNING (or resumed where it was), shown; None when a queued deployment does not
        start after all (cancelled, saying why)."""
        replacing = self._replacing(d)
        if d.state is State.QUEUED and not self._admitted_at_start(d, replacing, at=at):
            return None
        replaced = None  # the lock an earlier rollback left, replaced by this one's
        with self._store.transaction() as r:
            d = self._get(r, d.id)
            if d.state is State.QUEUED:
                if not r.deployments.transition(d.id, State.RUNNING, at=at, started_at=at,
                                                progress="starting",
                                                previous_version=replacing):
                    raise LostLease(d.id, State.RUNNING)  # another process changed it
                r.audit.record("deploy.started", actor="deploybot", at=at, deployment_id=d.id,
                               details={"owner": self._owner})
                if d.kind is Kind.ROLLBACK and d.previous_version is not None:
                    replaced = self._leave(
                        r, d, d.previous_version, by=d.requested_by, at=at,
                        why=f"rolled back to {d.version} (deployment #{d.id})")
            else:
                r.audit.record("deploy.resumed", actor="deploybot", at=at, deployment_id=d.id,
                               details={"owner": self._owner, "state": d.state.value})
            d = self._get(r, d.id)
        self._announce_replaced(replaced)
        if self._flags_at_start is not None:
            self._flags_at_start(d)  # before it is shown: the record says what was set
        self._show(d)
        return d

    def _replacing(self, d: Deployment) -> str | None:
        """What the deployment replaces, read from the executor as it starts (the card's
        "Running now" was read at request time, and much may have changed since); the
        version recorded at request time when the executor cannot tell."""
        if self._live is None or d.instance is not None \
                or d.kind in (Kind.MIGRATE, Kind.FLAG) or d.state is not State.QUEUED:
            return d.previous_version
        return self._live.version(d.environment, d.service) or d.previous_version

    def _admitted_at_start(self, d: Deployment, replacing: str | None, *,
                           at: datetime) -> bool:
        """The admission rules once more right before anything happens
        (bot.domain.admission): the deploy window (a deploy approved at 13:58 that would
        start at 14:01 on a Friday does not start), a lock someone else took meanwhile (a
        rollback never waits for one), and a downgrade nobody confirmed (a newer version
        went live since it was approved). A refused deployment is cancelled, saying why."""
        with self._store.transaction() as r:
            lock = r.locks.get(d.environment, d.service, at=at)
        # A flag turned off passes locks as a rollback does; turned on, as a deploy.
        ask = Ask(kind=acts_as(d.kind, d.version), environment=d.environment,
                  service=d.service,
                  version=d.version, user_id=d.requested_by, instance=d.instance,
                  emergency=d.emergency, forced=True, deployment_id=d.id)
        live = replacing if d.kind is not Kind.FLAG else None
        admission = admit(ask, Facts(lock=lock, window=window_for(self._gate, d, at=at),
                                     live=live, live_tag=self._running_tag(d, live),
                                     downgrade_confirmed_from=d.downgrade_from))
        refusal = admission.first
        if refusal is None:
            return True
        if refusal.rule is Rule.WINDOW and refusal.window is not None:
            self._refuse(d, refusal.window)
        elif refusal.rule is Rule.LOCK and refusal.lock is not None:
            lock = refusal.lock
            self._cancel_unstarted(d, refusal_at_start(lock, at), "deploy.refused_locked",
                                   {"lock_id": lock.id, "holder": lock.holder,
                                    "reason": lock.reason})
        elif refusal.rule is Rule.DOWNGRADE and refusal.downgrade is not None:
            dg = refusal.downgrade
            self._cancel_unstarted(
                d, downgrade_at_start(dg), "deploy.refused_downgrade",
                {"live": dg.live, "version": d.version, "tag": dg.tag, "unknown": dg.unknown})
        else:  # a rule the runner does not expect at start: refuse, saying which
            self._cancel_unstarted(d, f"not started: refused ({refusal.rule.value})",
                                   "deploy.refused_at_start", {"rule": refusal.rule.value})
        return False

    def _running_tag(self, d: Deployment, live: str | None) -> CommitTag | None:
        """What the commit running is known as (its tag, or why GitHub could not say), when
        a deploy of a semantic version would start over it: the downgrade rule compares the
        two, as the request's check does (GitHub's tag list kept a minute; outside any
        transaction). When GitHub cannot be asked now, the tag it last listed for that
        commit, if any (a deploy checked at request time is not cancelled for a blip). None
        otherwise (no GitHub, not a commit, a per-PR instance)."""
        if (self._versions is None or live is None or d.instance is not None
                or acts_as(d.kind, d.version) is not Kind.DEPLOY or semver(d.version) is None):
            return None
        found = self._versions.commit_tag(d.service, live)
        kept = self._versions.known_tag(d.service, live) \
            if found is not None and found.unknown is not None else None
        return CommitTag(live, tag=kept) if kept is not None else found

    def _refuse(self, d: Deployment, window: PolicyDecision) -> None:
        error = "the deploy window closed before it could start: " + "; ".join(window.reasons)
        self._cancel_unstarted(d, error, "deploy.refused_at_start",
                               {"reasons": list(window.reasons)})

    def _cancel_unstarted(self, d: Deployment, error: str, action: str,
                          details: dict[str, object]) -> None:
        """Cancel a queued deployment the runner will not start, saying why."""
        at = self._clock.now()
        with self._store.transaction() as r:
            if not r.deployments.transition(d.id, State.CANCELLED, at=at, finished_at=at,
                                            error=error, lease_owner=None, lease_until=None):
                return
            r.audit.record(action, actor="deploybot", at=at, deployment_id=d.id,
                           details=details)
            final = self._get(r, d.id)
        self._metrics.deployment_finished(final.environment, final.state.value)
        for call in (self._show, self._notifier.notify_requester):
            try:
                call(final)
            except DeploybotError:
                log.warning("deployment %s: could not report the refusal", d.id, exc_info=True)

    # -- migrations, rollout, watch ------------------------------------------------------
    def _carry(self, d: Deployment, progress: Callable[[str], None]) -> None:
        """From RUNNING (or where it was resumed) to a result: migrations, the rollout, the
        watch; a failure or an abort follows the environment's rule."""
        note: str | None = None  # "v1.2.3 is already running in production; nothing to do"
        said: str | None = None  # what the cluster returned of the rollout (a run's link)
        try:
            if d.kind is Kind.FLAG:
                self._change_flag(d)
                return
            if d.kind is Kind.MIGRATE:
                self._migrate(d, progress)
                self._move(d.id, State.SUCCEEDED, finished=True,
                           progress=f"migrated to {d.target}")
            elif d.state is State.RUNNING:
                # A rollback does not run the old image's migrations; a per-PR preview
                # shares the environment's database and leaves its schema alone.
                if d.kind is Kind.DEPLOY and d.instance is None:
                    self._migrate(d, progress)
                    self._abort_point(d.id)  # asked during the migrations: no rollout
                try:
                    if d.instance is not None:  # a per-PR preview: its own instance
                        said = self._cluster.deploy(d.environment, d.service, d.version,
                                                    progress=progress, deployment_id=d.id,
                                                    requested_by=d.requested_by,
                                                    instance=d.instance)
                    else:
                        roll = (self._cluster.roll_back if d.kind is Kind.ROLLBACK
                                and isinstance(self._cluster, RollsBack)
                                else self._cluster.deploy)
                        said = roll(d.environment, d.service, d.version, progress=progress,
                                    deployment_id=d.id, requested_by=d.requested_by)
                except AlreadyRunning as e:
                    note = str(e)
                self._move(d.id, State.VERIFYING, progress="checking")
            if d.kind is not Kind.MIGRATE:
                # The watch (and automatic rollback) is about the main instance's pods.
                verdict = (None if note is not None or d.instance is not None
                           else self._watch(d, progress))
                if verdict is not None and not verdict.ok:
                    self._abort_point(d.id)  # an abort asked meanwhile wins over the verdict
                    self._verification_failed(d, verdict, progress)
                else:
                    summary = (f"verified: {verdict.summary}" if verdict is not None
                               else None)
                    # What the cluster said of it (e.g. the workflow run's link) stays too.
                    kept = "; ".join(p for p in (note or summary, said) if p)[:255] or None
                    self._move(d.id, State.SUCCEEDED, finished=True, progress=kept,
                               unless_aborted=True)
        except Aborted as e:
            self._aborted(d, e, progress)
        except RolloutFailed as e:
            self._rollout_failed(d, str(e) or "rollout failed", progress)

    def _abort_point(self, deployment_id: int) -> None:
        """Raise Aborted when someone asked to abort the deployment (read now)."""
        with self._store.transaction() as r:
            cur = self._get(r, deployment_id)
        check_abort(cur)

    def _watch(self, d: Deployment, progress: Callable[[str], None]) -> VerifyResult | None:
        """Run the environment's bake window and checks (None when it has none)."""
        plan = self._verify.get(d.environment)
        if self._verifier is None or plan is None or not plan.active:
            return None
        progress("watching the new pods")
        verdict = self._verifier.watch(d.environment, d.service, d.version,
                                       until=self._clock.now() + plan.bake, progress=progress)
        with self._store.transaction() as r:
            r.deployments.record_verification(d.id, Verification(
                ok=verdict.ok, summary=verdict.summary[:500],
                reasons=tuple(x[:300] for x in verdict.reasons[:10]),
                bake_seconds=plan.bake.total_seconds(),
                offer_rollback=self._offers_rollback(d, verdict, plan),
                superseded=verdict.superseded))
            r.audit.record("deploy.verification", actor="deploybot", at=self._clock.now(),
                           deployment_id=d.id,
                           details={"ok": verdict.ok, "reasons": list(verdict.reasons),
                                    "summary": verdict.summary,
                                    "bake_seconds": plan.bake.total_seconds()})
        return verdict

    # -- the end -------------------------------------------------------------------------
    def _finish(self, deployment_id: int) -> None:
        """The lease released, the result measured, announced, shown and told; the
        deployment a successful rollback replaced shown ROLLED_BACK; the cards still
        waiting there told what runs now."""
        replaced = self._replace_rolled_back(deployment_id)
        with self._store.transaction() as r:
            r.deployments.release_lease(deployment_id)
            final = self._get(r, deployment_id)
        self._measure(final)
        # Announce first: the final record ticks "announced", so it must be true by then.
        for call in (self._notifier.announce, self._show, self._notifier.notify_requester):
            try:
                call(final)
            except DeploybotError:
                log.warning("deployment %s: could not send the result", final.id, exc_info=True)
        if replaced is not None:
            self._show(replaced)
        self._tell_flag_thread(final)
        try:
            self._refresh_running_now(final)
        except DeploybotError:
            log.warning("deployment %s: could not refresh the cards still waiting there",
                        final.id, exc_info=True)

    def _measure(self, final: Deployment) -> None:
        """The result this run reached, and how long it took from its start (a resumed
        deployment: from its first start)."""
        if final.finished_at is None:
            return
        log.info("deployment %s of %s to %s ended: %s", final.id, final.service,
                 final.environment, final.state.value)
        self._metrics.deployment_finished(final.environment, final.state.value)
        if final.started_at is not None:
            self._metrics.rollout_took(final.environment, final.state.value,
                                       (final.finished_at - final.started_at).total_seconds())

    def _refresh_running_now(self, final: Deployment) -> None:
        """A deploy or rollback of the main instance ended, so what runs there may have
        changed: `refresh_running_now` for its service and environment."""
        if final.instance is not None or final.kind in (Kind.MIGRATE, Kind.FLAG):
            return
        self.refresh_running_now(final.environment, final.service)

    def refresh_running_now(self, environment: str, service: str) -> None:
        """What runs there may have changed (a deployment ended, drift was seen): the
        deploys of that service and environment still waiting (for approval or their
        window) get the live version as what they replace, and their cards' "Running now"
        show it. Nothing changes while the live version is unknown."""
        if self._live is None:
            return
        with self._store.transaction() as r:
            waiting = [w for w in r.deployments.waiting_for(environment, service)
                       if w.kind is Kind.DEPLOY]
        if not waiting:
            return
        live = self._live.version(environment, service)
        if live is None:
            return
        for w in waiting:
            if w.previous_version == live:
                continue
            with self._store.transaction() as r:
                if not r.deployments.lock(w.id, w.state):
                    continue  # approved, superseded or expired meanwhile
                r.deployments.record_previous_version(w.id, live)
                cur = self._get(r, w.id)
            self._show(cur)
