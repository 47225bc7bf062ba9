"""Use cases of `/freeze`: add and remove freezes at run time (restricted to the freeze
managers, audited, announced), list every freeze from every source, and the deploy-window
status per environment.

Each change is one transaction on the store; the announcement in the deployments channel
is posted after it commits (a failed post is logged and reported, the change stands). A
removal tells `reopened` (the deploys queued behind the freeze may go now). A freeze added
already begun, or removed while on, is told to `turned` (the cards of the requests awaiting
approval there are shown again: bot.services.deployments `show_awaiting`), as the start and
end announcements are (bot.services.announcements).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.config import AppConfig
from bot.domain.announcements import freeze_announcements
from bot.domain.freeze_commands import FreezeAddArgs, FreezeParsed, parse_freeze
from bot.domain.freezes import Freeze, RuntimeFreeze
from bot.domain.policy import local
from bot.errors import Conflict, DeploybotError, Forbidden, NotFound
from bot.ports import Clock, Poster, Store
from bot.presentation.freeze_views import freeze_added_announcement, freeze_removed_announcement
from bot.services.access import Access
from bot.services.policy import PolicyService, WindowStatus

log = logging.getLogger(__name__)

#: How far ahead `/freeze list` and `/freeze` show freezes.
LOOKAHEAD = timedelta(days=30)


@dataclass(frozen=True)
class FreezeEntry:
    """One freeze as listed: `number` and `created_by` only for freezes added from Slack."""

    freeze: Freeze
    active: bool
    number: int | None = None
    created_by: str | None = None


@dataclass(frozen=True)
class FreezeListing:
    at: datetime
    within: timedelta
    entries: tuple[FreezeEntry, ...]


@dataclass(frozen=True)
class FreezeChange:
    """The outcome of an add or remove; `announced` is False when the channel post failed."""

    freeze: RuntimeFreeze
    by: str
    announced: bool


@dataclass(frozen=True)
class FreezeStatus:
    at: datetime
    within: timedelta
    environments: tuple[WindowStatus, ...]


class Reopened(Protocol):
    """What is told a freeze was removed (the deploys queued behind it:
    bot.services.scheduled `bring_forward`)."""

    def __call__(self, environments: frozenset[str] | None, *, at: datetime) -> object: ...


class FreezeService:
    def __init__(self, *, config: AppConfig, store: Store, policy: PolicyService,
                 access: Access, clock: Clock, poster: Poster,
                 reopened: Reopened | None = None,
                 turned: Callable[[frozenset[str] | None], object] | None = None) -> None:
        self._reopened = reopened
        self._turned = turned
        self._config = config
        self._store = store
        self._policy = policy
        self._access = access
        self._clock = clock
        self._poster = poster

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def parse(self, text: str) -> FreezeParsed:
        return parse_freeze(text, environments=self._config.environments.keys(),
                            zone=self._config.zone, at=self._clock.now())

    # -- add / remove --------------------------------------------------------------------
    def _check_may_manage(self, user_id: str, what: str) -> None:
        if not self._access.may_manage_freezes(user_id):
            roles = ", ".join(f"`{r}`" for r in self._config.freezes.managers)
            raise Forbidden(f"You may not {what} freezes: that needs the {roles} role. "
                            "Ask a platform admin to add you in app.yaml.")

    def add(self, args: FreezeAddArgs, *, user_id: str) -> FreezeChange:
        self._check_may_manage(user_id, "add")
        at = self._clock.now()
        if args.end <= at:
            raise Conflict(f"That freeze is over already: it ended "
                           f"{local(args.end, self._config.zone)}; nothing was added.")
        with self._store.transaction() as r:
            rf = r.freezes.add(name=args.name, start=args.start, end=args.end,
                               reason=args.reason, environments=args.environments,
                               created_by=user_id, at=at)
            # What was due about it before it existed (a warning whose lead has passed, its
            # start when it began already) is let go: the add's announcement says when it
            # starts; the job would otherwise log each as missed ('was the bot down?'), or
            # post 'starts in 1 hour' late, within the grace.
            for a in freeze_announcements(rf.freeze, self._config.announcements.freeze_warnings):
                if a.due_at <= at:
                    r.announcements.claim(a.key, due_at=a.due_at, at=at)
            r.audit.record("freeze.added", actor=user_id, at=at, details={
                "number": rf.number, "name": args.name, "start": args.start.isoformat(),
                "end": args.end.isoformat(), "reason": args.reason,
                "environments": list(args.environments) if args.environments else None,
            })
        text = freeze_added_announcement(rf, self._config.zone)
        change = FreezeChange(freeze=rf, by=user_id, announced=self._announce(text))
        if rf.freeze.covers(at):  # on already: the waiting requests' cards say it
            self._turn(rf.freeze.environments)
        return change

    def remove(self, number: int, user_id: str) -> FreezeChange:
        self._check_may_manage(user_id, "remove")
        at = self._clock.now()
        with self._store.transaction() as r:
            rf = r.freezes.get(number)
            if rf is not None and rf.freeze.end <= at:
                raise Conflict(f"Freeze #{number} ({rf.freeze.name}) is over already: it "
                               f"ended {local(rf.freeze.end, self._config.zone)}; nothing "
                               "was removed.")
            if rf is None or not r.freezes.remove(number, by=user_id, at=at):
                raise NotFound(f"There is no freeze #{number} to remove (it never existed or "
                               "was removed already). `/freeze list` shows the current ones "
                               "with their numbers.")
            r.audit.record("freeze.removed", actor=user_id, at=at, details={
                "number": number, "name": rf.freeze.name,
                "start": rf.freeze.start.isoformat(), "end": rf.freeze.end.isoformat(),
                "created_by": rf.created_by,
            })
        if self._reopened is not None:  # the deploys queued behind it may go now
            try:
                self._reopened(rf.freeze.environments, at=at)
            except DeploybotError:
                log.warning("freeze #%s removed; the deploys queued behind it keep their "
                            "time", number, exc_info=True)
        text = freeze_removed_announcement(rf, user_id, self._config.zone)
        change = FreezeChange(freeze=rf, by=user_id, announced=self._announce(text))
        if rf.freeze.covers(at):  # it was on: the waiting requests' cards no longer say it
            self._turn(rf.freeze.environments)
        return change

    def _turn(self, environments: frozenset[str] | None) -> None:
        if self._turned is None:
            return
        try:
            self._turned(environments)
        except DeploybotError:  # the cards say it on their next change
            log.warning("could not show the requests awaiting approval again",
                        exc_info=True)

    def _announce(self, text: str) -> bool:
        try:
            self._poster.post(text)
        except DeploybotError:
            log.warning("could not announce a freeze change in the deployments channel",
                        exc_info=True)
            return False
        return True

    # -- reading -------------------------------------------------------------------------
    def list(self, at: datetime | None = None, *, within: timedelta = LOOKAHEAD) -> FreezeListing:
        """Every freeze, from every source, active at `at` or starting within `within`."""
        at = self._clock.now() if at is None else at
        horizon = at + within
        fixed = self._policy.freezes(at=at, horizon=within, include_runtime=False)
        with self._store.transaction() as r:
            runtime = list(r.freezes.current(at))
        entries = [FreezeEntry(freeze=f, active=f.covers(at)) for f in fixed
                   if f.end > at and f.start < horizon]
        entries += [FreezeEntry(freeze=rf.freeze, active=rf.freeze.covers(at), number=rf.number,
                                created_by=rf.created_by)
                    for rf in runtime if rf.freeze.start < horizon]
        entries.sort(key=lambda e: (e.freeze.start, e.freeze.end, e.freeze.id))
        return FreezeListing(at=at, within=within, entries=tuple(entries))

    def status(self, at: datetime | None = None, *,
               within: timedelta = LOOKAHEAD) -> FreezeStatus:
        """Per environment: open now or not and why, the next change, upcoming freezes."""
        at = self._clock.now() if at is None else at
        return FreezeStatus(at=at, within=within, environments=tuple(
            self._policy.status(env, at=at, within=within) for env in self._config.environments
        ))
