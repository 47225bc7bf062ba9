"""Use cases of deploy locks: `/lock`, `/unlock`, the list of locks in force, the check a
deploy passes before it is requested (and the runner before it starts), and the release of
expired locks by the scheduler.

Who may: locking needs the environment's deployers role; unlocking is for the holder, or
the environment's approvers (its deployers where it needs no approval). A lock refuses every
deployment of that service to that environment except the holder's own and rollbacks (a
rollback is the fix). Each change is one transaction and an audit event; the announcement
in the deployments channel is posted after it commits (a failed post is logged and
reported, the change stands). An expired lock is released with a conditional UPDATE, so it
is announced once however many bot processes run the expiry job.
"""

from __future__ import annotations

import builtins
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.config import AppConfig
from bot.domain.deployment import Kind
from bot.domain.lock_commands import (
    LockArgs,
    LockParsed,
    UnlockArgs,
    UnlockParsed,
    parse_lock,
    parse_unlock,
)
from bot.domain.locks import EXPIRY, MANUAL, Lock
from bot.errors import Conflict, DeploybotError, Forbidden, NotFound
from bot.ports import Clock, DeployRefusals, Poster, Store
from bot.presentation.lock_views import (
    already_locked,
    expiry_announcement,
    lock_announcement,
    refusal,
    unlock_announcement,
    where,
)
from bot.services.access import Access

log = logging.getLogger(__name__)


class Locked(Conflict):
    """A deploy refused because someone else holds the lock on that service there."""

    icon = "🔒"  # shown instead of the usual ⚠️ (handlers.replies)

    def __init__(self, lock: Lock, message: str) -> None:
        super().__init__(message)
        self.lock = lock


@dataclass(frozen=True)
class LockChange:
    """A lock taken or released; `announced` is False when the channel post failed."""

    lock: Lock
    by: str
    at: datetime
    announced: bool


@dataclass(frozen=True)
class LockListing:
    at: datetime
    locks: tuple[Lock, ...]


def lock_details(lock: Lock) -> dict[str, object]:
    """A lock as its audit events record it (`lock.locked`, `lock.released`, …)."""
    return {"lock_id": lock.id, "environment": lock.environment, "service": lock.service,
            "holder": lock.holder, "reason": lock.reason, "origin": lock.origin,
            "since": lock.created_at.isoformat(),
            "expires_at": lock.expires_at.isoformat() if lock.expires_at else None}


