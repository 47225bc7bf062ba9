"""Automatic deploys by polling GitHub, for when webhooks cannot arrive (no
GITHUB_WEBHOOK_SECRET, or Socket Mode: config `github.poll`).

Each `poll` (a scheduler job, every `github.poll_every`) reads, per configured repository,
the head commit of every `auto_deploy` branch and, when a service has `pull_requests`, the
open pull requests. Every head is turned into the event a webhook would have delivered
(bot/domain/github_polling.py) and, when its claim key is new, handed to the SAME processing
as a webhook delivery (`GitHubWebhooks.process`: the same targets, version rule, policy,
announcement of a refused deploy, and `github.delivery` audit, whose `delivery` is the claim
key). The claim makes a head count once across processes and restarts; the first look ever
at a branch (or a repository's pull requests) is a baseline: it claims what is there without
deploying it.

A head refused only because another deployment of the service is in flight there waits (its
waiting key, written by that processing): every later look hands it on again for that
service, by the one process that deletes the key (a conditional DELETE, in the claim
transaction), until it is admitted or refused otherwise (then nobody writes the key again),
or the branch (pull request) has a newer head: then the key is dropped as superseded, noted
in the newer head's audit, and the newer head is what deploys.

Pull request previews (`pull_requests: {..., per_pr: true}`): every pull request seen open is
remembered by a claim key while it is open; one that left the open list was closed, and is
handed on once as the `closed` delivery a webhook would have made (its preview is removed).

Rate limits: when GitHub says the limit is used up, polling stops until it resets (the
`X-RateLimit-Reset` time, else `Retry-After`, else one period), with one log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import AppConfig
from bot.domain.github_polling import (
    Seen,
    branch_baseline_key,
    branch_head,
    open_pull_key,
    open_pull_number,
    open_pulls_prefix,
    pull_closed,
    pull_head,
    pulls_baseline_key,
    waiting,
    waiting_prefix,
)
from bot.errors import DeploybotError, RateLimited
from bot.ports import Clock, Repositories, RepositoryHeads, Store
from bot.services.github_webhooks import GitHubWebhooks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Watched:
    """One repository to poll: its branches with an automatic deploy, and whether a service
    of it deploys pull requests."""

    repository: str
    branches: tuple[str, ...]
    pulls: bool
    previews: bool = False  # a service of it deploys each pull request to its own instance


@dataclass(frozen=True)
class Look:
    """What one look at one thing (a branch, or the pull requests) saw, under its baseline."""

    baseline: str
    heads: tuple[Seen, ...]
    #: (repository, the pull requests open now): when previews are removed on close
    open_pulls: tuple[str, tuple[int, ...]] | None = None


@dataclass(frozen=True)
class Handoff:
    """A head to hand on: new (`only` None), or waiting, looked at again for `only` (its
    services); `notes` go into its audit (waiting heads it superseded)."""

    seen: Seen
    only: frozenset[str] | None = None
    notes: tuple[str, ...] = field(default=())


class GitHubPolling:
    def __init__(self, *, config: AppConfig, store: Store, heads: RepositoryHeads,
                 automatic: GitHubWebhooks, clock: Clock) -> None:
        self._config = config
        self._store = store
        self._heads = heads
        self._automatic = automatic
        self._clock = clock
        self._backoff_until: datetime | None = None
        automatic.retried_every(config.github.poll_every)

    @property
    def backoff_until(self) -> datetime | None:
        return self._backoff_until

    def watched(self) -> list[Watched]:
        """The repositories with an automatic deploy, as configured (case-insensitively one
        entry per repository)."""
        by_repo: dict[str, tuple[str, set[str], bool, bool]] = {}
        for _name, svc in sorted(self._config.services.items()):
            gh = svc.github
            if gh is None or not (gh.auto_deploy or gh.pull_requests):
                continue
            repo, branches, pulls, previews = by_repo.get(
                gh.repository.lower(), (gh.repository, set(), False, False))
            by_repo[gh.repository.lower()] = (repo, branches | set(gh.auto_deploy),
                                              pulls or gh.pull_requests is not None,
                                              previews or gh.per_pr)
        return [Watched(repo, tuple(sorted(branches)), pulls, previews)
                for repo, branches, pulls, previews in by_repo.values()]

    def poll(self) -> int:
        """Look once; returns how many heads (new, or waiting) were handed to the automatic
        deploys."""
        at = self._clock.now()
        if self._backoff_until is not None:
            if at < self._backoff_until:
                log.info("GitHub polling: rate limited, waiting until %s",
                         f"{self._backoff_until:%Y-%m-%d %H:%M:%S} UTC")
                return 0
            self._backoff_until = None
        handled = 0
        for w in self.watched():
            try:
                looks = self._look(w)
            except RateLimited as e:
                self._backoff_until = (
                    e.reset_at if e.reset_at is not None and e.reset_at > at
                    else at + (e.retry_after or self._config.github.poll_every))
                log.warning("GitHub polling: %s; backing off until %s", e,
                            f"{self._backoff_until:%Y-%m-%d %H:%M:%S} UTC")
                return handled
            except DeploybotError as e:
                log.warning("GitHub polling of %s failed: %s", w.repository, e)
                continue
            for h in self._claim(looks, at=at):
                self._automatic.process(h.seen.event, h.seen.key, only=h.only, notes=h.notes)
                handled += 1
        return handled

    def _look(self, w: Watched) -> list[Look]:
        looks: list[Look] = []
        for branch in w.branches:
            head = self._heads.branch_head(w.repository, branch)
            heads = (branch_head(w.repository, branch, head),) if head else ()
            looks.append(Look(branch_baseline_key(w.repository, branch), heads))
        if w.pulls:
            pulls = self._heads.open_pulls(w.repository)
            ordered = sorted(pulls, key=lambda p: p.number)
            looks.append(Look(pulls_baseline_key(w.repository),
                              tuple(pull_head(w.repository, p) for p in ordered),
                              (w.repository, tuple(p.number for p in ordered))
                              if w.previews else None))
        return looks

    def _claim(self, looks: list[Look], *, at: datetime) -> list[Handoff]:
        """The heads this process is first to see, and the waiting heads it takes, in one
        transaction: a look whose baseline key is new claims its heads without returning
        them (already there). Another process claiming (or deleting) the same keys at the
        same time waits for this transaction (unique key; DELETE of one row)."""
        out: list[Handoff] = []
        with self._store.transaction() as r:
            for look in looks:
                first = r.announcements.claim(look.baseline, due_at=at, at=at)
                retries, superseded = self._waiting(r, look)
                fresh = [seen for seen in look.heads
                         if r.announcements.claim(seen.key, due_at=at, at=at) and not first]
                handoffs = ([Handoff(seen) for seen in fresh]
                            + [Handoff(seen, frozenset(only)) for seen, only in retries])
                if superseded and handoffs:  # told with what moved on
                    handoffs[0] = Handoff(handoffs[0].seen, handoffs[0].only, superseded)
                elif superseded:
                    log.info("GitHub polling: %s", "; ".join(superseded))
                out.extend(handoffs)
                if look.open_pulls is not None:
                    out.extend(Handoff(seen) for seen in
                               self._closed(r, *look.open_pulls, at=at))
        return out

    @staticmethod
    def _waiting(r: Repositories, look: Look
                 ) -> tuple[list[tuple[Seen, set[str]]], tuple[str, ...]]:
        """The look's waiting heads this process takes (deletes the key of), by head, with
        their services; and what it dropped as superseded (no longer a head of the look)."""
        taken: dict[str, tuple[Seen, set[str]]] = {}
        superseded: list[str] = []
        for key in r.announcements.keys(waiting_prefix(look.baseline)):
            w = waiting(look.baseline, key, look.heads)
            if not r.announcements.drop(key):
                continue  # another process took it
            if w.seen is None:
                superseded.append(f"{w.service}: {w.version} no longer waits: superseded "
                                  "by this head")
            else:
                taken.setdefault(w.seen.key, (w.seen, set()))[1].add(w.service)
        return list(taken.values()), tuple(superseded)

    @staticmethod
    def _closed(r: Repositories, repository: str, open_now: tuple[int, ...], *,
                at: datetime) -> list[Seen]:
        """The pull requests seen open before that are no longer (closed or merged): each
        handed on by the one process that deletes its open key."""
        keys = {open_pull_key(repository, n) for n in open_now}
        for key in sorted(keys):
            r.announcements.claim(key, due_at=at, at=at)
        closed: list[Seen] = []
        for key in r.announcements.keys(open_pulls_prefix(repository)):
            number = open_pull_number(repository, key)
            if key not in keys and number is not None and r.announcements.drop(key):
                closed.append(pull_closed(repository, number))
        return closed
