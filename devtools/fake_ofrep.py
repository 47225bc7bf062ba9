"""A local flag service speaking the OpenFeature Remote Evaluation Protocol (OFREP), for the
tests of bot.backends.ofrep: `FakeOfrep`, a stdlib HTTP server on 127.0.0.1 (on
devtools.httpbits, like the other fakes) answering as the protocol's OpenAPI document
(open-feature/protocol, service/openapi.yaml) says a flag service answers:

- `POST /ofrep/v1/evaluate/flags/{key}` with `{"context": {...}}`: 200
  `serverEvaluationSuccess` `{key, value, reason, variant, metadata}`; 404 `flagNotFound`
  `{key, errorCode: FLAG_NOT_FOUND, errorDetails}`; 400 `evaluationFailure` `{key, errorCode,
  errorDetails}` (a body that is not JSON: PARSE_ERROR; a flag `set_error` gave an error, or
  one needing a targeting key evaluated without `context.targetingKey`:
  TARGETING_KEY_MISSING);
- `POST /ofrep/v1/evaluate/flags`: 200 `bulkEvaluationSuccess` `{flags: [...]}` (successes
  and evaluation failures);
- with `require_token`: 401 without `Authorization: Bearer <token>` (the BearerAuth scheme)
  or with an unknown token, 403 for a token `forbid_token` names; `fail_next`: 429 with
  `Retry-After`, or a 5xx with a `generalErrorResponse` `{errorDetails}`; stopped, it refuses
  connections (unreachable).

Flags are set with `set_flag` (a value as a flag service resolved it) or `load_flagd`
(flagd's flag definitions, served at their default variant with reason STATIC, a DISABLED
flag as FLAG_NOT_FOUND, as flagd treats it "as if it doesn't exist"). Requests are recorded.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from devtools.httpbits import DispatchHandler, Reply, StartStop, TrackingServer

EVALUATE = "/ofrep/v1/evaluate/flags"


@dataclass(frozen=True)
class OfrepRequest:
    path: str
    authorization: str | None
    body: Any


@dataclass
class _Flag:
    value: Any
    variant: str | None = None
    reason: str = "STATIC"
    metadata: dict[str, Any] = field(default_factory=dict)
    needs_targeting_key: bool = False
    error: tuple[str, str] | None = None


def _reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode("utf-8"), "application/json",
                 headers=dict(headers or {}))


class _Server(TrackingServer):
    def __init__(self, fake: FakeOfrep, port: int) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(DispatchHandler):
    server_version = "FakeOfrep/1.0"
    server: _Server

    def _handle(self) -> None:
        try:
            reply = self.server.fake._dispatch(self.command, self.path,
                                               self.headers.get("Authorization"),
                                               self._read_body())
        except Exception:  # pragma: no cover - a bug in the fake itself
            traceback.print_exc(file=sys.stderr)
            reply = _reply({"errorDetails": "fake OFREP internal error"}, 500)
        self.send_reply(reply)


class FakeOfrep(StartStop):
    """`with FakeOfrep() as ofrep:`; `url` is its base URL. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[str, _Flag] = {}
        self._tokens: set[str] | None = None
        self._forbidden: set[str] = set()
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._requests: list[OfrepRequest] = []
        self._server: _Server | None = None
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeOfrep:
        """Serve on 127.0.0.1 (a free port the first time, the same port after a stop)."""
        if self._server is None:
            self._server = _Server(self, self._port)
            self._port = int(self._server.server_address[1])
            self._server.serve_in_thread(f"FakeOfrep:{self._port}")
        return self

    def stop(self) -> None:
        """Stop serving: connections are refused (the service is unreachable)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeOfrep was never started")
        return f"http://127.0.0.1:{self._port}"

    # -- what it serves -------------------------------------------------------------------

    def set_flag(self, key: str, value: Any, *, variant: str | None = None,
                 reason: str = "STATIC", metadata: dict[str, Any] | None = None,
                 needs_targeting_key: bool = False) -> None:
        with self._lock:
            self._flags[key] = _Flag(value, variant, reason, dict(metadata or {}),
                                     needs_targeting_key)

    def set_error(self, key: str, code: str, details: str) -> None:
        """Evaluating `key` fails with `code` (PARSE_ERROR, INVALID_CONTEXT, GENERAL, …)."""
        with self._lock:
            self._flags.setdefault(key, _Flag(None)).error = (code, details)

    def load_flagd(self, document: dict[str, Any]) -> None:
        """Serve flagd's flag definitions at their default variants (no targeting)."""
        with self._lock:
            self._flags.clear()
            for key, flag in (document.get("flags") or {}).items():
                if flag.get("state") == "DISABLED":
                    continue
                variant = flag.get("defaultVariant")
                self._flags[key] = _Flag((flag.get("variants") or {}).get(variant), variant,
                                         "STATIC", dict(flag.get("metadata") or {}))

    def require_token(self, *tokens: str) -> None:
        with self._lock:
            self._tokens = set(tokens)

    def forbid_token(self, token: str) -> None:
        with self._lock:
            self._forbidden.add(token)

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None
                  ) -> None:
        """The next `times` requests get `status` (429 with `Retry-After`, or a 5xx)."""
        headers = {"Retry-After": retry_after} if retry_after else {}
        with self._lock:
            self._failures.extend([(status, headers)] * times)

    @property
    def requests(self) -> list[OfrepRequest]:
        with self._lock:
            return list(self._requests)

    # -- answering ------------------------------------------------------------------------

    def _dispatch(self, method: str, target: str, authorization: str | None,
                  raw: bytes) -> Reply:
        path = unquote(urlsplit(target).path)
        body: Any = None
        parse_error = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                parse_error = True
        with self._lock:
            self._requests.append(OfrepRequest(path, authorization, body))
            if self._failures:
                status, headers = self._failures.pop(0)
                payload = {} if status == 429 else {
                    "errorDetails": f"injected failure {status} (fake OFREP)"}
                return _reply(payload, status, headers)
            if self._tokens is not None:
                token = (authorization or "").removeprefix("Bearer ").strip()
                if not authorization or not authorization.startswith("Bearer ") \
                        or token not in self._tokens:
                    return Reply(401, b"", "text/plain")
                if token in self._forbidden:
                    return Reply(403, b"", "text/plain")
            if method != "POST" or not path.startswith(EVALUATE):
                return _reply({"errorDetails": f"no route {method} {path}"}, 404)
            context = body.get("context") if isinstance(body, dict) else None
            if path == EVALUATE:
                if parse_error:
                    return _reply({"errorCode": "PARSE_ERROR",
                                   "errorDetails": "the body is not JSON"}, 400)
                return _reply({"flags": [self._evaluate(k, f, context)[1]
                                         for k, f in sorted(self._flags.items())]})
            key = path.removeprefix(EVALUATE + "/")
            if parse_error:
                return _reply({"key": key, "errorCode": "PARSE_ERROR",
                               "errorDetails": "the body is not JSON"}, 400)
            flag = self._flags.get(key)
            if flag is None:
                return _reply({"key": key, "errorCode": "FLAG_NOT_FOUND",
                               "errorDetails": f"flag `{key}` does not exist"}, 404)
            status, payload = self._evaluate(key, flag, context)
            return _reply(payload, status)

    @staticmethod
    def _evaluate(key: str, flag: _Flag, context: Any) -> tuple[int, dict[str, Any]]:
        if flag.error is not None:
            return 400, {"key": key, "errorCode": flag.error[0], "errorDetails": flag.error[1]}
        if flag.needs_targeting_key and not (isinstance(context, dict)
                                             and context.get("targetingKey")):
            return 400, {"key": key, "errorCode": "TARGETING_KEY_MISSING",
                         "errorDetails": "targetingKey is required"}
        payload: dict[str, Any] = {"key": key, "value": flag.value, "reason": flag.reason,
                                   "metadata": flag.metadata}
        if flag.variant is not None:
            payload["variant"] = flag.variant
        return 200, payload