class LockService:
    def __init__(self, *, config: AppConfig, store: Store, access: Access, clock: Clock,
                 poster: Poster) -> None:
        self._config = config
        self._store = store
        self._access = access
        self._clock = clock
        self._poster = poster
        self._refusals: builtins.list[DeployRefusals] = []

    def watch(self, listener: DeployRefusals) -> None:
        """Tell `listener` of each deploy request a lock refuses (the alert router)."""
        self._refusals.append(listener)

    # -- parsing (pure, safe on the ack path) -------------------------------------------
    def _services(self) -> dict[str, list[str]]:
        envs = list(self._config.environments)
        return {name: list(svc.environments or envs)
                for name, svc in self._config.services.items()}

    def parse(self, text: str) -> LockParsed:
        return parse_lock(text, environments=self._config.environments.keys(),
                          services=self._services(),
                          max_duration=self._config.locks.max_duration)

    def parse_unlock(self, text: str) -> UnlockParsed:
        return parse_unlock(text, environments=self._config.environments.keys(),
                            services=self._services())

    # -- who may ---------------------------------------------------------------------------
    def may_unlock(self, user_id: str, lock: Lock) -> bool:
        """The holder; else the environment's approvers, or its deployers where it needs
        no approval."""
        if user_id == lock.holder:
            return True
        if self._config.environments[lock.environment].approval is not None:
            return self._access.may_approve(user_id, lock.environment)
        return self._access.may_deploy(user_id, lock.environment)

    def _unlockers(self, environment: str) -> str:
        env = self._config.environments[environment]
        roles = env.approval.approvers if env.approval is not None else env.deployers
        return ", ".join(f"`{r}`" for r in roles)

    # -- lock / unlock ---------------------------------------------------------------------
    def lock(self, args: LockArgs, *, user_id: str) -> LockChange:
        env = args.environment
        if not self._access.may_deploy(user_id, env):
            roles = ", ".join(f"`{r}`" for r in self._config.environments[env].deployers)
            raise Forbidden(f"You may not lock {env}: that needs the {roles} role (who may "
                            f"deploy there). Ask a platform admin to add you in app.yaml.")
        at = self._clock.now()
        # A lock that ran out but is not released yet is announced as expired first.
        self.expire_due(at=at, environment=env, service=args.service)
        expires_at = at + args.duration if args.duration is not None else None
        with self._store.transaction() as r:
            lock = r.locks.acquire(environment=env, service=args.service, holder=user_id,
                                   reason=args.reason, at=at, expires_at=expires_at,
                                   origin=MANUAL)
            if lock is None:
                held = r.locks.get(env, args.service, at=at)
                if held is None:  # released again in the meantime
                    raise Conflict(f"The lock on {args.service} in {env} changed just now; "
                                   "nothing was done. Please try again.")
                raise Conflict(already_locked(held, self._config.zone, user_id=user_id))
            r.audit.record("lock.locked", actor=user_id, at=at, details=lock_details(lock),
                           environment=env)
        announced = self._announce(lock_announcement(lock, self._config.zone))
        return LockChange(lock=lock, by=user_id, at=at, announced=announced)

    def unlock(self, args: UnlockArgs, *, user_id: str) -> LockChange:
        env, service = args.environment, args.service
        at = self._clock.now()
        with self._store.transaction() as r:
            lock = r.locks.get(env, service, at=at)
        if lock is None:
            self.expire_due(at=at, environment=env, service=service)
            raise NotFound(f"{service} in {env} is not locked; there is nothing to unlock. "
                           "`/lock list` shows the locks in force.")
        if not self.may_unlock(user_id, lock):
            raise Forbidden(f"Only <@{lock.holder}>, who holds the lock on {where(lock)}, or "
                            f"the {self._unlockers(env)} role may unlock it. Ask them.")
        with self._store.transaction() as r:
            if not r.locks.release(lock.id, by=user_id, at=at):
                raise Conflict(f"The lock on {where(lock)} was released just now by someone "
                               "else; nothing more was done.")
            r.audit.record("lock.released", actor=user_id, at=at,
                           details=lock_details(lock) | {"held_for_seconds": int(
                               lock.age(at).total_seconds())}, environment=env)
        announced = self._announce(unlock_announcement(lock, user_id, self._config.zone))
        return LockChange(lock=lock, by=user_id, at=at, announced=announced)

    # -- reading and checking ----------------------------------------------------------------
    def list(self) -> LockListing:
        at = self._clock.now()
        with self._store.transaction() as r:
            locks = tuple(r.locks.active(at))
        return LockListing(at=at, locks=locks)

    def check(self, environment: str, service: str, *, user_id: str, at: datetime,
              kind: Kind = Kind.DEPLOY, prefix: str = "") -> None:
        """Raise `Locked` when a lock held by someone other than `user_id` refuses a
        deployment of `kind` there (a rollback never is); `prefix` opens the message."""
        if kind is Kind.ROLLBACK:
            return
        with self._store.transaction() as r:
            lock = r.locks.get(environment, service, at=at)
        self.refuse(lock, user_id=user_id, at=at, kind=kind, prefix=prefix)

    def refuse(self, lock: Lock | None, *, user_id: str, at: datetime,
               kind: Kind = Kind.DEPLOY, prefix: str = "", faulty: str | None = None) -> None:
        """`check` for a lock the caller loaded already (in its own transaction); `faulty`:
        the version asked for, when it is marked faulty there too (the refusal names both,
        and the way through both)."""
        if lock is not None and lock.blocks(user_id, kind=kind):
            reason = refusal(lock, self._config.zone, faulty=faulty)
            if kind is Kind.DEPLOY:
                for listener in self._refusals:
                    listener.deploy_refused(lock, user_id=user_id, at=at, reason=reason)
            raise Locked(lock, prefix + reason)

    # -- expiry (the scheduler's job) ------------------------------------------------------
    def next_due(self) -> datetime | None:
        """When `expire_due` next finds a lock, as things stand; None when none expires."""
        with self._store.transaction() as r:
            return r.locks.next_expiry()

    def expire_due(self, *, at: datetime, environment: str | None = None,
                   service: str | None = None) -> builtins.list[int]:
        """Release and announce each lock whose time is up (optionally only the one on
        `service` in `environment`); the ids of those this call released."""
        with self._store.transaction() as r:
            due = [lk for lk in r.locks.expired(at)
                   if environment in (None, lk.environment) and service in (None, lk.service)]
        released: builtins.list[int] = []
        for lock in due:
            with self._store.transaction() as r:
                if not r.locks.release(lock.id, by=EXPIRY, at=at):
                    continue  # released by its holder, or by another process's job
                r.audit.record("lock.expired", actor="deploybot", at=at,
                               details=lock_details(lock), environment=lock.environment)
            self._announce(expiry_announcement(lock, self._config.zone))
            released.append(lock.id)
        return released

    def _announce(self, text: str) -> bool:
        try:
            self._poster.post(text)
        except DeploybotError:
            log.warning("could not announce a lock change in the deployments channel",
                        exc_info=True)
            return False
        return True
