"""Flags evaluated by a flag service over the OpenFeature Remote Evaluation Protocol (OFREP;
the FlagEvaluator port), read only: flagd, GO Feature Flag and other services speak it.

What it sends and reads is the protocol's OpenAPI document (open-feature/protocol,
service/openapi.yaml): `POST {url}/ofrep/v1/evaluate/flags/{key}` and the bulk
`POST {url}/ofrep/v1/evaluate/flags`, each with `{"context": {...}}` and, when a token is
configured, `Authorization: Bearer <token>` (its BearerAuth scheme). Answers:

- 200: `{key, value, reason, variant, metadata}` (bulk: `{flags: [...]}`, each a success or
  an evaluation failure `{key, errorCode, errorDetails}`) → Evaluation;
- 400: an evaluation failure (`errorCode` PARSE_ERROR, TARGETING_KEY_MISSING,
  INVALID_CONTEXT, GENERAL) → an Evaluation carrying the error (the flag exists but could
  not be evaluated for that context); for bulk, a failure of the whole request →
  PermanentError;
- 404: `errorCode: FLAG_NOT_FOUND` → UnknownFlag;
- 401 / 403 → PermanentError naming the token's variable to set or to give access;
- 429 (`Retry-After`: seconds or a date) → RateLimited; 5xx, timeouts and refused
  connections → RetryableError.

Imports httpx (as the probes and PagerDuty backends do) on the first call, not at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.domain.flags import Evaluation, UnknownFlag
from bot.errors import PermanentError, RateLimited, RetryableError

if TYPE_CHECKING:
    import httpx

EVALUATE = "/ofrep/v1/evaluate/flags"


def _retry_after(value: str | None) -> tuple[datetime | None, timedelta | None]:
    """Retry-After as seconds (HTTP) or a date (HTTP-date, or RFC 3339 as OFREP's example)."""
    if not value:
        return None, None
    value = value.strip()
    if value.isdigit():
        return None, timedelta(seconds=int(value))
    for parse in (lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")),
                  parsedate_to_datetime):
        try:
            at = parse(value)
        except (TypeError, ValueError):
            continue
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC), None
    return None, None


def _evaluation(item: Mapping[str, Any], key: str) -> Evaluation:
    metadata = item.get("metadata")
    if item.get("errorCode"):
        return Evaluation(key=str(item.get("key") or key), error_code=str(item["errorCode"]),
                          error_details=(str(item["errorDetails"])
                                         if item.get("errorDetails") else None))
    return Evaluation(
        key=str(item.get("key") or key), value=item.get("value"),
        variant=str(item["variant"]) if item.get("variant") is not None else None,
        reason=str(item["reason"]) if item.get("reason") is not None else None,
        metadata=dict(metadata) if isinstance(metadata, dict) else {})


class OfrepEvaluator:
    """The FlagEvaluator port for one environment's OFREP flag service."""

    def __init__(self, url: str, *, token: str | None, token_env: str, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._url = url.rstrip("/")
        self._token = token or None
        #: the variable the token comes from, for messages (never the token)
        self._token_env = token_env
        self._timeout = timeout
        self._transport = transport

    @property
    def where(self) -> str:
        return f"the flag service at {self._url}"

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None) -> Evaluation:
        status, body, resp = self._post(f"{EVALUATE}/{quote(key, safe='')}", context)
        if status == 200:
            if not isinstance(body, dict) or "value" not in body:
                raise PermanentError(f"{self.where} answered 200 for `{key}` without a value "
                                     "(not an OFREP evaluation)")
            return _evaluation(body, key)
        if status == 404:
            raise UnknownFlag(key, self.where)
        if status == 400 and isinstance(body, dict) and body.get("errorCode"):
            return _evaluation(body, key)
        raise self._error(status, body, resp, f"evaluate `{key}`")

    def evaluate_all(self, context: Mapping[str, Any] | None = None) -> list[Evaluation]:
        status, body, resp = self._post(EVALUATE, context)
        if status == 200 and isinstance(body, dict) and isinstance(body.get("flags"), list):
            return [_evaluation(item, "") for item in body["flags"] if isinstance(item, dict)]
        if status == 200:
            raise PermanentError(f"{self.where} answered 200 without `flags` (not an OFREP "
                                 "bulk evaluation)")
        raise self._error(status, body, resp, "evaluate its flags")

    # -- the wire ---------------------------------------------------------------------------

    def _post(self, path: str, context: Mapping[str, Any] | None
              ) -> tuple[int, Any, httpx.Response]:
        import httpx

        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with httpx.Client(timeout=self._timeout, follow_redirects=False,
                              transport=self._transport) as client:
                resp = client.post(self._url + path, json={"context": dict(context or {})},
                                   headers=headers)
        except httpx.TimeoutException:
            raise RetryableError(f"{self.where} did not answer within {self._timeout:g}s: "
                                 "try again") from None
        except httpx.HTTPError as e:
            raise RetryableError(f"{self.where} is unreachable ({type(e).__name__}: {e}): "
                                 "try again") from None
        try:
            body: Any = resp.json() if resp.content else None
        except (ValueError, json.JSONDecodeError):
            body = None
        return resp.status_code, body, resp

    def _error(self, status: int, body: Any, resp: httpx.Response, what: str
               ) -> PermanentError | RetryableError:
        details = ""
        if isinstance(body, dict):
            details = " ".join(str(body[k]) for k in ("errorCode", "errorDetails")
                               if body.get(k))
        said = f": {details}" if details else ""
        if status == 401:
            fix = (f"set {self._token_env} to a token it accepts" if self._token else
                   f"it wants a token: set {self._token_env}")
            return PermanentError(f"{self.where} refused deploybot's credentials to {what} "
                                  f"(401 Unauthorized); {fix}")
        if status == 403:
            return PermanentError(f"{self.where} does not let the token in {self._token_env} "
                                  f"{what} (403 Forbidden); give that token read access to "
                                  "the flags")
        if status == 429:
            reset_at, retry_after = _retry_after(resp.headers.get("Retry-After"))
            return RateLimited(f"{self.where} is rate limiting deploybot (429): try again "
                               "later", reset_at=reset_at, retry_after=retry_after)
        if status >= 500:
            return RetryableError(f"{self.where} answered {status} to {what}{said}: try again")
        return PermanentError(f"{self.where} answered {status} to {what}{said}")
