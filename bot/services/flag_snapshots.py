"""The record's "Feature flags set" (issue 17): the flags a deploy's service declares, read
where its environment's flags live when its rollout starts (`at_start`, called by the
runner) and kept with the deployment (bot.store.flag_snapshots), so the record shows what
was set then, not what is set now (`of`, asked by the notifier for every record). A resumed
deployment keeps the first reading; a store or flag service that cannot be read is kept as
such ("could not be read: …"). Neither call ever raises: the caller is the runner, or the
notifier rendering a card."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from bot.domain.deployment import Deployment, Kind
from bot.domain.flag_status import FlagReading
from bot.errors import DeploybotError
from bot.ports import Store
from bot.services.flag_reads import FlagReader

log = logging.getLogger(__name__)


class FlagSnapshots:
    def __init__(self, *, store: Store, reader: FlagReader, size: int = 512) -> None:
        self._store = store
        self._reader = reader
        self._size = size
        #: readings kept (they never change once kept): the last `size` deployments
        self._known: OrderedDict[int, FlagReading] = OrderedDict()
        self._guard = threading.Lock()

    def at_start(self, d: Deployment) -> None:
        """`d`'s rollout starts (or resumes): read its service's declared flags and keep
        them, unless a reading is kept already. Never raises."""
        if d.kind is not Kind.DEPLOY or not self._reader.applies(d.environment, d.service):
            return
        try:
            with self._store.transaction() as r:
                if r.flag_snapshots.get(d.id) is not None:
                    return
            reading = self._reader.reading(d.environment, d.service)
            if reading is None:
                return
            with self._store.transaction() as r:
                r.flag_snapshots.keep(d.id, reading)
        except DeploybotError:
            log.warning("deployment %s: the feature flags set could not be kept", d.id,
                        exc_info=True)

    def of(self, d: Deployment) -> FlagReading | None:
        """The flags kept when `d`'s rollout started (None: none kept, or not a deploy of a
        service declaring flags). Never raises."""
        if d.kind is not Kind.DEPLOY or not self._reader.declared(d.service):
            return None
        with self._guard:
            if d.id in self._known:
                return self._known[d.id]
        try:
            with self._store.transaction() as r:
                kept = r.flag_snapshots.get(d.id)
        except DeploybotError:
            log.warning("deployment %s: could not read its feature flags set", d.id,
                        exc_info=True)
            return None
        if kept is not None:
            with self._guard:
                self._known[d.id] = kept
                while len(self._known) > self._size:
                    self._known.popitem(last=False)
        return kept
