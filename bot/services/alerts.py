"""Alert routing by severity (issue 7): every deployment's end is sent where app.yaml's
`alerts.routes` sends its severity — PagerDuty (on-call), a Slack channel (#ops-alerts,
#engineering), or only the daily summary email (bot.services.daily_summary).

The notifier hands each deployment it shows to `AlertRouter.deployment_changed`, and the
lock service each deploy request a lock refuses to `deploy_refused`; both only queue it:
one thread of the router's own delivers, in order. A deployment raises one alert, at its
first end (bot.domain.alerts.alert_for), a lock one per person it refuses; each is claimed
by its key in the announcements log before anything is sent — so one process, once,
routes it even when the card is shown again or by another process.

Each destination is tried `alerts.attempts` times with backoff (`alerts.backoff`, doubled
each time) on a RetryableError; a PermanentError or the last failure is logged and that
destination dropped. Nothing here ever blocks or fails a deployment.

PagerDuty: a trigger with the dedup key of the service and environment
(`deploybot-<environment>-<service>`), its summary, source, severity and a link to the
deployment's Slack thread; the next success there (a deploy or a rollback) after a failure
that was routed to PagerDuty sends a `resolve` with the same key. Without
PAGERDUTY_ROUTING_KEY in the environment nothing is paged (logged).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.config import AlertsConfig
from bot.domain.alerts import (
    Alert,
    Destination,
    DestinationKind,
    alert_for,
    lock_refusal,
    open_incident,
    recovers,
    resolve_event,
    route,
    trigger_event,
)
from bot.domain.deployment import Deployment
from bot.domain.links import NO_LINKS, LinkCatalog
from bot.domain.locks import Lock
from bot.domain.severity import Outcome, Production, Severity
from bot.errors import DeploybotError, RetryableError
from bot.ports import Clock, MessageRefs, Pager, Poster, Store
from bot.presentation import alert_views as words
from bot.services.outbox import Outbox

log = logging.getLogger(__name__)

#: How many earlier deployments of a service and environment are read to decide whether
#: a success resolves an incident (the last one that ran is nearly always among them).
RESOLVE_LOOKBACK = 20


class AlertRouter:
    """Implements the DeploymentWatcher and DeployRefusals ports. `pager` is None without
    a routing key; `permalink(channel, ts)` gives the Slack thread's link; `links`
    (app.yaml's `links:`) go with every alert: PagerDuty's links, the channel message."""

    def __init__(self, *, config: AlertsConfig, production: Production,
                 severity: Mapping[Outcome, Severity], store: Store, poster: Poster,
                 pager: Pager | None, permalink: Callable[[str, str], str | None],
                 clock: Clock, sleep: Callable[[float], None] = time.sleep,
                 links: LinkCatalog = NO_LINKS) -> None:
        self._config = config
        self._links = links
        self._routes = config.destinations()
        self._production = production
        self._severity = severity
        self._store = store
        self._poster = poster
        self._pager = pager
        self._permalink = permalink
        self._clock = clock
        self._sleep = sleep
        self._outbox = Outbox(name="alert-router")

    # -- the DeploymentWatcher port: returns at once, never raises --------------------------

    def deployment_changed(self, d: Deployment, refs: MessageRefs | None) -> None:
        try:
            if alert_for(d, production=self._production, mapping=self._severity) is None:
                return
        except Exception:  # never let a bad record reach the runner
            log.exception("deployment %s: could not tell its alert", d.id)
            return
        self._enqueue(f"deployment {d.id}", lambda: self.route(d, refs))

    # -- the DeployRefusals port: returns at once, never raises ----------------------------

    def deploy_refused(self, lock: Lock, *, user_id: str, at: datetime, reason: str) -> None:
        self._enqueue(f"lock {lock.id}",
                      lambda: self.route_refusal(lock, user_id=user_id, at=at, reason=reason))

    def _enqueue(self, what: str, work: Callable[[], object]) -> None:
        self._outbox.put(what, work)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything queued has been delivered (or dropped)."""
        return self._outbox.wait_idle(timeout)

    def shutdown(self, *, timeout: float = 5.0) -> None:
        """Deliver what is queued (for at most `timeout` seconds), then stop."""
        self._outbox.shutdown(timeout=timeout)

    def route(self, d: Deployment, refs: MessageRefs | None = None) -> list[str]:
        """Send `d`'s alert everywhere its severity goes, unless it was sent already (by
        anyone); the destinations that took it (a resolve counts as "pagerduty:resolve")."""
        alert = alert_for(d, production=self._production, mapping=self._severity)
        if alert is None:
            return []
        at = self._clock.now()
        with self._store.transaction() as r:
            if not r.announcements.claim(alert.key, due_at=alert.at, at=at):
                return []  # routed already: an earlier show, or another process
            history = (r.deployments.history(limit=RESOLVE_LOOKBACK,
                                              environment=d.environment, service=d.service)
                       if self._pager is not None and recovers(d) else ())
        resolve = open_incident(d, history, production=self._production,
                                mapping=self._severity, routes=self._routes)
        return self._send(alert, self._link(d, refs), resolve=resolve)

    def route_refusal(self, lock: Lock, *, user_id: str, at: datetime,
                      reason: str) -> list[str]:
        """Send the alert of a deploy request `lock` refused (once per lock and person:
        asking again is not news); the destinations that took it."""
        alert = lock_refusal(lock, user_id=user_id, at=at, reason=reason,
                             mapping=self._severity)
        with self._store.transaction() as r:
            if not r.announcements.claim(alert.key, due_at=at, at=self._clock.now()):
                return []
        return self._send(alert, None, resolve=False)

    def _send(self, alert: Alert, link: str | None, *, resolve: bool) -> list[str]:
        delivered: list[str] = []
        for destination in route(alert.severity, self._routes):
            if self._deliver(alert, destination, link):
                delivered.append(str(destination))
        if resolve and self._resolve(alert):
            delivered.append("pagerduty:resolve")
        if delivered:
            log.info("%s: %s alert (%s) sent to %s", _subject(alert), alert.severity.value,
                     alert.outcome.value, ", ".join(delivered))
        return delivered

    def _deliver(self, alert: Alert, destination: Destination, link: str | None) -> bool:
        if destination.kind is DestinationKind.SUMMARY:
            return False  # the daily summary reads the deployments' history itself
        links = self._links.resolve(alert.service, alert.environment, alert.version)
        if destination.kind is DestinationKind.SLACK:
            channel = destination.channel
            text = words.slack_text(alert, link, links)

            def post() -> None:
                self._poster.post(text, channel=channel)

            return self._try(alert, f"post it in {channel}", post)
        pager = self._pager
        if pager is None:
            log.warning("%s: %s alert routed to PagerDuty, but PAGERDUTY_ROUTING_KEY is "
                        "not set; not paged", _subject(alert), alert.severity.value)
            return False
        event = trigger_event(alert, summary=words.pager_summary(alert),
                              source=self._config.pagerduty.source, link=link, links=links)
        return self._try(alert, "trigger a PagerDuty incident", lambda: pager.send(event))

    def _resolve(self, alert: Alert) -> bool:
        pager = self._pager
        if pager is None:
            return False
        event = resolve_event(alert.environment, alert.service)
        return self._try(alert, f"resolve the PagerDuty incident {event.dedup_key}",
                         lambda: pager.send(event))

    def _link(self, d: Deployment, refs: MessageRefs | None) -> str | None:
        channel = refs.channel if refs else d.channel
        ts = refs.message_ts if refs else d.message_ts
        if not (channel and ts):
            return None
        try:
            return self._permalink(channel, ts)
        except Exception:
            log.warning("deployment %s: no link to its thread", d.id, exc_info=True)
            return None

    def _try(self, alert: Alert, what: str, fn: Callable[[], None]) -> bool:
        subject = _subject(alert)
        """fn(), retried with backoff on RetryableError; False (logged) when it did not
        work out."""
        attempts = self._config.attempts
        backoff = self._config.backoff.total_seconds()
        for attempt in range(attempts):
            try:
                fn()
                return True
            except RetryableError as e:
                if attempt + 1 >= attempts:
                    log.error("%s: could not %s after %d attempts: %s", subject, what,
                              attempts, e)
                    return False
                log.warning("%s: could not %s (attempt %d of %d, retrying): %s", subject,
                            what, attempt + 1, attempts, e)
                self._sleep(backoff * 2 ** attempt)
            except DeploybotError as e:  # PermanentError, …: asking again won't help
                log.error("%s: could not %s: %s", subject, what, e)
                return False
            except Exception:
                log.exception("%s: could not %s", subject, what)
                return False
        return False


def _subject(alert: Alert) -> str:
    """What an alert is about, for the log: 'deployment 12', 'lock 3 refusing U0ALICE'."""
    if alert.deployment_id is None:
        return f"lock {alert.lock_id} refusing {alert.requested_by}"
    return f"deployment {alert.deployment_id}"
