"""Announcements in the deployments channel: freeze warnings, freeze start and end, and the
schedule closing — each posted exactly once, by whichever process gets to it first.

`post_due(at=...)` runs every minute in every bot process (see bot.scheduling). For each
announcement due at most `announcements.grace` ago it:

1. claims the announcement's deterministic key in its own transaction (an insert that only
   one caller can win, across processes and restarts: `AnnouncementLog.claim`);
2. posts it; if the post fails, releases the claim so a later run retries it (until it is
   older than the grace);
3. records the Slack channel and ts of the message (`AnnouncementLog.posted`).

An announcement due longer ago than the grace (the bot was down, or Slack was) is not
replayed: its key is claimed without posting, and the skip is logged once. A crash between
claim and post loses that one announcement rather than risking it twice.

A process that begins at a time of its own choosing (`deploybot shell --at`) missed nothing:
`skip_stale` claims what is already too late when it begins, without the warning, and
returns it for the process to say in its own words.

A freeze's start or end, once posted, is told to `turned` with the freeze's environments:
the cards of the requests awaiting approval there are shown again, saying the freeze (their
Approve is refused until it ends) or no longer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import AppConfig
from bot.domain.announcements import NEXT_WINDOW_HORIZON, TICK, PlannedAnnouncement, plan
from bot.ports import Clock, Poster, Store
from bot.presentation import announcements as words
from bot.services.policy import PolicyService

log = logging.getLogger(__name__)

#: How far back (beyond the grace) missed announcements are looked for, to log the skip.
STALE_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class Announcement:
    key: str
    due_at: datetime
    text: str
    #: a freeze starting or ending (told to `turned`), and its environments (None: all)
    turns: bool = False
    environments: frozenset[str] | None = None


class AnnouncementService:
    def __init__(self, *, config: AppConfig, store: Store, policy: PolicyService,
                 poster: Poster, clock: Clock,
                 turned: Callable[[frozenset[str] | None], object] | None = None) -> None:
        self._turned = turned
        self._config = config
        self._store = store
        self._policy = policy
        self._poster = poster
        self._clock = clock

    def _planned(self, start: datetime, end: datetime) -> list[PlannedAnnouncement]:
        cfg = self._config.announcements
        longest = max(cfg.freeze_warnings, default=timedelta(0))
        freezes = self._policy.freezes(
            at=start, horizon=max(end - start, timedelta(0)) + longest + NEXT_WINDOW_HORIZON)
        schedules = {env: self._policy.schedule(env) for env in self._config.environments}
        return plan(freezes=freezes, schedules=schedules, freeze_warnings=cfg.freeze_warnings,
                    window_closing_warning=cfg.window_closing_warning, start=start, end=end)

    def plan(self, *, start: datetime, end: datetime) -> list[Announcement]:
        """The announcements due in [start, end), by due time, with their text."""
        zone = self._config.zone
        return [Announcement(key=p.key, due_at=p.due_at, text=words.text(p, zone),
                             turns=p.kind in ("freeze_start", "freeze_end"),
                             environments=p.freeze.environments if p.freeze else None)
                for p in self._planned(start, end)]

    def next_due(self, *, at: datetime, within: timedelta = timedelta(days=1)) -> datetime:
        """When `post_due` next finds something, as things stand: `at` when it does now (an
        announcement it looks at is unclaimed), else the earliest due time of one not yet
        claimed, up to `at + within` (returned when none is due before then)."""
        grace = self._config.announcements.grace
        planned = self._planned(at - grace - STALE_LOOKBACK, at + within)
        if not planned:
            return at + within
        with self._store.transaction() as r:
            first = next((p.due_at for p in planned if not r.announcements.claimed(p.key)),
                         None)
        return at + within if first is None else max(at, first)

    def post_due(self, *, at: datetime | None = None) -> list[str]:
        """Post every announcement due in [at - grace, at] not yet posted by anyone; returns
        the keys this call posted."""
        at = at if at is not None else self._clock.now()
        grace = self._config.announcements.grace
        due = self.plan(start=at - grace - STALE_LOOKBACK, end=at + TICK)
        if not due:
            return []
        with self._store.transaction() as r:
            open_ = [a for a in due if not r.announcements.claimed(a.key)]
        posted: list[str] = []
        for a in open_:
            if a.due_at < at - grace:
                self._skip(a, at=at, grace=grace)
            elif self._post(a, at=at):
                posted.append(a.key)
                self._turn(a)
        return posted

    def _turn(self, a: Announcement) -> None:
        if self._turned is None or not a.turns:
            return
        try:
            self._turned(a.environments)
        except Exception:  # the cards say it on their next change
            log.warning("announcement %s: could not show the waiting requests again", a.key,
                        exc_info=True)

    def skip_stale(self, *, at: datetime) -> list[Announcement]:
        """Claim, without posting and without a warning, every announcement `post_due` would
        skip at `at` as due longer than the grace ago; returns those this call claimed, by
        due time. For a session that begins at `at` (nobody was down before it)."""
        grace = self._config.announcements.grace
        stale = [a for a in self.plan(start=at - grace - STALE_LOOKBACK, end=at + TICK)
                 if a.due_at < at - grace]
        return [a for a in stale if self._claim_unposted(a, at=at)]

    def _claim_unposted(self, a: Announcement, *, at: datetime) -> bool:
        with self._store.transaction() as r:
            return r.announcements.claim(a.key, due_at=a.due_at, at=at)

    def _skip(self, a: Announcement, *, at: datetime, grace: timedelta) -> None:
        if not self._claim_unposted(a, at=at):
            return  # another process posted or skipped it
        log.warning("announcement %s skipped: due %s, %s ago, more than the grace of %s "
                    "(was the bot down?); not replaying it", a.key, a.due_at.isoformat(),
                    at - a.due_at, grace)

    def _post(self, a: Announcement, *, at: datetime) -> bool:
        with self._store.transaction() as r:
            if not r.announcements.claim(a.key, due_at=a.due_at, at=at):
                return False  # another process has it
        try:
            channel, ts = self._poster.post(a.text)
        except Exception:
            log.warning("announcement %s could not be posted; released for a later try",
                        a.key, exc_info=True)
            try:
                with self._store.transaction() as r:
                    r.announcements.release(a.key)
            except Exception:
                log.exception("announcement %s: could not release the claim; it will not "
                              "be posted", a.key)
            return False
        try:
            with self._store.transaction() as r:
                r.announcements.posted(a.key, channel=channel, ts=ts)
        except Exception:  # posted all the same: the claim stands, so no second post
            log.exception("announcement %s posted (%s %s) but not recorded", a.key, channel, ts)
        log.info("announced %s in %s (ts %s)", a.key, channel, ts)
        return True
