"""Each Slack request handled once across every replica: `SlackRequests.first_time`.

Slack retries a request it thinks timed out (Events API callbacks: up to three times, with
`X-Slack-Retry-Num` and `X-Slack-Retry-Reason`), and behind a load balancer the retry may
land on another replica than the first attempt. Neither slack-bolt nor Slack dedupes that,
so the first attempt claims the request's key (the `trigger_id` of a command or click, the
`event_id` of an event) in the announcement claim table (key `slack-request:<key>`, a
unique primary key: one INSERT decides, in any process) before anything is done; an attempt
that finds the key claimed is a repeat and does nothing. A key is claimed before the request
is handled, so a retry that arrives while the first attempt still runs is a repeat too.

Slack retries within minutes and refuses a request signed more than 5 minutes ago, so a
claim is kept for `KEEP` and then deleted, a batch at a time, by about one claim in
`PRUNE_EVERY` (no scheduled job needed; whichever process it falls to).

The claim is on the ack path, so it must be cheap. With a store that one process has to
itself (`shared=False`: SQLite, the embedded default, where replicas are not possible) the
keys are kept in memory (`LOCAL_KEYS` of them): an INSERT there would wait behind SQLite's
single writer while the background pool writes deployments, and a 50-request burst then
took ten times the bare app's ack (benchmarks/ack_latency.py). With a shared store
(PostgreSQL) the INSERT decides across replicas and does not queue behind other writers.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from bot.errors import RetryableError
from bot.ports import Clock, Store

log = logging.getLogger(__name__)

PREFIX = "slack-request:"
#: How long a claim is kept: far longer than Slack retries (minutes) or honours a signature.
KEEP = timedelta(days=1)
#: About one claim in this many also deletes the claims older than KEEP.
PRUNE_EVERY = 500
#: Without a shared store: how many request keys this process remembers (Slack retries
#: within minutes; this is hours of a busy workspace's requests).
LOCAL_KEYS = 100_000


class SlackRequests:
    def __init__(self, *, store: Store, clock: Clock, shared: bool = True,
                 prune_every: int = PRUNE_EVERY, local_keys: int = LOCAL_KEYS) -> None:
        self._store = store
        self._clock = clock
        self._shared = shared
        self._prune_every = prune_every
        self._claims = itertools.count(1)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._local_keys = local_keys

    def first_time(self, key: str) -> bool | None:
        """Claim `key`: True for the first attempt, False when some process claimed it
        before (a retry, a replay), None when the database cannot say (it is away)."""
        if not self._shared:
            with self._seen_lock:
                if key in self._seen:
                    return False
                self._seen[key] = None
                if len(self._seen) > self._local_keys:
                    self._seen.popitem(last=False)
                return True
        at = self._clock.now()
        try:
            with self._store.transaction() as r:
                first = r.announcements.claim(f"{PREFIX}{key}"[:255], due_at=at, at=at)
        except RetryableError as e:
            log.warning("could not claim Slack request %s: %s", key, e)
            return None
        if next(self._claims) % self._prune_every == 0:
            self.prune(at=at)
        return first

    def prune(self, *, at: datetime) -> int:
        """Delete the claims older than KEEP; how many (0 when the database is away)."""
        try:
            with self._store.transaction() as r:
                return r.announcements.forget(PREFIX, claimed_before=at - KEEP)
        except RetryableError as e:
            log.warning("could not delete old Slack request claims: %s", e)
            return 0
