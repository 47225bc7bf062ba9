"""The daily summary email (issue 7): the day's deployments per environment (count,
succeeded, failed, the list) and the low-severity events routed to `summary`, sent once a
day at `alerts.email.send_at` in the team's time zone, to `alerts.email.to`.

`send_due(at=...)` runs every minute in every bot process (bot.scheduling). Once the send
time of the day has passed it:

1. claims the day's key (`summary:<date>`) in the announcements log — an insert only one
   caller wins, across processes and restarts;
2. reads the 24 hours up to the send time from the deployments' history and sends the
   email, retried `alerts.attempts` times with backoff on a RetryableError;
3. if the server stayed unreachable, releases the claim so the next run tries again (until
   midnight: a day's summary is not sent the next day); a PermanentError (login or
   recipients refused) is logged and the day's summary given up.

Sending never holds up anything else: it runs on the scheduler's thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime

from bot.config import AppConfig
from bot.config.links import link_catalog
from bot.domain.alerts import day_summary, in_window, summary_due, summary_window
from bot.errors import DeploybotError, RetryableError
from bot.ports import Clock, Mailer, Store
from bot.presentation import summary_views as words

log = logging.getLogger(__name__)

#: The most deployments read for one day's summary (newest first); a busier day's summary
#: says it is cut short.
HISTORY_LIMIT = 2000


def summary_key(day: date) -> str:
    return f"summary:{day.isoformat()}"


class DailySummary:
    """`mailer` is None without SMTP_HOST in the environment (nothing is sent; logged)."""

    def __init__(self, *, config: AppConfig, store: Store, mailer: Mailer | None,
                 clock: Clock, sleep: Callable[[float], None] = time.sleep) -> None:
        self._config = config
        self._store = store
        self._mailer = mailer
        self._clock = clock
        self._sleep = sleep
        self._warned: set[date] = set()

    def send_due(self, *, at: datetime | None = None) -> date | None:
        """Send the day's summary if it is due and nobody has sent it; the day sent."""
        email = self._config.alerts.email
        if email is None:
            return None
        at = at if at is not None else self._clock.now()
        zone = self._config.zone
        day = summary_due(at, send_at=email.send_at, zone=zone)
        if day is None:
            return None
        key = summary_key(day)
        with self._store.transaction() as r:
            if r.announcements.claimed(key):
                return None
        mailer = self._mailer
        if mailer is None:
            if day not in self._warned:
                self._warned.add(day)
                log.warning("daily summary of %s not sent: SMTP_HOST is not set", day)
            return None
        start, end = summary_window(day, send_at=email.send_at, zone=zone)
        with self._store.transaction() as r:
            if not r.announcements.claim(key, due_at=end, at=at):
                return None  # another process has it
            history = r.deployments.history(limit=HISTORY_LIMIT)
        deployments = [d for d in history if in_window(d, start, end)]
        summary = day_summary(day, start=start, end=end, deployments=deployments,
                              environments=list(self._config.environments),
                              production=self._config.production_environments(),
                              mapping=self._config.announcements.severity.mapping,
                              routes=self._config.alerts.destinations())
        subject = words.subject(summary, email.subject)
        body = words.body(summary, zone, link_catalog(self._config))
        if len(history) >= HISTORY_LIMIT:
            body += f"(cut short: only the last {HISTORY_LIMIT} deployments were read)\n"
        if not self._send(day, key, lambda: mailer.send(sender=email.sender, to=email.to,
                                                        subject=subject, body=body)):
            return None
        log.info("daily summary of %s sent to %s (%d deployments)", day,
                 ", ".join(email.to), summary.total)
        return day

    def _send(self, day: date, key: str, send: Callable[[], None]) -> bool:
        attempts = self._config.alerts.attempts
        backoff = self._config.alerts.backoff.total_seconds()
        for attempt in range(attempts):
            try:
                send()
                return True
            except RetryableError as e:
                if attempt + 1 < attempts:
                    log.warning("daily summary of %s: could not send it (attempt %d of %d, "
                                "retrying): %s", day, attempt + 1, attempts, e)
                    self._sleep(backoff * 2 ** attempt)
                    continue
                log.error("daily summary of %s: could not send it after %d attempts: %s; "
                          "the next run tries again", day, attempts, e)
                self._release(key)
                return False
            except DeploybotError as e:  # PermanentError: fix the settings; not resent today
                log.error("daily summary of %s: not sent: %s", day, e)
                return False
            except Exception:
                log.exception("daily summary of %s: not sent", day)
                self._release(key)
                return False
        return False

    def _release(self, key: str) -> None:
        try:
            with self._store.transaction() as r:
                r.announcements.release(key)
        except Exception:
            log.exception("daily summary: could not release the claim %s; not resent", key)
