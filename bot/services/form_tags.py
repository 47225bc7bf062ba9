"""The tags the `/deploy` form offers, read within the form's deadline.

Slack's trigger_id "expires in 3 seconds" (https://docs.slack.dev/interactivity/
handling-user-interaction#modal-responses), and GitHub may take its HTTP timeout to answer
(10 s: bot.backends.github.client). So the services' repositories are read all at once on a
small pool of this module's own, and the form waits for them at most FORM_TAGS_DEADLINE
seconds in all. A read that has not finished by then goes on: its answer is kept by
VersionCheck.tags (a minute), so the next form offers it; meanwhile a repository being read
is not asked again (the next form waits on the same read). Lists already kept are taken
without the pool.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor, wait

from bot.services.versions import VersionCheck

log = logging.getLogger("deploybot.deploy_form")

#: Seconds the form waits for GitHub's tag lists, in all: what is left of Slack's 3 seconds
#: after the ack, the listener pool's wait behind acks (≤ 0.5 s), the history read and
#: views.open itself.
FORM_TAGS_DEADLINE = 1.5
#: Repositories read at once (more wait their turn; kept lists need no thread).
TAG_READERS = 4

#: A repository's answer: its tags, the error GitHub's read raised, or None (not in time).
Answer = tuple[str, ...] | Exception | None


class FormTags:
    def __init__(self, versions: VersionCheck, *, deadline: float = FORM_TAGS_DEADLINE,
                 workers: int = TAG_READERS) -> None:
        self._versions = versions
        self._deadline = deadline
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="form-tags")
        self._reading: dict[str, Future[tuple[str, ...]]] = {}
        self._mutex = threading.Lock()
        self._idle = threading.Condition(self._mutex)

    def read(self, repositories: Collection[str]) -> dict[str, Answer]:
        """Each repository's tags, as they are by the deadline."""
        answers: dict[str, Answer] = {}
        reading: dict[str, Future[tuple[str, ...]]] = {}
        for repo in repositories:
            kept = self._versions.kept_tags(repo)
            if kept is not None:
                answers[repo] = kept
            else:
                reading[repo] = self._read(repo)
        done, _ = wait(reading.values(), timeout=self._deadline)
        for repo, future in reading.items():
            if future not in done or future.cancelled():
                answers[repo] = None
            else:
                error = future.exception()
                answers[repo] = error if isinstance(error, Exception) else future.result()
        return answers

    def _read(self, repo: str) -> Future[tuple[str, ...]]:
        with self._mutex:
            future = self._reading.get(repo)
            if future is None:
                future = self._pool.submit(self._versions.tags, repo)
                self._reading[repo] = future
                started = True
            else:
                started = False
        if started:  # outside the lock: a finished future calls back at once, here
            future.add_done_callback(lambda f: self._done(repo, f))
        return future

    def _done(self, repo: str, future: Future[tuple[str, ...]]) -> None:
        with self._mutex:
            if self._reading.get(repo) is future:
                del self._reading[repo]
            self._idle.notify_all()
        if not future.cancelled() and future.exception() is not None:
            log.warning("GitHub did not list the tags of %s: %s", repo, future.exception())

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until no read is in progress (the late ones kept); False on `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._reading, timeout=timeout)

    def shutdown(self) -> None:
        """Stop reading: queued reads are dropped, one in progress ends on its own timeout."""
        self._pool.shutdown(wait=False, cancel_futures=True)
