"""The one answer to "what runs where": `LiveState.of(environment, service)`.

Every screen that says "running", "previous" or "since" reads it — `/deploy status`, App
Home, the cards' "Running now", the result's "previous", `/rollback`'s targets, the
promotion gate, the runner when a deployment starts. It asks the executor (the source of
truth) and puts its answer together with deploybot's own history (bot.domain.live); when the
executor cannot be read it answers deploybot's last record, marked last known, with why.

A version running that deploybot did not put there is drift: the first time it is seen it
is announced in the deployments channel (once across processes: an announcement claim per
environment, service, version and deploybot's last deployment there — a deploy by
deploybot ends an episode, and the same version put back by someone after it is a new one)
and audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from bot.config import AppConfig
from bot.domain.live import Live, Observed, reconcile
from bot.domain.states import State
from bot.errors import DeploybotError
from bot.ports import Clock, Cluster, Poster, Repositories, Store
from bot.presentation.live_views import drift_announcement

log = logging.getLogger(__name__)

DRIFT_KEY = "drift:"


@dataclass(frozen=True)
class Observation:
    """What the executor answered for a service in an environment (`LiveState.observe`):
    what it runs (None: nothing), or why it could not be read."""

    environment: str
    service: str
    observed: Observed | None
    unreadable: str | None


class LiveState:
    def __init__(self, *, config: AppConfig, store: Store, cluster: Cluster, clock: Clock,
                 poster: Poster | None = None) -> None:
        self._config = config
        self._store = store
        self._cluster = cluster
        self._clock = clock
        self._poster = poster

    def of(self, environment: str, service: str, *, announce: bool = True) -> Live:
        """What runs there now. `announce`: report drift seen now (once)."""
        seen = self.observe(environment, service)
        with self._store.transaction() as r:
            live = self.reconciled(r, seen)
        if announce:
            self.report(live)
        return live

    # -- `of` in three steps, for a caller that reads the record in its own transaction ----
    def observe(self, environment: str, service: str) -> Observation:
        """The executor's answer (outside any transaction: it may take a moment)."""
        observed: Observed | None = None
        unreadable: str | None = None
        try:
            observed = self._cluster.observe(environment, service)
        except DeploybotError as e:
            unreadable = str(e) or type(e).__name__
            log.warning("could not read which version of %s runs in %s: %s", service,
                        environment, unreadable)
        return Observation(environment, service, observed, unreadable)

    @staticmethod
    def reconciled(r: Repositories, seen: Observation) -> Live:
        """`seen` put together with deploybot's record, read in the caller's transaction
        `r` (after the executor was asked, as `of` does)."""
        environment, service = seen.environment, seen.service
        recorded = r.deployments.last_put_live(environment, service)
        active = r.deployments.active_for(environment, service)
        in_flight = active is not None and active.state in (State.RUNNING, State.VERIFYING)
        return reconcile(environment, service, observed=seen.observed,
                         unreadable=seen.unreadable, recorded=recorded, in_flight=in_flight)

    def report(self, live: Live) -> None:
        """Report drift in `live` (announced and audited once); nothing without drift.
        Outside any transaction (it opens its own)."""
        if live.drift:
            self._report_drift(live)

    def all(self, pairs: Iterable[tuple[str, str]] | None = None) -> list[Live]:
        """`of` for these (environment, service) pairs; default: every pair the config
        deploys."""
        if pairs is None:
            pairs = [(env, svc) for env in self._config.environments
                     for svc in self._config.services_in(env)]
        return [self.of(env, svc) for env, svc in pairs]

    def version(self, environment: str, service: str) -> str | None:
        """The version running there, live or last known (None: unknown)."""
        return self.of(environment, service).version

    def check(self) -> list[Live]:
        """The scheduler's look at every pair (drift announced once each)."""
        return [live for live in self.all() if live.drift]

    # -- drift ---------------------------------------------------------------------------
    def _report_drift(self, live: Live) -> None:
        """Announce and audit drift the first time it is seen (across processes: the claim
        of its key); when Slack refuses the announcement, the claim is released and the next
        look tries again (audited once, with the announcement)."""
        at = self._clock.now()
        episode = live.recorded.deployment_id if live.recorded is not None else 0
        key = f"{DRIFT_KEY}{live.environment}:{live.service}:{episode}:{live.version}"[:255]
        try:
            with self._store.transaction() as r:
                if not r.announcements.claim(key, due_at=at, at=at):
                    return
            posted: tuple[str, str] | None = None
            if self._poster is not None:
                try:
                    posted = self._poster.post(drift_announcement(live, self._config.zone))
                except DeploybotError as e:
                    log.warning("could not announce drift of %s in %s: %s", live.service,
                                live.environment, e)
                    with self._store.transaction() as r:
                        r.announcements.release(key)  # the next look tries again
                    return
            obs = live.observed
            with self._store.transaction() as r:
                if posted is not None:
                    r.announcements.posted(key, channel=posted[0], ts=posted[1])
                r.audit.record("drift.detected", actor="deploybot", at=at,
                               environment=live.environment, details={
                                   "service": live.service, "version": live.version,
                                   "recorded_version": (live.recorded.version
                                                        if live.recorded else None),
                                   "image": obs.image if obs else None,
                                   "changed_by": obs.changed_by if obs else None})
        except DeploybotError as e:  # the database: the next look tries again
            log.warning("could not record drift of %s in %s: %s", live.service,
                        live.environment, e)
