"""No acknowledged Slack request is silently lost: a request acked ("⏳ Requesting …") whose
process dies before the answer goes out is told to its person once, by another process.

Kept: `note` (on the ack path, after the ack) only queues the request in memory and wakes
the recorder, a thread of this service's own that writes what is queued in one transaction
(`acknowledged_requests`: a batch per burst, what `LINGER_S` gathers): the ack never waits
on the database, and a database that is away costs one warning, never the ack. `answered`
(on the listener pool, once the answer or the error was sent) hands the row to the recorder,
which deletes it with its next batch (the answers of a burst are one transaction too); a
request answered before its row was written is never written. The recorder is not the
listener pool: work queued there (`runner.listener_queue` of it) may wait, its rows must not.
On the ack path `note` asks the system for no random bytes (the call lets go of the GIL):
the id is a counter's; and it wakes the recorder only when that has nothing queued.

Found: `sweep` (the scheduler's `tell-interrupted` job) takes the rows acked more than
`runner.answer_grace` ago by a process other than this one. A process has a new instance id
each start (Container.instance), so every row of a process that stopped is another's; no
process heartbeat exists for web processes (runner leases are the workers', bot.services.
runner.leases), so liveness is the grace: longer than any listener's work takes. Each row is
claimed by a conditional DELETE (one claimant across replicas), then its person is told on
the request's response_url while Slack still takes it (30 minutes), else in a DM, and it is
audited (`request.interrupted`). A message that could not be sent puts the row back for the
next tick.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.acknowledged import (
    INTERRUPTED,
    RESPONSE_URL_VALID_FOR_S,
    URL_MAX,
    WHAT_MAX,
    Acknowledged,
)
from bot.errors import RetryableError
from bot.ports import Clock, DirectMessages, Responses, Store
from bot.presentation.interrupted_views import interrupted_notice

log = logging.getLogger(__name__)

#: Rows written per transaction by the recorder, and claimed per sweep.
BATCH = 200
#: How long the recorder lets a burst of acks gather before writing it (a request noted
#: within this of its process dying has no row: the window left untold).
LINGER_S = 0.05
#: A response_url this close to its 30 minutes is not tried (the DM is sure to arrive).
URL_MARGIN = timedelta(minutes=1)


@dataclass(eq=False)
class Ticket:
    """One acknowledged request in this process: `written` once its row is in the
    database, `answered` once its answer went out."""

    request: Acknowledged
    written: bool = False
    answered: bool = False


class AcknowledgedRequests:
    def __init__(self, *, store: Store, clock: Clock, instance: str, grace: timedelta,
                 zone: ZoneInfo, channel: str, responses: Responses,
                 direct: DirectMessages) -> None:
        self._store = store
        self._clock = clock
        self._instance = instance
        self._grace = grace
        self._zone = zone
        self._channel = channel
        self._responses = responses
        self._direct = direct
        self._cond = threading.Condition()
        self._queue: deque[Ticket] = deque()
        self._forgets: list[str] = []  # written, then answered: deleted with the next batch
        self._unforgotten: list[str] = []  # answered, but the delete failed: tried again
        # A row's id: this process's random prefix and a serial. Not uuid4 per request:
        # os.urandom lets go of the GIL, and on the ack path under load taking it back
        # waits behind the other threads (benchmarks/README.md, "the recorder's cost").
        self._id_prefix = uuid.uuid4().hex[:16]
        self._serial = itertools.count()
        self._thread: threading.Thread | None = None
        self._busy = False  # the recorder is writing a batch
        self._closed = False

    # -- kept: cheap on the ack path, written by the recorder ------------------------------
    def note(self, what: str, *, user_id: str, response_url: str | None) -> Ticket:
        """Queue the request acked just now (memory only: safe on the ack path)."""
        url = response_url if response_url and len(response_url) <= URL_MAX else None
        ticket = Ticket(Acknowledged(id=f"{self._id_prefix}{next(self._serial):016x}",
                                     what=what[:WHAT_MAX],
                                     user_id=user_id[:32], response_url=url,
                                     instance=self._instance, created_at=self._clock.now()))
        with self._cond:
            if self._closed:
                return ticket  # shutting down: nothing more is written
            self._queue.append(ticket)
            if self._thread is None:
                self._thread = threading.Thread(target=self._record, daemon=True,
                                                name="acknowledged-recorder")
                self._thread.start()
            # Woken only when it has nothing yet (else it is lingering or writing and takes
            # this with its batch) or a batch is full: a wake-up per ack would be a switch
            # to the recorder's thread per ack.
            if (len(self._queue) == 1 and not self._forgets) or len(self._queue) == BATCH:
                self._cond.notify_all()
        return ticket

    def answered(self, ticket: Ticket) -> None:
        """The answer (or the error) was sent: forget the request (on the listener pool;
        its row, if written, is deleted by the recorder with its next batch)."""
        with self._cond:
            ticket.answered = True
            if not ticket.written:
                return  # never written, or the recorder deletes it once written
            if not self._closed:
                self._forgets.append(ticket.request.id)
                if len(self._forgets) == 1 and not self._queue:
                    self._cond.notify_all()
                return
        self._forget([ticket.request.id])  # the recorder is stopping: now, here

    def _record(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue or self._forgets)
                                    or self._closed)
                if not self._queue and not self._forgets and self._closed:
                    return
                # A burst of acks is one transaction, not one each: let it gather a moment.
                self._cond.wait_for(lambda: self._closed or len(self._queue) >= BATCH,
                                    timeout=LINGER_S)
                batch = [t for t in (self._queue.popleft()
                                     for _ in range(min(BATCH, len(self._queue))))
                         if not t.answered]
                retry, self._unforgotten = self._forgets + self._unforgotten, []
                self._forgets = []
                self._busy = True
            try:
                ok = self._write(batch)
                with self._cond:
                    for t in batch:
                        t.written = ok
                    late = [t.request.id for t in batch if ok and t.answered]
                if late or retry:
                    self._forget(late + retry)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, batch: list[Ticket]) -> bool:
        if not batch:
            return True
        try:
            with self._store.transaction() as r:
                r.acknowledged.record_many([t.request for t in batch])
        except RetryableError as e:
            log.warning("could not keep %d acknowledged request(s) (a restart before they "
                        "are answered would go untold): %s", len(batch), e)
            return False
        except Exception:
            log.exception("could not keep %d acknowledged request(s)", len(batch))
            return False
        return True

    def _forget(self, ids: list[str]) -> None:
        try:
            with self._store.transaction() as r:
                for request_id in ids:
                    r.acknowledged.forget(request_id)
        except Exception as e:  # tried again with the recorder's next batch
            log.warning("could not forget %d answered request(s); will try again: %s",
                        len(ids), e)
            with self._cond:
                self._unforgotten.extend(ids)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the recorder has written (or failed to write) everything noted."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._queue and not self._forgets and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the recorder."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # -- found and told --------------------------------------------------------------------
    def sweep(self, *, at: datetime) -> int:
        """Tell the people whose requests a process that stopped left unanswered (acked more
        than the grace ago by another process), each once; how many were told."""
        with self._store.transaction() as r:
            lost = r.acknowledged.left_behind(before=at - self._grace,
                                              other_than=self._instance, limit=BATCH)
        told = 0
        for request in lost:
            with self._store.transaction() as r:
                if not r.acknowledged.claim(request.id):
                    continue  # another replica has it
            try:
                where = self._tell(request, at)
            except Exception as e:
                log.warning("could not tell %s that %r was interrupted; trying again at the "
                            "next sweep: %s", request.user_id, request.what, e)
                with self._store.transaction() as r:
                    r.acknowledged.record_many([request])
                continue
            with self._store.transaction() as r:
                r.audit.record(INTERRUPTED, actor=request.user_id, at=at, details={
                    "request": request.what, "acknowledged_at": request.created_at.isoformat(),
                    "instance": request.instance, "told": where})
            log.info("told %s that %r (acked by %s at %s) was interrupted", request.user_id,
                     request.what, request.instance, request.created_at.isoformat())
            told += 1
        return told

    def _tell(self, request: Acknowledged, at: datetime) -> str:
        """Where the person was told: "response_url" or "dm"."""
        msg = interrupted_notice(request.what, request.created_at, self._zone,
                                 channel=self._channel, now=at)
        valid_until = (request.created_at + timedelta(seconds=RESPONSE_URL_VALID_FOR_S)
                       - URL_MARGIN)
        if request.response_url and at < valid_until and self._responses.respond_later(
                request.response_url, msg.text, msg.blocks):
            return "response_url"
        self._direct.direct_message(request.user_id, msg.text, msg.blocks)
        return "dm"

    def next_due(self) -> datetime | None:
        """When `sweep` can next find something: the oldest row of another process plus
        the grace (None: there is none)."""
        with self._store.transaction() as r:
            oldest = r.acknowledged.oldest(other_than=self._instance)
        return None if oldest is None else oldest + self._grace
