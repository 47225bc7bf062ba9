"""Conditional GETs: what GitHub answered to a repeated GET is kept with its ETag, the next
identical GET sends `If-None-Match`, and a `304 Not Modified` hands back the kept answer.

GitHub's REST documentation ("Best practices for using the REST API", Use conditional
requests if appropriate): a conditional request answered 304 while correctly authorized does
not count against the primary rate limit. Polling (branch heads, open pull requests) and the
checklist's re-evaluation (the compare of two versions, the checks of a ref) ask the same
URLs again and again, so most of their requests become free 304s while nothing changed.

The cache is per process (in memory, one per GitHubClient; never shared between the web
and worker processes) and bounded: the `size` URLs used last are kept (LRU)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True)
class Answer:
    """A GET's answer: its JSON, its (lower-cased) headers, and whether it was a 304 (the
    kept answer reused)."""

    data: Any
    headers: dict[str, str]
    not_modified: bool = False


class ConditionalCache:
    """URL (with its query) → (ETag, the answer given with it). Thread-safe."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[str, Answer]] = OrderedDict()
        self._guard = threading.Lock()
        self.not_modified = 0  # 304s answered from the cache (for metrics and benchmarks)

    @staticmethod
    def key(url: str, params: dict[str, Any] | None) -> str:
        return f"{url}?{urlencode(sorted((params or {}).items()))}" if params else url

    def etag(self, key: str) -> str | None:
        with self._guard:
            kept = self._entries.get(key)
            return kept[0] if kept is not None else None

    def reuse(self, key: str, headers: dict[str, str]) -> Answer | None:
        """The kept answer for a 304 (None when it was evicted meanwhile)."""
        with self._guard:
            kept = self._entries.get(key)
            if kept is None:
                return None
            self._entries.move_to_end(key)
            self.not_modified += 1
            return Answer(kept[1].data, headers, not_modified=True)

    def keep(self, key: str, etag: str | None, answer: Answer) -> None:
        with self._guard:
            if not etag:
                self._entries.pop(key, None)
                return
            self._entries[key] = (etag, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)
