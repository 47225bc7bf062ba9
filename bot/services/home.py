"""The App Home tab: what runs where and since when, locks, the deploy window of each
environment now and its next change, the approvals waiting (with their buttons), and the
last deployments.

`HomeService.build` gathers it in a fixed number of indexed queries, whatever the number
of services: the running versions (one statement, an index lookup per configured service
and environment), the active locks, the approvals waiting, the last 10 deployments, and one
freeze query per environment for the windows. What runs where comes from live state (the
executor), never on a listener's thread: a refresh pass asks it at most
`home.cluster_lookups` times (those never asked first) and each answer is kept for
`home.cluster_cache` (`ClusterVersions`), so no refresh makes one cluster call per service;
while some are still unasked, passes follow each other (every `home.refresh_every`) until
all are known. A commit running is shown with its tag when this process's last list of the
repository's tags names it (`tags`: VersionCheck.known_tag); the tab never asks GitHub, so a
commit whose tags no request, form or rollback listed here yet shows as the commit alone.

`HomeRefresher` republishes the tab for the users who opened it within
`home.viewers_within` when something changes (`Changes.changed`: a deployment's card was
shown, a freeze or a lock changed and was announced) and when an environment's window opens
or closes. It runs on its own thread, at most once per `home.refresh_every`, building the
view once per pass for every viewer and skipping those whose tab would not change (a
rollout's progress): a burst of 50 changes is one or two passes, not 50 per viewer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import AppConfig
from bot.domain.deployment import Deployment
from bot.domain.live import Live, Observed
from bot.domain.locks import Lock
from bot.errors import RetryableError
from bot.ports import Changes, Clock, HomeTab, Store
from bot.presentation.home_views import home_view
from bot.services.freezes import FreezeService
from bot.services.live import LiveState
from bot.services.policy import WindowStatus

log = logging.getLogger(__name__)

#: How many viewers one refresh republishes the tab for (the most recent ones).
MAX_VIEWERS = 500
#: The approvals shown with their buttons, and the last deployments shown.
PENDING_SHOWN, RECENT_SHOWN = 8, 10

Pair = tuple[str, str]  # (environment, service)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # a fixed "updated at", to compare contents


@dataclass(frozen=True)
class ServiceLine:
    service: str
    version: str | None  # None: not known (never deployed by deploybot, cluster not asked)
    since: datetime | None  # when it started running there; None: unknown
    from_cluster: bool  # read from the executor (else deploybot's record, or unknown)
    lock: Lock | None
    drift: bool = False  # runs a version deploybot did not put there
    #: Not all on `version` yet (a rollout under way, or a failed one left applied while
    #: the old pods still serve): the executor's answer, saying how far it is and what
    #: still serves; None: settled.
    unsettled: Observed | None = None
    #: Why the executor could not be read (the line is then deploybot's record); None: read.
    unreadable: str | None = None
    #: The tag of `version` when it is a commit, as GitHub last listed it (no request).
    tag: str | None = None
    #: The cluster, read after deploybot's last record there, says nothing runs (no
    #: workload, or one scaled to 0: then `stopped` is its answer); `version` is None.
    nothing_running: bool = False
    stopped: Observed | None = None


@dataclass(frozen=True)
class EnvironmentHome:
    window: WindowStatus
    services: tuple[ServiceLine, ...]


@dataclass(frozen=True)
class Home:
    at: datetime
    environments: tuple[EnvironmentHome, ...]
    pending: tuple[Deployment, ...]
    pending_total: int
    recent: tuple[Deployment, ...]
    unresolved: int  # services whose running version the cluster was not asked for yet

    @property
    def next_change(self) -> datetime | None:
        """The next time a window opens or closes (the tab changes by itself then)."""
        return min((e.window.next_change for e in self.environments
                    if e.window.next_change is not None), default=None)


class ClusterVersions:
    """What runs where, as live state answers it (bot.services.live): at most `budget`
    lookups per refresh pass, those never asked first, then the oldest answers; each answer
    is kept for `ttl`. An answer older than deploybot's own last change there is not used
    (the record is newer)."""

    def __init__(self, live: LiveState, clock: Clock, *, ttl: timedelta) -> None:
        self._live = live
        self._clock = clock
        self._ttl = ttl
        self._seen: dict[Pair, tuple[Live, datetime]] = {}
        self._lock = threading.Lock()

    def lookup(self, pairs: Iterable[Pair], *, budget: int
               ) -> tuple[dict[Pair, tuple[Live, datetime]], int]:
        """(the live answer and when it was read, for each pair that has one; pairs still
        unasked)."""
        now = self._clock.now()
        wanted = list(pairs)
        with self._lock:
            known = {p: self._seen[p] for p in wanted if p in self._seen}
        stale = [p for p in wanted if p not in known]
        stale += sorted((p for p in known if now - known[p][1] >= self._ttl),
                        key=lambda p: known[p][1])
        for pair in stale[:budget]:
            live = self._live.of(*pair)  # never raises: an unreadable cluster says so
            known[pair] = (live, now)
            with self._lock:
                self._seen[pair] = (live, now)
        return known, len(wanted) - len(known)


class HomeService:
    """`opened` (a listener's one call) answers from the database and the cluster answers
    at hand, never waiting for the cluster; when some are missing it asks `changes` for a
    refresh, whose pass looks them up (`home.cluster_lookups` at a time) and republishes."""

    def __init__(self, *, config: AppConfig, store: Store, live: LiveState,
                 freezes: FreezeService, clock: Clock, tab: HomeTab,
                 changes: Changes | None = None,
                 tags: Callable[[str, str], str | None] | None = None) -> None:
        """`tags`: (service, version) → the tag of a commit as last listed, asking nothing
        (VersionCheck.known_tag): a commit running is shown by its tag when known."""
        self._tags = tags
        self._config = config
        self._store = store
        self._freezes = freezes
        self._clock = clock
        self._tab = tab
        self._changes = changes
        self._cluster_versions = ClusterVersions(live, clock, ttl=config.home.cluster_cache)
        # Publishing order: a view built earlier never replaces one built later, and a view
        # with the same content as the last one a user got is not sent again.
        self._guard = threading.Lock()
        self._built = 0
        self._sent: dict[str, tuple[int, str]] = {}
        self._user_locks: dict[str, threading.Lock] = {}

    # -- use cases -------------------------------------------------------------------
    def opened(self, user_id: str) -> None:
        """`user_id` opened the tab: remember them as a viewer and publish it for them."""
        with self._store.transaction() as r:
            r.home_viewers.opened(user_id, at=self._clock.now())
        seq, view, key, home = self._render(lookups=0)
        self._publish(user_id, view, seq, key, force=True)
        if home.unresolved and self._changes is not None:
            self._changes.changed()  # the refresher asks the cluster, off this pool

    def republish(self) -> datetime | None:
        """Publish the tab again for everyone who opened it within `home.viewers_within`
        (skipping those who have it as it is); when to come back without a change: soon
        while some running versions were not looked up yet, else when a window opens or
        closes next."""
        since = self._clock.now() - self._config.home.viewers_within
        with self._store.transaction() as r:
            viewers = list(r.home_viewers.since(since, limit=MAX_VIEWERS))
        if not viewers:
            return None
        seq, view, key, home = self._render(lookups=self._config.home.cluster_lookups)
        for user_id in viewers:
            try:
                self._publish(user_id, view, seq, key)
            except Exception:  # one user's tab (e.g. they left) never stops the others
                log.warning("App Home: could not publish the tab for %s", user_id,
                            exc_info=True)
        return home.at if home.unresolved else home.next_change

    # -- building ----------------------------------------------------------------------
    def build(self, *, lookups: int | None = None) -> Home:
        """What the tab shows now; `lookups`: how many cluster lookups it may make (default
        `home.cluster_lookups`)."""
        cfg = self._config
        at = self._clock.now()
        with self._store.transaction() as r:
            running = {(v.environment, v.service): v for v in
                       r.deployments.running_versions_of(list(cfg.environments),
                                                         list(cfg.services))}
            locks = {(lk.environment, lk.service): lk for lk in r.locks.active(at)}
            pending, pending_total = r.deployments.awaiting_approval(PENDING_SHOWN)
            recent = tuple(r.deployments.recent(RECENT_SHOWN))
        windows = {w.environment: w for w in self._freezes.status(at).environments}
        pairs = [(env, svc) for env in cfg.environments for svc in cfg.services_in(env)]
        answers, unresolved = self._cluster_versions.lookup(
            pairs, budget=cfg.home.cluster_lookups if lookups is None else lookups)
        if cfg.home.cluster_lookups == 0:
            unresolved = 0  # the cluster is never asked: "not known" is all there is
        envs = []
        for env in cfg.environments:
            lines = []
            for svc in cfg.services_in(env):
                pair = (env, svc)
                ours = running.get(pair)
                live, read_at = answers.get(pair, (None, None))
                unreadable = live.unreadable if live is not None else None
                if live is not None and read_at is not None and live.version is not None \
                        and (ours is None or ours.version == live.version
                             or ours.since < read_at):
                    obs = live.observed
                    # How far a rollout was when read: not once deploybot's record of a
                    # rollout there is newer than the (kept) answer; then the record of
                    # that version knows when it went live (as `reconcile` has it).
                    newer = ours is not None and ours.since >= read_at
                    unsettled = None if obs is None or obs.settled or newer else obs
                    since = live.since
                    if newer and ours is not None and ours.version == live.version \
                            and (since is None or ours.since > since):
                        since = ours.since
                    lines.append(ServiceLine(service=svc, version=live.version,
                                             since=since, from_cluster=live.live,
                                             lock=locks.get(pair), drift=live.drift,
                                             unsettled=unsettled, unreadable=unreadable))
                elif live is not None and read_at is not None and live.live \
                        and (ours is None or ours.since < read_at):
                    obs = live.observed  # read after the record: nothing runs there
                    lines.append(ServiceLine(
                        service=svc, version=None, since=None, from_cluster=True,
                        lock=locks.get(pair), nothing_running=True,
                        stopped=obs if obs is not None and obs.stopped else None))
                else:  # not read yet, or deploybot changed it since: its record
                    lines.append(ServiceLine(service=svc,
                                             version=ours.version if ours else None,
                                             since=ours.since if ours else None,
                                             from_cluster=False, lock=locks.get(pair),
                                             unreadable=unreadable))
            if self._tags is not None:
                tags = self._tags
                lines = [replace(s, tag=tags(s.service, s.version)) if s.version else s
                         for s in lines]
            envs.append(EnvironmentHome(window=windows[env], services=tuple(lines)))
        return Home(at=at, environments=tuple(envs), pending=tuple(pending),
                    pending_total=pending_total, recent=recent, unresolved=unresolved)

    def _render(self, *, lookups: int) -> tuple[int, dict[str, Any], str, Home]:
        """(build number, the view, its content without the time it was made, the Home)."""
        with self._guard:
            self._built += 1
            seq = self._built
        home = self.build(lookups=lookups)
        zone = self._config.zone
        key = json.dumps(home_view(replace(home, at=_EPOCH), zone)["blocks"], sort_keys=True)
        return seq, home_view(home, zone), key, home

    def _publish(self, user_id: str, view: dict[str, Any], seq: int, key: str, *,
                 force: bool = False) -> None:
        with self._guard:
            lock = self._user_locks.setdefault(user_id, threading.Lock())
        with lock:
            last_seq, last_key = self._sent.get(user_id, (0, ""))
            if last_seq > seq:
                return  # a newer view went out meanwhile
            if key == last_key and not force:
                return  # nothing they can see changed (e.g. a rollout's progress)
            self._tab.publish_home(user_id, view)
            self._sent[user_id] = (seq, key)


class HomeRefresher:
    """Implements the Changes port: `changed()` only marks the tab stale and returns. A
    thread of its own republishes it, at most once per `every` (the first change at once,
    the ones that follow within `every` together, once), and without a change when
    `refresh` says so: it returns when to come back (a second after a window opens or
    closes; at once, `every` permitting, while versions are left to look up)."""

    def __init__(self, *, every: timedelta, clock: Clock,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._every = every.total_seconds()
        self._clock = clock
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._dirty = False
        self._running = False
        self._closed = False
        self._due: float | None = None  # monotonic time of a refresh by the clock
        self._last = float("-inf")
        self._thread: threading.Thread | None = None
        self.passes = 0  # refresh passes done (for tests and the benchmark)

    def changed(self) -> None:
        with self._cond:
            if self._dirty:
                return  # marked already: the thread is waiting out `every`, or on its way
            self._dirty = True
            self._cond.notify_all()

    def start(self, refresh: Callable[[], datetime | None]) -> None:
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._loop, args=(refresh,),
                                            name="app-home-refresh", daemon=True)
            self._thread.start()

    def shutdown(self, *, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no change is waiting to be published and no pass is running."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._dirty or self._running)
                                       or self._closed, timeout=timeout)

    def _next(self) -> bool:
        """Wait for a change (or the clock's due time), then for `every` since the last
        pass; False when shutting down. Called with the condition held."""
        while not self._closed:
            now = self._monotonic()
            if self._due is not None and now >= self._due:
                self._due, self._dirty = None, True
            if self._dirty:
                if now >= self._last + self._every:
                    return True
                self._cond.wait(self._last + self._every - now)
            else:
                self._cond.wait(None if self._due is None else self._due - now)
        return False

    def _loop(self, refresh: Callable[[], datetime | None]) -> None:
        while True:
            with self._cond:
                if not self._next():
                    return
                self._dirty, self._running = False, True
            next_change: datetime | None = None
            try:
                next_change = refresh()
            except RetryableError as e:  # the database or Slack is away for a moment
                log.warning("App Home: refresh failed; the next change tries again: %s", e)
            except Exception:  # never raised into a deploy; the next change tries again
                log.exception("App Home: refresh failed")
            with self._cond:
                self._running = False
                self._last = self._monotonic()
                self.passes += 1
                self._due = None
                if next_change is not None:  # a second past a window's change; now: now
                    ahead = (next_change - self._clock.now()).total_seconds()
                    wait = ahead + 1 if ahead > 0 else 0.0
                    self._due = self._last + min(max(wait, self._every), 6 * 3600)
                self._cond.notify_all()
