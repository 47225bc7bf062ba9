"""The audit log's use cases: recording the Slack request trail (every command, click and
refusal, besides the state changes the other services record), reading it (`/audit`, for the
audit viewers only) and exporting it (`deploybot audit export`).

Recording never holds up an acknowledgement: `note_*` only queues the event in memory
(microseconds, safe on the ack path); the queue is redacted and written in one transaction by
work handed to `defer` (the container's background pool), so a burst of commands is one
insert batch. Nothing unredacted ever leaves memory.
`flush` writes whatever is queued now (at shutdown). An event that could not be written (the
database is down) stays queued, up to `max_queued`, and goes with the next batch.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from bot.config import AppConfig
from bot.domain.audit import (
    CLICK,
    COMMAND,
    REFUSED,
    TEXT_MAX,
    AuditEntry,
    AuditEvent,
    deployment_number,
    environment_named,
    redact,
)
from bot.domain.audit_commands import PAGE_SIZE, AuditArgs, AuditParsed, parse_audit
from bot.errors import Forbidden, RetryableError
from bot.ports import Clock, Store
from bot.services.access import Access

log = logging.getLogger(__name__)

Defer = Callable[[Callable[[], None]], None]

#: Rows per batch read by the export (each batch its own short transaction).
EXPORT_BATCH = 1000
#: Events per insert (each batch its own transaction and its own turn on the pool).
BATCH = 200


@dataclass(frozen=True)
class AuditPage:
    at: datetime
    args: AuditArgs
    events: tuple[AuditEvent, ...]  # newest first
    more: bool  # older events match too (the next page: `before <last id>`)


#: What a note keeps of a text before it is redacted and cut to TEXT_MAX when written.
_RAW_MAX = 4 * TEXT_MAX


def _redacted(entry: AuditEntry) -> AuditEntry:
    """The entry's texts with secrets redacted and cut to TEXT_MAX (off the ack path)."""
    return replace(entry, details={k: redact(v) if isinstance(v, str) else v
                                   for k, v in entry.details.items()})


