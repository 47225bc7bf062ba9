"""Watches: `?watch=true` list and get, streamed as chunked JSON lines of
`{"type": ADDED|MODIFIED|DELETED|ERROR, "object": ...}`.

A watch without `resourceVersion` (or "0") starts with the current objects as ADDED; one with
a `resourceVersion` replays the history after it, or answers an ERROR event with a 410
Expired `Status` when that is older than the history kept (`compact`), as the API server's
watch cache does. `timeoutSeconds` ends the stream cleanly. The faults of this part
(`drop_watches`, `compact`) live in devtools.fake_k8s.faults.
"""

from __future__ import annotations

import copy
import json
import time
from typing import TYPE_CHECKING

from devtools.fake_k8s.api import ApiError, JSONDict, Resource, status_object
from devtools.fake_k8s.selectors import query_matcher
from devtools.fake_k8s.state import WATCH_POLL_SECONDS, Event, WatchRequest, WatchStream
from devtools.fake_k8s.store import Store

if TYPE_CHECKING:
    from devtools.fake_k8s.wire import Handler


class Watches(Store):
    """Serving watch streams (on the handler's thread, waiting on the lock's condition)."""

    def _live_watches(self) -> list[WatchStream]:
        return [s for s in self._open_watches if not s.handler.client_gone()]

    def _watch_request(
        self, res: Resource, namespace: str | None, query: dict[str, str]
    ) -> WatchRequest:
        matches = query_matcher(query)
        timeout: float | None = None
        if query.get("timeoutSeconds"):
            try:
                timeout = float(query["timeoutSeconds"])
            except ValueError:
                raise ApiError(400, "invalid timeoutSeconds") from None
        rv = query.get("resourceVersion") or None
        if rv is not None and rv != "0":
            try:
                int(rv)
            except ValueError:
                raise ApiError(400, f'invalid resource version "{rv}"') from None
        return WatchRequest(res, namespace, matches, rv, timeout)

    def _serve_watch(self, handler: Handler, request: WatchRequest) -> None:
        res = request.resource
        deadline = None if request.timeout is None else time.monotonic() + request.timeout

        def wanted(resource: str, obj: JSONDict) -> bool:
            if resource != res.plural:
                return False
            ns = obj["metadata"].get("namespace")
            return (request.namespace is None or ns == request.namespace) and request.matches(obj)

        stream = WatchStream(handler)
        with self._cond:
            expired: JSONDict | None = None
            initial: list[tuple[str, JSONDict]] = []
            if request.resource_version in (None, "0"):
                initial = [
                    ("ADDED", copy.deepcopy(obj))
                    for _, obj in sorted(self._store[res.plural].items())
                    if wanted(res.plural, obj)
                ]
                cursor = self._rv
            else:
                cursor = int(str(request.resource_version))
                if cursor < self._floor_rv:
                    expired = status_object(
                        410,
                        "Expired",
                        f"too old resource version: {cursor} ({self._floor_rv})",
                    )
            if self._pending_drop is not None:
                stream.drop_after, stream.abrupt = self._pending_drop
                self._pending_drop = None
            self._open_watches.add(stream)
        try:
            handler.start_stream()
            if expired is not None:
                self._send_event(handler, "ERROR", expired)
                handler.end_stream()
                return
            pending = list(initial)
            while True:
                for event_type, obj in pending:
                    if self._should_drop(stream):
                        self._drop(handler, stream)
                        return
                    with self._cond:  # counted before it is written: drop_watches races
                        stream.sent += 1
                    self._send_event(handler, event_type, obj)
                if self._should_drop(stream):
                    self._drop(handler, stream)
                    return
                with self._cond:
                    while True:
                        if self._stopping:
                            handler.abort()
                            return
                        if stream.drop_after is not None and stream.sent >= stream.drop_after:
                            break
                        if deadline is not None and time.monotonic() >= deadline:
                            break
                        if self._history and self._history[-1].rv > cursor:
                            break
                        wait = WATCH_POLL_SECONDS
                        if deadline is not None:
                            wait = max(0.0, min(wait, deadline - time.monotonic()))
                        self._cond.wait(wait)
                        if handler.client_gone():
                            return
                    fresh: list[Event] = []
                    for event in reversed(self._history):  # newest first, stop at the cursor
                        if event.rv <= cursor:
                            break
                        fresh.append(event)
                    pending = [
                        (e.type, copy.deepcopy(e.obj))
                        for e in reversed(fresh)
                        if wanted(e.resource, e.obj)
                    ]
                    cursor = max(cursor, self._history[-1].rv if self._history else cursor)
                if not pending and deadline is not None and time.monotonic() >= deadline:
                    handler.end_stream()
                    return
        finally:
            with self._cond:
                self._open_watches.discard(stream)

    def _should_drop(self, stream: WatchStream) -> bool:
        with self._cond:
            return stream.drop_after is not None and stream.sent >= stream.drop_after

    def _drop(self, handler: Handler, stream: WatchStream) -> None:
        if stream.abrupt:
            handler.abort()
        else:
            handler.end_stream()
            handler.close_connection = True

    def _send_event(self, handler: Handler, event_type: str, obj: JSONDict) -> None:
        line = json.dumps({"type": event_type, "object": obj}) + "\n"
        handler.write_chunk(line.encode("utf-8"))
