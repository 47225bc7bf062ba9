"""PagerDuty Events API v2 (the Pager port): POST one trigger or resolve event to
`events_url` (https://events.pagerduty.com/v2/enqueue unless app.yaml's
alerts.pagerduty.events_url says otherwise) with the routing key from the environment.

Imports httpx (with the probes backend; an import-linter contract keeps the rest out).
PagerDuty answers 202 when it took the event; 429 and 5xx (and not reaching it) are worth
another try (RetryableError), any other answer is not (PermanentError: a bad routing key or
payload). Retrying is the caller's business (bot.services.alerts).
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.domain.alerts import PagerEvent
from bot.errors import PermanentError, RetryableError

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


def event_body(event: PagerEvent, routing_key: str) -> dict[str, Any]:
    """The JSON body of an Events API v2 request."""
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": event.action,
                            "dedup_key": event.dedup_key}
    if event.action == "resolve":
        return body
    payload: dict[str, Any] = {"summary": event.summary, "source": event.source,
                               "severity": event.severity}
    for key, value in (("component", event.component), ("group", event.group),
                       ("class", event.event_class)):
        if value:
            payload[key] = value
    if event.timestamp is not None:
        payload["timestamp"] = event.timestamp.isoformat()
    if event.details:
        payload["custom_details"] = dict(event.details)
    body["payload"] = payload
    if event.links:
        body["links"] = [{"href": href, "text": text} for href, text in event.links]
    body["client"] = "deploybot"
    return body


class PagerDutyEvents:
    def __init__(self, *, routing_key: str, events_url: str = DEFAULT_EVENTS_URL,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self._key = routing_key
        self._url = events_url
        self._timeout = timeout
        self._transport = transport

    def send(self, event: PagerEvent) -> None:
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport) as c:
                resp = c.post(self._url, json=event_body(event, self._key))
        except httpx.HTTPError as e:
            raise RetryableError(f"PagerDuty unreachable: {type(e).__name__}: {e}") from e
        if resp.status_code in (200, 201, 202):
            return
        detail = resp.text[:200].strip()
        message = f"PagerDuty answered {resp.status_code} to a {event.action}: {detail}"
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RetryableError(message)
        raise PermanentError(message)