class AuditService:
    def __init__(self, *, config: AppConfig, store: Store, access: Access, clock: Clock,
                 defer: Defer | None = None, max_queued: int = 10_000) -> None:
        self._config = config
        self._store = store
        self._access = access
        self._clock = clock
        self._defer = defer
        self._max_queued = max_queued
        self._lock = threading.Lock()
        # One batch written at a time: `flush` then waits for a batch a pool thread has
        # taken off the queue and is still writing (else "written" could mean "not yet").
        self._writing = threading.RLock()
        self._queue: deque[AuditEntry] = deque()
        self._scheduled = False

    # -- the request trail (cheap, safe on the ack path) -----------------------------------
    def environment_in(self, text: str) -> str | None:
        """The environment a command's text names, if any."""
        return environment_named(text, self._config.environments.keys())

    def note_command(self, *, user_id: str, command: str, text: str,
                     channel_id: str | None) -> None:
        self._note(AuditEntry(
            action=COMMAND, actor=user_id, at=self._clock.now(),
            details={"command": command[:32], "text": text[:_RAW_MAX]},
            environment=self.environment_in(text), slack_channel=channel_id))

    def note_click(self, *, user_id: str, action_id: str, value: str, block_id: str | None,
                   channel_id: str | None, message_ts: str | None) -> None:
        details: dict[str, object] = {"action_id": action_id[:255], "value": value[:_RAW_MAX]}
        if block_id:
            details["block_id"] = block_id[:255]
        number = deployment_number(value)
        if number is not None:
            details["deployment_id"] = number  # its environment is filled in when written
        self._note(AuditEntry(
            action=CLICK, actor=user_id, at=self._clock.now(), details=details,
            environment=None if number is not None else self.environment_in(value),
            slack_channel=channel_id, slack_ts=message_ts))

    def note_refusal(self, *, user_id: str, request: str, message: str, error: str,
                     environment: str | None, channel_id: str | None,
                     deployment_id: int | None = None) -> None:
        """A user-facing error: `request` is what was asked ("/deploy production v1.2.3",
        "click deploy.approve"), `message` what the user was told, `error` its kind."""
        details: dict[str, object] = {"request": request[:_RAW_MAX],
                                      "message": message[:_RAW_MAX], "error": error[:64]}
        if deployment_id is not None:
            details["deployment_id"] = deployment_id
        self._note(AuditEntry(action=REFUSED, actor=user_id, at=self._clock.now(),
                              details=details, environment=environment,
                              slack_channel=channel_id))

    def _note(self, entry: AuditEntry) -> None:
        with self._lock:
            if len(self._queue) >= self._max_queued:
                dropped = self._queue.popleft()
                log.error("audit queue full: dropped %s by %s at %s", dropped.action,
                          dropped.actor, dropped.at.isoformat())
            self._queue.append(entry)
            if self._scheduled:
                return
            self._scheduled = True
        self._schedule()

    def _schedule(self) -> None:
        """Hand a batch to the pool (`_scheduled` is set); without one, write it now."""
        if self._defer is None:
            self.flush()
            return
        try:
            self._defer(self._flush_scheduled)
        except RuntimeError:  # the pool is shutting down: write it now
            self.flush()

    def _flush_scheduled(self) -> None:
        """A batch of at most BATCH events; the rest waits for its own turn on the pool (so
        acks in flight get the interpreter between batches). After a failure nothing is
        rescheduled: the next event noted tries again."""
        if not self._write(BATCH):
            return
        with self._lock:
            if not self._queue or self._scheduled:
                return
            self._scheduled = True
        self._schedule()

    def flush(self) -> int:
        """Write every queued event now, and wait for a batch being written; how many this
        call wrote."""
        written = 0
        while True:
            n = self._write(BATCH)
            written += n
            with self._lock:
                if not n or not self._queue:
                    return written

    def _write(self, limit: int) -> int:
        """Write (at most `limit` of) the queued events in one transaction."""
        with self._writing:
            return self._write_batch(limit)

    def _write_batch(self, limit: int) -> int:
        with self._lock:
            self._scheduled = False
            batch = [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]
        if not batch:
            return 0
        batch = [_redacted(e) for e in batch]
        try:
            with self._store.transaction() as r:
                r.audit.record_many(batch)
        except RetryableError as e:
            # The database is away for a moment (it says why): one line, no traceback.
            log.warning("could not write %d audit event(s); kept for the next batch: %s",
                        len(batch), e)
            with self._lock:
                room = max(0, self._max_queued - len(self._queue))
                self._queue.extendleft(reversed(batch[-room:] if room else []))
            return 0
        except Exception:  # one bad event must not block the others: write them one by one
            log.exception("could not write a batch of %d audit event(s)", len(batch))
            return sum(self._write_one(e) for e in batch)
        return len(batch)

    def _write_one(self, entry: AuditEntry) -> int:
        try:
            with self._store.transaction() as r:
                r.audit.record_many([entry])
        except Exception:
            log.exception("dropped the audit event %s by %s at %s", entry.action, entry.actor,
                          entry.at.isoformat())
            return 0
        return 1

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- `/audit` ------------------------------------------------------------------------
    def parse(self, text: str) -> AuditParsed:
        return parse_audit(text, environments=self._config.environments.keys(),
                           at=self._clock.now(), zone=self._config.zone)

    def latest(self, args: AuditArgs, *, user_id: str, limit: int = PAGE_SIZE) -> AuditPage:
        if not self._access.may_view_audit(user_id):
            roles = ", ".join(f"`{r}`" for r in self._config.audit.viewers)
            raise Forbidden(f"You may not read the audit log: that needs the {roles} role "
                            "(audit.viewers in app.yaml). Ask a platform admin.")
        at = self._clock.now()
        with self._store.transaction() as r:
            found = list(r.audit.latest(environment=args.environment, since=args.since,
                                        before_id=args.before_id, limit=limit + 1))
        return AuditPage(at=at, args=args, events=tuple(found[:limit]),
                         more=len(found) > limit)


def export_events(store: Store, *, since: datetime | None, environment: str | None,
                  batch: int = EXPORT_BATCH) -> Iterator[AuditEvent]:
    """Every event (at or after `since`, of `environment`) in id order, read a batch at a
    time in short transactions: memory stays flat however long the log, and a SQLite
    database is never held for the whole export."""
    after = 0
    if since is not None:
        with store.transaction() as r:
            start = r.audit.start_id(since)
        if start is None:
            return
        after = start - 1
    while True:
        with store.transaction() as r:
            rows = list(r.audit.batch_after(after, environment=environment, limit=batch))
        for e in rows:
            if since is None or e.at >= since:
                yield e
        if len(rows) < batch:
            return
        after = rows[-1].id
