"""Another writer, for tests of optimistic concurrency: `write_concurrently` makes the next
update (PUT) or patch of one object lose a race — just before the request is served, the
object is changed as another client's write would change it (a new resourceVersion, the
watch event), so a request carrying the resourceVersion it read is now stale and answered
409 Conflict, as the API server answers it (API concepts, "Concurrency control and
consistency"; the check is verbs' `_check_precondition`). `seed` puts an object in place
as a `kubectl apply` would have before the test (ConfigMaps, FeatureFlags).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devtools.fake_k8s.api import RESOURCES, JSONDict
from devtools.fake_k8s.store import Store

#: What the other writer does to the object (a copy of it, changed in place).
Write = Callable[[JSONDict], None]


class ConcurrentWriters(Store):
    """`write_concurrently` and `seed` (public, thread-safe); `_concurrent_write` runs
    with the lock held before an update or a patch reads the object."""

    def __init__(self, *, tick: float, clock: Callable[[], datetime]) -> None:
        super().__init__(tick=tick, clock=clock)
        self._other_writers: dict[tuple[str, str, str], list[Write]] = {}

    def write_concurrently(self, resource: str, namespace: str, name: str, write: Write, *,
                           times: int = 1) -> None:
        """The next ``times`` updates or patches of the object (``resource`` a plural, e.g.
        ``featureflags``) each race another writer that applies ``write`` to it first."""
        with self._cond:
            self._other_writers.setdefault((resource, namespace, name), []).extend(
                [write] * times)

    def seed(self, resource: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` (its ``metadata.name``) with server-set metadata; returns it as the
        API would."""
        res = RESOURCES[resource]
        with self._cond:
            body = copy.deepcopy(obj)
            meta = body.get("metadata") or {}
            fresh = self._new_metadata(namespace, meta["name"], labels=meta.get("labels"),
                                       annotations=meta.get("annotations"))
            if resource == "configmaps":
                fresh.pop("generation")  # ConfigMaps have no spec, so no generation
            body["metadata"] = fresh
            body["apiVersion"], body["kind"] = res.api_version, res.kind
            if resource == "featureflags":
                body.setdefault("status", {})
            self._write(resource, body, "ADDED")
            return copy.deepcopy(body)

    def _concurrent_write(self, resource: str, namespace: str, name: str) -> None:
        pending = self._other_writers.get((resource, namespace, name))
        current = self._store[resource].get((namespace, name))
        if not pending or current is None:
            return
        write = pending.pop(0)
        updated = copy.deepcopy(current)
        write(updated)
        self._write(resource, updated, "MODIFIED")
