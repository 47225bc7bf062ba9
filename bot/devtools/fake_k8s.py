"""A local fake of the Kubernetes API server, with a toy Deployment/Job controller.

This module owns :class:`FakeKubernetes`, a small stdlib HTTP server (``ThreadingHTTPServer``
on 127.0.0.1, in a daemon thread) that the *real* official ``kubernetes`` Python client talks
to over plain HTTP, plus a controller thread that moves rollouts and Jobs forward every
``tick`` seconds.  It serves the tests and the ``deploybot shell --cluster fake`` demo.

What it speaks (JSON; errors are ``Status`` objects with ``code``/``reason``/``message``):

* ``apps/v1`` Deployments: create (POST), get, list, watch, PATCH (strategic-merge with lists
  of containers, env, volumes... merged by name; JSON merge patch; JSON patch), PUT, DELETE.
* ``apps/v1`` ReplicaSets and ``v1`` Pods (created by the controller): get, list, watch, and
  ``pods/{name}/log`` (``container``, ``tailLines``) as text.
* ``batch/v1`` Jobs: create (``name`` or ``generateName``), get, list, watch, DELETE with a
  ``propagationPolicy``; the controller runs one pod per attempt and completes or fails them.
* ``labelSelector`` (equality- and set-based), ``fieldSelector`` (``metadata.name=...``),
  watches (``resourceVersion``, ``timeoutSeconds``, replay from a bounded history, 410 Gone
  after :meth:`FakeKubernetes.compact`), ``/version``, ``/api``, ``/apis`` discovery.
* ``authorization.k8s.io/v1`` SelfSubjectAccessReviews (POST): allowed unless
  :meth:`~FakeKubernetes.forbid` forbids that verb on that resource in that namespace.

Its Deployment controller follows kube-controller-manager's (pkg/controller/deployment): the
first pass after a template change finds or creates the new ReplicaSet (getNewReplicaSet in
sync.go: NewReplicaSetCreated for a new one; a ReplicaSet rolled back to gets the next
revision and a ``revision-history`` annotation and no condition of its own) and writes the new
``observedGeneration`` with the Progressing condition the Deployment had, a stale
``ProgressDeadlineExceeded`` included; its pods come on the next passes, and the condition
moves as syncRolloutStatus (progress.go) moves it: ReplicaSetUpdated on progress,
NewReplicaSetAvailable when complete, ProgressDeadlineExceeded when stuck. Every timestamp it
writes, and the ``Date`` header of its answers, come from its ``clock`` (the real time by
default).

Like a real API server it omits zero replica counts from Deployment status (``omitempty``),
bumps a global ``resourceVersion`` on every write and ``metadata.generation`` on spec changes,
ignores ``status`` in writes to the main resource, and answers 409 on a stale
``resourceVersion``.  Faults are injected with :meth:`~FakeKubernetes.fail_next_rollout`,
:meth:`~FakeKubernetes.fail_rollouts_to`, :meth:`~FakeKubernetes.crash_after_ready`,
:meth:`~FakeKubernetes.set_job_outcome`, :meth:`~FakeKubernetes.hold_jobs`,
:meth:`~FakeKubernetes.fail_requests`, :meth:`~FakeKubernetes.forbid`,
:meth:`~FakeKubernetes.drop_watches`,
:meth:`~FakeKubernetes.compact` and :meth:`~FakeKubernetes.set_unreachable`; every request is
recorded as a :class:`Recorded`.

Tests can also read state directly (:meth:`~FakeKubernetes.deployment`,
:meth:`~FakeKubernetes.get`, :meth:`~FakeKubernetes.objects`, :meth:`~FakeKubernetes.pods`),
wait for it (:meth:`~FakeKubernetes.wait_until`) and see how many watches are open
(:attr:`~FakeKubernetes.open_watches`).

Point the client at it with ``kubernetes.config.load_kube_config(config_file=
fake.write_kubeconfig(path), client_configuration=cfg)``.  Stdlib only on purpose.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import json
import math
import random
import re
import select
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from bot.devtools.httpbits import TrackedHandler, TrackingServer, read_body

__all__ = ["FAKE_USER", "FailureMode", "FakeKubernetes", "Recorded"]

#: The identity named in 403 messages (the bot's service account in the real cluster).
FAKE_USER = "system:serviceaccount:deploybot:deploybot"

FailureMode = Literal["image_pull", "crash_loop", "deadline"]

JSONDict = dict[str, Any]

# Bounded watch history: a watch may resume from any resourceVersion still in it.
_HISTORY_LIMIT = 5000
# Controller pacing, in ticks.
_JOB_RUN_TICKS = 3
_DEADLINE_TICKS = 5
_CRASH_DELAY_TICKS = 3
_CRASH_LOOP_RESTART_TICKS = 3  # a crash-looping container restarts every this many ticks
# How often an idle watch stream wakes up to notice a closed client or a stop.
_WATCH_POLL_SECONDS = 0.2
_NODES = ("fake-node-1", "fake-node-2", "fake-node-3")
# Kubernetes' "safe" alphabet for generated names and pod-template-hash values.
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_REVISION = "deployment.kubernetes.io/revision"
_REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
_CHANGE_CAUSE = "kubernetes.io/change-cause"
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
}
_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_INJECTED_MESSAGES = {
    429: "the server has received too many requests and has asked us to try again later",
    500: "Internal error occurred: injected failure (fake Kubernetes API)",
    503: "the server is currently unable to handle the request",
    504: (
        "the server was unable to return a response in the time allotted, "
        "but may still be processing the request"
    ),
}


# ---------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class Recorded:
    """One request received by the fake (recorded before any injected failure applies)."""

    method: str
    """HTTP method, upper case."""
    path: str
    """URL path without the query string, e.g. ``/apis/apps/v1/namespaces/prod/deployments/api``."""
    query: dict[str, str]
    """Query parameters (last value wins), e.g. ``{"watch": "true", "resourceVersion": "12"}``."""
    body: Any
    """The parsed JSON body (``None`` when empty; the raw text if it was not JSON)."""
    at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the request arrived."""
    content_type: str | None = None
    """The request's ``Content-Type`` (e.g. ``application/strategic-merge-patch+json``)."""

    @property
    def is_watch(self) -> bool:
        return self.method == "GET" and _truthy(self.query.get("watch"))


# ---------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Resource:
    plural: str
    kind: str
    group: str
    version: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``deployments.apps`` / ``pods``, as the API server names resources in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_RESOURCES: dict[str, _Resource] = {
    r.plural: r
    for r in (
        _Resource("deployments", "Deployment", "apps", "v1"),
        _Resource("replicasets", "ReplicaSet", "apps", "v1"),
        _Resource("pods", "Pod", "", "v1"),
        _Resource("jobs", "Job", "batch", "v1"),
    )
}
_WRITABLE = {"deployments", "replicasets", "pods", "jobs"}
_CREATABLE = {"jobs", "deployments"}  # deployments: per-PR instances (previews)


class _ApiError(Exception):
    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: JSONDict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status(self) -> JSONDict:
        return _status_object(self.code, self.reason, self.message, self.details)


def _status_object(
    code: int, reason: str, message: str, details: JSONDict | None = None
) -> JSONDict:
    status: JSONDict = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status


def _not_found(res: _Resource, name: str) -> _ApiError:
    return _ApiError(
        404,
        f'{res.qualified} "{name}" not found',
        details={"name": name, "group": res.group, "kind": res.plural},
    )


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(payload: Any, status: int = 200) -> _Reply:
    return _Reply(status=status, body=json.dumps(payload).encode("utf-8"))


def _error_reply(err: _ApiError) -> _Reply:
    reply = _json_reply(err.status(), err.code)
    reply.headers.update(err.headers)
    return reply


@dataclass
class _Event:
    rv: int
    resource: str
    type: str
    obj: JSONDict


@dataclass(eq=False)
class _WatchStream:
    handler: _Handler
    drop_after: int | None = None
    abrupt: bool = False
    sent: int = 0


@dataclass
class _WatchRequest:
    resource: _Resource
    namespace: str | None
    matches: Callable[[JSONDict], bool]
    resource_version: str | None
    timeout: float | None


@dataclass
class _RequestFailure:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int


@dataclass
class _JobOutcome:
    succeed: bool
    logs: str


@dataclass
class _Rollout:
    template_hash: str
    rs_name: str
    mode: FailureMode | None
    crash_restarts: int | None
    failing: list[str]
    started_tick: int
    last_progress: float
    done: bool = False
    deadline_exceeded: bool = False
    #: Crash (crash_restarts) once a client has read the completed Deployment, not on a timer.
    crash_once_seen: bool = False


@dataclass
class _DeploymentState:
    pending_failure: FailureMode | None = None
    pending_crash: int | None = None
    pending_crash_once_seen: bool = False
    rollout: _Rollout | None = None
    # Standing rules: a rollout to an image one of these matches fails in that mode.
    image_failures: list[tuple[Callable[[str], bool], FailureMode]] = field(
        default_factory=list
    )


@dataclass
class _PodState:
    """The fake's private knowledge about a pod: how it behaves and what it logs."""

    behavior: str  # healthy | image_pull | crash_loop | deadline | job
    failing: list[str]
    logs: dict[str, str]
    created_tick: int
    started_at: str
    restarts: int = 0
    crash_at_tick: int | None = None
    crash_max: int = 0
    job_result: bool | None = None  # None while a job pod runs; True/False when finished
    finished_at: str | None = None


def _api_time(at: datetime) -> str:
    """An API timestamp (RFC 3339, whole seconds, UTC), as metav1.Time serializes."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_SET_TERM = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_TERM = re.compile(r"^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$")
_EXISTS_TERM = re.compile(r"^(!?)\s*([\w./-]+)$")


def _label_matcher(selector: str | None) -> Callable[[dict[str, str]], bool]:
    """Compile a label selector (``a=b,c!=d,e in (x,y),!f``) into a predicate on labels."""
    terms: list[tuple[str, str, frozenset[str]]] = []  # (op, key, values)
    for term in _split_top_level(selector or ""):
        if m := _SET_TERM.match(term):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            terms.append((m.group(2), m.group(1), values))
        elif m := _EQ_TERM.match(term):
            op = "!=" if m.group(2) == "!=" else "="
            terms.append((op, m.group(1), frozenset({m.group(3)})))
        elif m := _EXISTS_TERM.match(term):
            terms.append(("!" if m.group(1) else "exists", m.group(2), frozenset()))
        else:
            raise _ApiError(400, f"unable to parse requirement: {term!r}")

    def matches(labels: dict[str, str]) -> bool:
        for op, key, values in terms:
            value = labels.get(key)
            ok = {
                "in": value in values,
                "=": value in values,
                "notin": value not in values,
                "!=": value not in values,
                "exists": key in labels,
                "!": key not in labels,
            }[op]
            if not ok:
                return False
        return True

    return matches


def _field_value(obj: JSONDict, dotted: str) -> str:
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def _field_matcher(selector: str | None) -> Callable[[JSONDict], bool]:
    """Compile a field selector (``metadata.name=api``, ``status.phase!=Running``)."""
    terms: list[tuple[str, bool, str]] = []  # (path, equal, value)
    for term in _split_top_level(selector or ""):
        m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", term)
        if m is None:
            raise _ApiError(400, f"invalid field selector: {term!r}")
        terms.append((m.group(1), m.group(2) != "!=", m.group(3).strip()))

    def matches(obj: JSONDict) -> bool:
        return all((_field_value(obj, path) == value) == equal for path, equal, value in terms)

    return matches


def _labels_of(obj: JSONDict) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


# ---------------------------------------------------------------------------- patches


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _strategic_merge(original: Any, patch: Any) -> Any:
    """Apply a strategic-merge patch: maps merge, ``null`` deletes, named lists merge by key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result: JSONDict = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # $retainKeys, $setElementOrder/..., $deleteFromPrimitiveList/...
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = _strategic_merge(result.get(key), value)
        elif isinstance(value, list) and key in _MERGE_KEYS:
            result[key] = _merge_named_list(result.get(key), value, _MERGE_KEYS[key])
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_named_list(original: Any, patch: list[Any], merge_key: str) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if not all(isinstance(i, dict) and merge_key in i for i in patch):
        return _strip_directives(copy.deepcopy(patch))  # type: ignore[no-any-return]
    result: list[Any] = copy.deepcopy(original) if isinstance(original, list) else []
    for item in patch:
        index = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is not None:
            result[index] = _strategic_merge(result[index], item)
        else:
            result.append(_strip_directives(item))
    return result


def _merge_patch(original: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: JSONDict = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _ApiError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(original: JSONDict, ops: Any) -> JSONDict:
    """RFC 6902 JSON patch: add, remove, replace, test, copy, move."""
    if not isinstance(ops, list):
        raise _ApiError(400, "json patch must be a list of operations")
    doc: Any = copy.deepcopy(original)

    def parent(tokens: list[str]) -> tuple[Any, str]:
        node = doc
        for tok in tokens[:-1]:
            try:
                node = node[int(tok)] if isinstance(node, list) else node[tok]
            except (KeyError, IndexError, ValueError, TypeError):
                raise _ApiError(422, f"json patch: path not found at {tok!r}") from None
        return node, tokens[-1]

    def get(path: str) -> Any:
        node: Any = doc
        for tok in _pointer(path):
            try:
                node = node[int(tok)] if isinstance(node, list) else node[tok]
            except (KeyError, IndexError, ValueError, TypeError):
                raise _ApiError(422, f"json patch: path {path!r} not found") from None
        return node

    def add(path: str, value: Any) -> None:
        tokens = _pointer(path)
        if not tokens:
            raise _ApiError(422, "json patch: cannot replace the whole document")
        node, last = parent(tokens)
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            node.insert(index, copy.deepcopy(value))
        elif isinstance(node, dict):
            node[last] = copy.deepcopy(value)
        else:
            raise _ApiError(422, f"json patch: cannot add at {path!r}")

    def remove(path: str) -> Any:
        tokens = _pointer(path)
        node, last = parent(tokens)
        try:
            return node.pop(int(last)) if isinstance(node, list) else node.pop(last)
        except (KeyError, IndexError, ValueError, AttributeError):
            raise _ApiError(422, f"json patch: path {path!r} not found") from None

    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise _ApiError(400, f"json patch: invalid operation {op!r}")
        kind, path = op["op"], str(op["path"])
        if kind == "add":
            add(path, op.get("value"))
        elif kind == "remove":
            remove(path)
        elif kind == "replace":
            remove(path)
            add(path, op.get("value"))
        elif kind == "test":
            if get(path) != op.get("value"):
                raise _ApiError(422, f"json patch: test failed at {path!r}")
        elif kind == "copy":
            add(path, get(str(op.get("from", ""))))
        elif kind == "move":
            add(path, remove(str(op.get("from", ""))))
        else:
            raise _ApiError(400, f"json patch: unsupported op {kind!r}")
    if not isinstance(doc, dict):
        raise _ApiError(422, "json patch: result is not an object")
    return doc


# ---------------------------------------------------------------------------- HTTP server


class _Server(TrackingServer):
    def __init__(self, fake: FakeKubernetes, port: int) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(TrackedHandler):
    server_version = "FakeKubernetes/1.0"
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        return read_body(self)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, on the fake's clock (the API server's)."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return format_datetime(self.server.fake.clock().astimezone(UTC), usegmt=True)

    def _handle(self) -> None:
        fake = self.server.fake
        try:
            body = self._read_body()
            outcome = fake._dispatch(
                method=self.command,
                target=self.path,
                content_type=self.headers.get("Content-Type"),
                body=body,
            )
        except Exception:  # pragma: no cover - a bug in the fake itself
            traceback.print_exc(file=sys.stderr)
            outcome = _error_reply(_ApiError(500, "fake Kubernetes API internal error"))
        if isinstance(outcome, _WatchRequest):
            try:
                fake._serve_watch(self, outcome)
            except OSError:
                self.close_connection = True
            return
        self.send_response(outcome.status)
        self.send_header("Content-Type", outcome.content_type)
        self.send_header("Content-Length", str(len(outcome.body)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(outcome.body)

    # -- chunked streaming (watch) ---------------------------------------------------------

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def abort(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
            return peeked == b""
        except (OSError, ValueError):
            return True


# ---------------------------------------------------------------------------- the fake


class FakeKubernetes:
    """A fake Kubernetes API server with a toy Deployment/Job controller.

    Use as a context manager (``with FakeKubernetes() as k8s:``) or ``start()``/``stop()``.
    All public methods are thread-safe; returned objects are copies.
    """

    def __init__(self, *, tick: float = 0.02,
                 clock: Callable[[], datetime] = _wall_clock) -> None:
        """``tick``: seconds between the controller's passes. ``clock``: the cluster's wall
        clock (an aware datetime), for every timestamp the fake writes (creation times,
        condition times, pod start times) and for the ``Date`` header of its answers, as the
        API server's and controller's clocks agree in a real cluster; the real time unless a
        test or the shell passes its own."""
        self.tick = tick
        self.clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._rng = random.Random(0)
        self._rv = 0
        self._floor_rv = 0
        self._history: deque[_Event] = deque()
        self._store: dict[str, dict[tuple[str, str], JSONDict]] = {p: {} for p in _RESOURCES}
        self._deploy_state: dict[tuple[str, str], _DeploymentState] = {}
        self._pod_state: dict[tuple[str, str], _PodState] = {}
        self._job_outcomes: dict[tuple[str, str], _JobOutcome] = {}
        self._held_jobs: set[tuple[str, str]] = set()
        self._requests: list[Recorded] = []
        self._failures: list[_RequestFailure] = []
        self._forbidden: set[tuple[str, str, str]] = set()
        self._open_watches: set[_WatchStream] = set()
        self._pending_drop: tuple[int, bool] | None = None
        self._tick_no = 0
        self._unreachable = False
        self._stopping = False
        self._port = 0
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self._controller: threading.Thread | None = None
        self._controller_stop = threading.Event()

    def _stamp(self) -> str:
        return _api_time(self.clock())

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeKubernetes:
        """Bind 127.0.0.1 on a free port, serve and run the controller. Idempotent."""
        if self._controller is not None:
            return self
        self._stopping = False
        self._controller_stop.clear()
        self._serve()
        if self._unreachable:
            self._shutdown_server()
        self._controller = threading.Thread(
            target=self._run_controller, name=f"FakeKubernetes:{self._port}:controller", daemon=True
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop the controller, end open watches, close the server and its connections."""
        controller = self._controller
        if controller is None:
            return
        self._controller = None
        self._controller_stop.set()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        controller.join(timeout=5.0)
        self._shutdown_server()

    def __enter__(self) -> FakeKubernetes:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        server: _Server | None = None
        for attempt in range(50):
            try:
                server = _Server(self, self._port)
                break
            except OSError as exc:  # the old socket may linger for a moment on re-bind
                if exc.errno != errno.EADDRINUSE or attempt == 49:
                    raise
                time.sleep(0.02)
        assert server is not None
        self._port = int(server.server_address[1])
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeKubernetes:{self._port}",
            daemon=True,
        )
        self._server, self._server_thread = server, thread
        thread.start()

    def _shutdown_server(self) -> None:
        server, thread = self._server, self._server_thread
        if server is None:
            return
        self._server = self._server_thread = None
        server.shutdown()
        server.server_close()
        with server.sockets_lock:
            open_sockets = list(server.open_sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5.0)

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("FakeKubernetes is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(
        self, path: str | Path, *, context: str = "fake", namespace: str = "default"
    ) -> str:
        """Write a kubeconfig for :attr:`base_url` (plain http, a dummy token); return its path.

        The file is JSON, which is valid YAML for the kubeconfig loader.
        """
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": self.base_url}}],
            "users": [{"name": context, "user": {"token": "fake-token"}}],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": context, "namespace": namespace},
                }
            ],
            "current-context": context,
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return str(target)

    # ------------------------------------------------------------------ seeding and inspection

    def add_deployment(
        self,
        namespace: str,
        name: str,
        *,
        containers: list[dict[str, Any]],
        replicas: int = 3,
        labels: dict[str, str] | None = None,
        progress_deadline_seconds: int = 600,
        service_account: str = "api",
        env: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Create a Deployment that is already fully rolled out (RS and ready pods exist).

        ``labels`` (default ``{"app": name}``) become the selector and the pod labels; ``env``
        goes to the first container unless that container has its own ``env``.  Returns the
        Deployment as the API would.
        """
        if not containers:
            raise ValueError("a Deployment needs at least one container")
        labels = dict(labels or {"app": name})
        pod_containers: list[JSONDict] = []
        for i, spec in enumerate(containers):
            container = copy.deepcopy(spec)
            if "name" not in container or "image" not in container:
                raise ValueError(f"container {spec!r} needs a name and an image")
            if i == 0 and env is not None:
                container.setdefault("env", copy.deepcopy(env))
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("resources", {})
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            pod_containers.append(container)
        with self._cond:
            if (namespace, name) in self._store["deployments"]:
                raise ValueError(f"deployment {namespace}/{name} already exists")
            obj: JSONDict = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": self._new_metadata(namespace, name, labels=dict(labels)),
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(labels)},
                    "template": {
                        "metadata": {"labels": dict(labels), "annotations": {}},
                        "spec": {
                            "containers": pod_containers,
                            "serviceAccountName": service_account,
                            "serviceAccount": service_account,
                            "restartPolicy": "Always",
                            "terminationGracePeriodSeconds": 30,
                            "dnsPolicy": "ClusterFirst",
                            "securityContext": {},
                            "schedulerName": "default-scheduler",
                        },
                    },
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    },
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": progress_deadline_seconds,
                },
                "status": {},
            }
            self._write("deployments", obj, "ADDED")
            # Roll the first version out synchronously: the deployment starts healthy, and
            # faults armed before it existed wait for the next rollout.
            state = self._deploy_state.setdefault((namespace, name), _DeploymentState())
            armed = (state.pending_failure, state.pending_crash, state.image_failures,
                     state.pending_crash_once_seen)
            state.pending_failure = state.pending_crash = None
            state.pending_crash_once_seen = False
            state.image_failures = []
            for _ in range(replicas * 2 + 4):
                self._reconcile_deployment(namespace, name)
                if state.rollout is not None and state.rollout.done:
                    break
            (state.pending_failure, state.pending_crash, state.image_failures,
             state.pending_crash_once_seen) = armed
            self._cond.notify_all()
            return self.deployment(namespace, name)

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        """The current Deployment object (a copy). Raises ``KeyError`` if it does not exist."""
        return self.get("deployments", namespace, name)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        """The current object of ``resource`` (``deployments``, ``pods``, ...), a copy."""
        with self._cond:
            obj = self._store[resource].get((namespace, name))
            if obj is None:
                raise KeyError(f"{resource} {namespace}/{name} not found")
            return copy.deepcopy(obj)

    def objects(
        self, resource: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Current objects of ``resource`` (optionally in a namespace / matching labels)."""
        matches = _label_matcher(label_selector)
        with self._cond:
            return [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self._store[resource].items())
                if (namespace is None or ns == namespace) and matches(_labels_of(obj))
            ]

    def pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """Current pods in ``namespace`` (optionally matching a label selector)."""
        return self.objects("pods", namespace, label_selector)

    def wait_until(self, condition: Callable[[FakeKubernetes], bool], timeout: float = 5.0) -> None:
        """Block until ``condition(self)`` is true (re-checked on every write/tick)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"condition not met within {timeout:.2f}s")
                self._cond.wait(min(remaining, 0.1))

    @property
    def requests(self) -> list[Recorded]:
        """All recorded requests, in arrival order (a copy)."""
        with self._cond:
            return list(self._requests)

    def recorded(
        self, method: str | None = None, path_contains: str | None = None
    ) -> list[Recorded]:
        """Recorded requests, optionally filtered by HTTP method and a path substring."""
        with self._cond:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (path_contains is None or path_contains in r.path)
            ]

    def clear_requests(self) -> None:
        """Forget recorded requests."""
        with self._cond:
            self._requests.clear()

    # ------------------------------------------------------------------ fault injection

    def fail_next_rollout(self, namespace: str, name: str, mode: FailureMode) -> None:
        """Make the next rollout of the Deployment fail.

        ``image_pull``: new pods stay Pending with ``ImagePullBackOff``; ``crash_loop``: new
        pods run but crash (``CrashLoopBackOff``, rising ``restartCount``, last termination
        exit code 1); ``deadline``: new pods stay unschedulable and after a few ticks the
        Progressing condition turns ``False``/``ProgressDeadlineExceeded``.  In every mode the
        old pods keep serving.  The failing containers are those whose image the rollout
        changes (the first container if none does).

        "Next" is the next rollout the controller starts: after a patch it has not observed
        yet (observedGeneration behind), that is the patch's own rollout.
        """
        if mode not in ("image_pull", "crash_loop", "deadline"):
            raise ValueError(f"unknown failure mode {mode!r}")
        with self._cond:
            self._deploy_state.setdefault(
                (namespace, name), _DeploymentState()
            ).pending_failure = mode

    def fail_rollouts_to(
        self, namespace: str, name: str, images: Callable[[str], bool], mode: FailureMode
    ) -> None:
        """Make every later rollout of the Deployment fail as :meth:`fail_next_rollout` says
        when ``images(image)`` is true for an image it rolls out (of the containers whose
        image it changes): a standing rule, e.g. "versions ending in -bad cannot be pulled".
        :meth:`fail_next_rollout` wins over it; the rollout that creates the Deployment
        (:meth:`add_deployment`) is exempt.
        """
        if mode not in ("image_pull", "crash_loop", "deadline"):
            raise ValueError(f"unknown failure mode {mode!r}")
        with self._cond:
            self._deploy_state.setdefault(
                (namespace, name), _DeploymentState()
            ).image_failures.append((images, mode))

    def crash_after_ready(self, namespace: str, name: str, *, restarts: int = 3,
                          once_seen: bool = False) -> None:
        """The next rollout completes; a few ticks later its new pods start crash-looping.

        Their ``restartCount`` rises by one per tick up to ``restarts`` and they turn not
        ready with ``CrashLoopBackOff`` (so the Deployment loses its ready replicas).
        With ``once_seen`` the crash starts on the tick after a client first GETs the
        completed Deployment instead of a few ticks after completion: a test of what happens
        *after* the bot saw the rollout complete (its watch) does not depend on how soon,
        on a loaded machine, the bot read it.
        """
        with self._cond:
            state = self._deploy_state.setdefault((namespace, name), _DeploymentState())
            state.pending_crash = max(1, restarts)
            state.pending_crash_once_seen = once_seen

    def set_job_outcome(
        self, namespace: str, name_prefix: str, *, succeed: bool, logs: str
    ) -> None:
        """Jobs named ``name_prefix...`` succeed (or fail) after a few ticks, logging ``logs``.

        The longest matching prefix wins; unmatched Jobs succeed with the logs ``"ok"``.  A
        failing Job runs ``backoffLimit + 1`` pods before it is marked Failed.
        """
        with self._cond:
            self._job_outcomes[(namespace, name_prefix)] = _JobOutcome(succeed, logs)

    def hold_jobs(self, namespace: str, name_prefix: str) -> None:
        """Keep Jobs named ``name_prefix...`` running (their pod started, not finished) until
        :meth:`release_jobs`; they then finish on the next tick as :meth:`set_job_outcome` says.
        """
        with self._cond:
            self._held_jobs.add((namespace, name_prefix))

    def release_jobs(self, namespace: str, name_prefix: str) -> None:
        """Undo :meth:`hold_jobs`."""
        with self._cond:
            self._held_jobs.discard((namespace, name_prefix))
            self._cond.notify_all()

    def fail_requests(
        self, method: str, path_pattern: str, *, status: int = 500, times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and a ``Status`` body.

        ``method`` is an HTTP method, ``"*"``, or ``"WATCH"`` (watch GETs only);
        ``path_pattern`` is a regex searched in the path and in the path with its query
        string.  429 answers carry ``Retry-After: 1``.
        """
        with self._cond:
            self._failures.append(
                _RequestFailure(method.upper(), re.compile(path_pattern), status, times)
            )

    def forbid(self, verb: str, resource: str, namespace: str) -> None:
        """Answer ``verb`` on ``resource`` in ``namespace`` with 403 Forbidden (RBAC-style).

        Verbs are the RBAC ones (get, list, watch, create, update, patch, delete); resources
        are plurals, optionally with a subresource (``pods/log``) or group
        (``deployments.apps``); any of the three may be ``"*"``.
        """
        plural = resource.split(".", 1)[0] if "/" not in resource else resource
        with self._cond:
            self._forbidden.add((verb.lower(), plural, namespace))

    def allow(self, verb: str, resource: str, namespace: str) -> None:
        """Undo :meth:`forbid`."""
        plural = resource.split(".", 1)[0] if "/" not in resource else resource
        with self._cond:
            self._forbidden.discard((verb.lower(), plural, namespace))

    def drop_watches(self, *, after_events: int = 1, abrupt: bool = False) -> None:
        """Close watch streams after ``after_events`` more events.

        Applies to every watch open now, or, if none is open, to the next one opened.  The
        stream ends cleanly (like an API server timeout, the client's ``Watch`` reconnects
        from the last resourceVersion) or, with ``abrupt=True``, the connection is reset
        mid-stream (the client sees a protocol error).
        """
        with self._cond:
            streams = self._live_watches()
            for stream in streams:
                stream.drop_after = stream.sent + after_events
                stream.abrupt = abrupt
            if not streams:
                self._pending_drop = (after_events, abrupt)
            self._cond.notify_all()

    @property
    def open_watches(self) -> int:
        """How many watch streams are open now (clients that hung up are not counted)."""
        with self._cond:
            return len(self._live_watches())

    def _live_watches(self) -> list[_WatchStream]:
        return [s for s in self._open_watches if not s.handler.client_gone()]

    def compact(self) -> None:
        """Forget history: a watch from an older resourceVersion now gets 410 Gone."""
        with self._cond:
            self._floor_rv = self._rv

    def set_unreachable(self, on: bool) -> None:
        """Refuse connections (and reset open ones) while ``on``; serve again on the same port."""
        with self._cond:
            if self._unreachable == on:
                return
            self._unreachable = on
        if not self.running:
            return
        if on:
            self._shutdown_server()
        else:
            self._serve()

    # ------------------------------------------------------------------ storage (lock held)

    def _uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _suffix(self, n: int = 5) -> str:
        return "".join(self._rng.choice(_SAFE_ALPHABET) for _ in range(n))

    def _new_metadata(
        self,
        namespace: str,
        name: str,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> JSONDict:
        return {
            "name": name,
            "namespace": namespace,
            "uid": self._uid(),
            "resourceVersion": "0",
            "generation": 1,
            "creationTimestamp": self._stamp(),
            "labels": labels or {},
            "annotations": annotations or {},
        }

    def _write(self, resource: str, obj: JSONDict, event: str) -> JSONDict:
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        self._store[resource][(meta["namespace"], meta["name"])] = copy.deepcopy(obj)
        self._record_event(resource, event, obj)
        return obj

    def _update_if_changed(self, resource: str, obj: JSONDict) -> None:
        meta = obj["metadata"]
        current = self._store[resource].get((meta["namespace"], meta["name"]))
        if current is not None and current == obj:
            return
        self._write(resource, obj, "MODIFIED")

    def _remove(self, resource: str, namespace: str, name: str) -> JSONDict | None:
        obj = self._store[resource].pop((namespace, name), None)
        if obj is None:
            return None
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._record_event(resource, "DELETED", obj)
        if resource == "pods":
            self._pod_state.pop((namespace, name), None)
        if resource == "deployments":
            self._deploy_state.pop((namespace, name), None)
        return obj

    def _record_event(self, resource: str, event: str, obj: JSONDict) -> None:
        self._history.append(_Event(self._rv, resource, event, copy.deepcopy(obj)))
        while len(self._history) > _HISTORY_LIMIT:
            evicted = self._history.popleft()
            self._floor_rv = max(self._floor_rv, evicted.rv)
        self._cond.notify_all()

    def _remove_with_dependents(self, resource: str, namespace: str, name: str) -> None:
        obj = self._store[resource].get((namespace, name))
        if obj is None:
            return
        uid = obj["metadata"]["uid"]
        for plural in ("replicasets", "pods", "jobs"):
            for (ns, child), child_obj in list(self._store[plural].items()):
                owners = child_obj["metadata"].get("ownerReferences") or []
                if ns == namespace and any(o.get("uid") == uid for o in owners):
                    self._remove_with_dependents(plural, ns, child)
        self._remove(resource, namespace, name)

    def _orphan_dependents(self, namespace: str, uid: str) -> None:
        for plural in ("replicasets", "pods"):
            for (ns, _), child in list(self._store[plural].items()):
                owners = child["metadata"].get("ownerReferences") or []
                if ns == namespace and any(o.get("uid") == uid for o in owners):
                    updated = copy.deepcopy(child)
                    updated["metadata"]["ownerReferences"] = [
                        o for o in owners if o.get("uid") != uid
                    ]
                    self._write(plural, updated, "MODIFIED")

    # ------------------------------------------------------------------ request dispatch

    def _dispatch(
        self, *, method: str, target: str, content_type: str | None, body: bytes
    ) -> _Reply | _WatchRequest:
        parts = urlsplit(target)
        path = unquote(parts.path).rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        parsed: Any = None
        body_error: str | None = None
        if body:
            text = body.decode("utf-8", errors="replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed, body_error = text, "request body is not valid JSON"
        mime = (content_type or "").split(";", 1)[0].strip().lower() or None
        is_watch = method == "GET" and _truthy(query.get("watch"))
        with self._cond:
            self._requests.append(Recorded(method, path, query, parsed, content_type=mime))
            self._cond.notify_all()
            try:
                self._inject_failure(method, path, parts.query, is_watch)
                if body_error is not None:
                    raise _ApiError(400, body_error)
                return self._route(method, path, query, parsed, mime, is_watch)
            except _ApiError as err:
                return _error_reply(err)

    def _inject_failure(self, method: str, path: str, raw_query: str, is_watch: bool) -> None:
        full = f"{path}?{raw_query}" if raw_query else path
        for failure in self._failures:
            if failure.remaining <= 0:
                continue
            if failure.method == "WATCH":
                if not is_watch:
                    continue
            elif failure.method not in ("*", method):
                continue
            if failure.pattern.search(path) or failure.pattern.search(full):
                failure.remaining -= 1
                message = _INJECTED_MESSAGES.get(
                    failure.status, f"injected failure {failure.status} (fake Kubernetes API)"
                )
                headers = {"Retry-After": "1"} if failure.status == 429 else {}
                raise _ApiError(failure.status, message, headers=headers)
        self._failures = [f for f in self._failures if f.remaining > 0]

    def _check_allowed(
        self, verb: str, res: _Resource, namespace: str | None, name: str | None, sub: str = ""
    ) -> None:
        resource = f"{res.plural}/{sub}" if sub else res.plural
        ns = namespace or ""
        if not any(
            v in ("*", verb) and r in ("*", resource) and n in ("*", ns)
            for v, r, n in self._forbidden
        ):
            return
        subject = f'{res.qualified} "{name}"' if name else res.qualified
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        details: JSONDict = {"group": res.group, "kind": res.plural}
        if name:
            details["name"] = name
        raise _ApiError(
            403,
            f'{subject} is forbidden: User "{FAKE_USER}" cannot {verb} resource "{resource}" '
            f'in API group "{res.group}" {scope}',
            details=details,
        )

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        mime: str | None,
        is_watch: bool,
    ) -> _Reply | _WatchRequest:
        if path in ("/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/apis/batch/v1"):
            if method != "GET":
                raise _ApiError(405, f"the server does not allow this method on {path}")
            return _json_reply(_discovery(path))
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
            if method != "POST":
                raise _ApiError(405, f"the server does not allow this method on {path}")
            return self._access_review(body)
        segments = path.strip("/").split("/")
        if segments[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", segments[2:]
        elif len(segments) >= 3 and segments[0] == "apis":
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise _ApiError(404, "the server could not find the requested resource")
        namespace: str | None = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise _ApiError(404, "the server could not find the requested resource")
        res = _RESOURCES.get(rest[0])
        if res is None or res.group != group or res.version != version or len(rest) > 3:
            raise _ApiError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else ""
        if sub and not (sub == "log" and res.plural == "pods" and method == "GET"):
            raise _ApiError(404, "the server could not find the requested resource")

        if name is None:
            if method == "GET":
                verb = "watch" if is_watch else "list"
                self._check_allowed(verb, res, namespace, None)
                if is_watch:
                    return self._watch_request(res, namespace, query)
                return self._list(res, namespace, query)
            if method == "POST" and namespace is not None:
                self._check_allowed("create", res, namespace, None)
                return self._create(res, namespace, body, query)
            raise _ApiError(405, f"the server does not allow this method on {res.qualified}")
        if namespace is None:
            raise _ApiError(404, "the server could not find the requested resource")
        if sub == "log":
            self._check_allowed("get", res, namespace, name, "log")
            return self._pod_log(namespace, name, query)
        verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        if method not in verbs:
            raise _ApiError(405, f"the server does not allow this method on {res.qualified}")
        verb = "watch" if is_watch else verbs[method]
        self._check_allowed(verb, res, namespace, name)
        if is_watch:
            query = {**query, "fieldSelector": f"metadata.name={name}"}
            return self._watch_request(res, namespace, query)
        if method == "GET":
            if res.plural == "deployments":
                self._seen_complete(namespace, name)
            return _json_reply(self._get(res, namespace, name))
        if method == "DELETE":
            return self._delete(res, namespace, name, body, query)
        if res.plural not in _WRITABLE:
            raise _ApiError(405, f"the server does not allow this method on {res.qualified}")
        if method == "PUT":
            return self._replace(res, namespace, name, body, query)
        return self._patch(res, namespace, name, body, mime, query)

    def _access_review(self, body: Any) -> _Reply:
        """A SelfSubjectAccessReview: may FAKE_USER do this? (what :meth:`forbid` says)."""
        attributes = ((body or {}).get("spec") or {}).get("resourceAttributes") if isinstance(
            body, dict) else None
        if not isinstance(attributes, dict) or not attributes.get("verb"):
            raise _ApiError(422, "spec.resourceAttributes.verb: Required value")
        verb = str(attributes["verb"]).lower()
        resource = str(attributes.get("resource") or "")
        if attributes.get("subresource"):
            resource += f"/{attributes['subresource']}"
        ns = str(attributes.get("namespace") or "")
        denied = any(v in ("*", verb) and r in ("*", resource) and n in ("*", ns)
                     for v, r, n in self._forbidden)
        status: JSONDict = {"allowed": not denied}
        if denied:
            status["reason"] = "no RBAC rule allows it (fake Kubernetes API)"
        return _json_reply({"apiVersion": "authorization.k8s.io/v1",
                            "kind": "SelfSubjectAccessReview",
                            "metadata": {"creationTimestamp": None},
                            "spec": body["spec"], "status": status}, 201)

    # ------------------------------------------------------------------ verbs (lock held)

    def _arm_crash(self, namespace: str, rollout: _Rollout, new_pods: list[JSONDict],
                   delay: int) -> None:
        """The new pods crash-loop from `delay` ticks on (crash_after_ready)."""
        for pod in new_pods:
            pstate = self._pod_state[(namespace, pod["metadata"]["name"])]
            pstate.crash_at_tick = self._tick_no + delay
            pstate.crash_max = rollout.crash_restarts or 0

    def _seen_complete(self, namespace: str, name: str) -> None:
        """A client reads a Deployment: a crash armed `once_seen` starts now if complete."""
        state = self._deploy_state.get((namespace, name))
        rollout = state.rollout if state is not None else None
        if rollout is None or not rollout.done or not rollout.crash_once_seen:
            return
        rollout.crash_once_seen = False
        rs = self._store["replicasets"].get((namespace, rollout.rs_name))
        if rs is not None:
            self._arm_crash(namespace, rollout,
                            self._owned_pods(namespace, {rs["metadata"]["uid"]}), 1)

    def _get(self, res: _Resource, namespace: str, name: str) -> JSONDict:
        obj = self._store[res.plural].get((namespace, name))
        if obj is None:
            raise _not_found(res, name)
        return copy.deepcopy(obj)

    def _matcher(self, query: dict[str, str]) -> Callable[[JSONDict], bool]:
        labels = _label_matcher(query.get("labelSelector"))
        fields = _field_matcher(query.get("fieldSelector"))
        return lambda obj: labels(_labels_of(obj)) and fields(obj)

    def _list(self, res: _Resource, namespace: str | None, query: dict[str, str]) -> _Reply:
        matches = self._matcher(query)
        items = [
            copy.deepcopy(obj)
            for (ns, _), obj in sorted(self._store[res.plural].items())
            if (namespace is None or ns == namespace) and matches(obj)
        ]
        return _json_reply(
            {
                "apiVersion": res.api_version,
                "kind": f"{res.kind}List",
                "metadata": {"resourceVersion": str(self._rv)},
                "items": items,
            }
        )

    def _create(self, res: _Resource, namespace: str, body: Any, query: dict[str, str]) -> _Reply:
        if res.plural not in _CREATABLE:
            raise _ApiError(405, f"the fake does not support creating {res.qualified}")
        if not isinstance(body, dict):
            raise _ApiError(400, f"the body of a {res.kind} must be a JSON object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace") not in (None, "", namespace):
            raise _ApiError(
                400,
                "the namespace of the provided object does not match the namespace sent on "
                "the request",
            )
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = f"{meta['generateName']}{self._suffix()}"
        if not name:
            raise _ApiError(
                422,
                f'{res.kind}.{res.group} "" is invalid: metadata.name: Required value: '
                "name or generateName is required",
                details={"group": res.group, "kind": res.kind},
            )
        if (namespace, name) in self._store[res.plural]:
            raise _ApiError(
                409,
                f'{res.qualified} "{name}" already exists',
                reason="AlreadyExists",
                details={"name": name, "group": res.group, "kind": res.plural},
            )
        fresh = self._new_metadata(
            namespace, name, labels=meta.get("labels"), annotations=meta.get("annotations")
        )
        for key in ("generateName", "ownerReferences", "finalizers"):
            if key in meta:
                fresh[key] = meta[key]
        obj["metadata"] = fresh
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if res.plural == "jobs":
            self._default_job(obj)
        obj["status"] = {}
        if query.get("dryRun"):
            return _json_reply(obj, 201)
        self._write(res.plural, obj, "ADDED")
        return _json_reply(obj, 201)

    def _default_job(self, job: JSONDict) -> None:
        meta = job["metadata"]
        name, uid = meta["name"], meta["uid"]
        spec = job.setdefault("spec", {})
        template = spec.get("template")
        pod_spec = template.get("spec") if isinstance(template, dict) else None
        if not isinstance(pod_spec, dict) or not pod_spec.get("containers"):
            raise _ApiError(
                422,
                f'Job.batch "{name}" is invalid: spec.template.spec.containers: Required value',
                details={"name": name, "group": "batch", "kind": "Job"},
            )
        policy = pod_spec.get("restartPolicy", "Always")
        if policy not in ("Never", "OnFailure"):
            raise _ApiError(
                422,
                f'Job.batch "{name}" is invalid: spec.template.spec.restartPolicy: Unsupported '
                f'value: "{policy}": supported values: "OnFailure", "Never"',
                details={"name": name, "group": "batch", "kind": "Job"},
            )
        selector_labels = {"batch.kubernetes.io/controller-uid": uid}
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("manualSelector", False)
        spec["selector"] = {"matchLabels": dict(selector_labels)}
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {
            **(tmeta.get("labels") or {}),
            **selector_labels,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
        for container in pod_spec["containers"]:
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("resources", {})
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")

    def _check_precondition(self, res: _Resource, name: str, current: JSONDict, new: Any) -> None:
        if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
            raise _ApiError(400, f"the body of a {res.kind} must be a JSON object")
        wanted = new.get("metadata", {}).get("resourceVersion")
        if wanted not in (None, "") and str(wanted) != current["metadata"]["resourceVersion"]:
            raise _ApiError(
                409,
                f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                details={"name": name, "group": res.group, "kind": res.plural},
            )
        new_name = new.get("metadata", {}).get("name")
        if new_name not in (None, name):
            raise _ApiError(
                400,
                f"the name of the object ({new_name}) does not match the name on the URL ({name})",
            )

    def _store_update(
        self, res: _Resource, current: JSONDict, updated: JSONDict, query: dict[str, str]
    ) -> _Reply:
        # Server-managed fields win; status is only written through the status subresource.
        meta = updated.setdefault("metadata", {})
        cur_meta = current["metadata"]
        for key in ("name", "namespace", "uid", "creationTimestamp", "generation"):
            meta[key] = cur_meta[key]
        for key in ("labels", "annotations"):
            if meta.get(key) is None:
                meta[key] = {}
        meta["resourceVersion"] = cur_meta["resourceVersion"]
        updated["apiVersion"], updated["kind"] = res.api_version, res.kind
        if "status" in current:
            updated["status"] = copy.deepcopy(current["status"])
        if res.plural in ("deployments", "jobs", "replicasets") and updated.get(
            "spec"
        ) != current.get("spec"):
            meta["generation"] = int(cur_meta.get("generation", 1)) + 1
        if res.plural == "jobs":
            old_t = (current.get("spec") or {}).get("template")
            if (updated.get("spec") or {}).get("template") != old_t:
                raise _ApiError(
                    422,
                    f'Job.batch "{meta["name"]}" is invalid: spec.template: Invalid value: '
                    "field is immutable",
                    details={"name": meta["name"], "group": "batch", "kind": "Job"},
                )
        if query.get("dryRun"):
            return _json_reply(updated)
        if updated != current:
            self._write(res.plural, updated, "MODIFIED")
        return _json_reply(updated)

    def _replace(
        self, res: _Resource, namespace: str, name: str, body: Any, query: dict[str, str]
    ) -> _Reply:
        current = self._get(res, namespace, name)
        self._check_precondition(res, name, current, body)
        return self._store_update(res, current, copy.deepcopy(body), query)

    def _patch(
        self,
        res: _Resource,
        namespace: str,
        name: str,
        body: Any,
        mime: str | None,
        query: dict[str, str],
    ) -> _Reply:
        current = self._get(res, namespace, name)
        if mime == "application/strategic-merge-patch+json":
            if not isinstance(body, dict):
                raise _ApiError(400, "a strategic merge patch must be a JSON object")
            self._check_precondition(res, name, current, body)
            updated = _strategic_merge(current, body)
        elif mime == "application/merge-patch+json":
            if not isinstance(body, dict):
                raise _ApiError(400, "a merge patch must be a JSON object")
            self._check_precondition(res, name, current, body)
            updated = _merge_patch(current, body)
        elif mime == "application/json-patch+json":
            updated = _json_patch(current, body)
        else:
            raise _ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types "
                "include: " + ", ".join(_PATCH_TYPES),
            )
        if not isinstance(updated, dict):
            raise _ApiError(422, "the patched object is not a JSON object")
        self._check_precondition(res, name, current, updated)
        return self._store_update(res, current, updated, query)

    def _delete(
        self, res: _Resource, namespace: str, name: str, body: Any, query: dict[str, str]
    ) -> _Reply:
        current = self._get(res, namespace, name)
        options = body if isinstance(body, dict) else {}
        default = "Orphan" if res.plural == "jobs" else "Background"
        policy = options.get("propagationPolicy") or query.get("propagationPolicy") or default
        if policy not in ("Orphan", "Background", "Foreground"):
            raise _ApiError(400, f'unsupported propagationPolicy "{policy}"')
        if not (query.get("dryRun") or options.get("dryRun")):
            if policy == "Orphan":
                self._orphan_dependents(namespace, current["metadata"]["uid"])
                self._remove(res.plural, namespace, name)
            else:
                self._remove_with_dependents(res.plural, namespace, name)
        return _json_reply(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": name,
                    "group": res.group,
                    "kind": res.plural,
                    "uid": current["metadata"]["uid"],
                },
            }
        )

    def _pod_log(self, namespace: str, name: str, query: dict[str, str]) -> _Reply:
        pod = self._get(_RESOURCES["pods"], namespace, name)
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        container = query.get("container") or ""
        if not container:
            if len(names) != 1:
                raise _ApiError(
                    400,
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(names)}]",
                )
            container = names[0]
        if container not in names:
            raise _ApiError(400, f"container {container} is not valid for pod {name}")
        state = self._pod_state.get((namespace, name))
        if state is not None and state.behavior == "image_pull" and container in state.failing:
            raise _ApiError(
                400,
                f'container "{container}" in pod "{name}" is waiting to start: trying and '
                "failing to pull image",
            )
        if state is not None and state.behavior == "deadline":
            raise _ApiError(
                400,
                f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating',
            )
        text = state.logs.get(container, "") if state is not None else ""
        tail = query.get("tailLines")
        if tail:
            try:
                count = int(tail)
            except ValueError:
                raise _ApiError(400, f"invalid tailLines {tail!r}") from None
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-count:]) if count > 0 else ""
        return _Reply(200, text.encode("utf-8"), "text/plain")

    # ------------------------------------------------------------------ watch

    def _watch_request(
        self, res: _Resource, namespace: str | None, query: dict[str, str]
    ) -> _WatchRequest:
        matches = self._matcher(query)
        timeout: float | None = None
        if query.get("timeoutSeconds"):
            try:
                timeout = float(query["timeoutSeconds"])
            except ValueError:
                raise _ApiError(400, "invalid timeoutSeconds") from None
        rv = query.get("resourceVersion") or None
        if rv is not None and rv != "0":
            try:
                int(rv)
            except ValueError:
                raise _ApiError(400, f'invalid resource version "{rv}"') from None
        return _WatchRequest(res, namespace, matches, rv, timeout)

    def _serve_watch(self, handler: _Handler, request: _WatchRequest) -> None:
        res = request.resource
        deadline = None if request.timeout is None else time.monotonic() + request.timeout

        def wanted(resource: str, obj: JSONDict) -> bool:
            if resource != res.plural:
                return False
            ns = obj["metadata"].get("namespace")
            return (request.namespace is None or ns == request.namespace) and request.matches(obj)

        stream = _WatchStream(handler)
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
                    expired = _status_object(
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
                        wait = _WATCH_POLL_SECONDS
                        if deadline is not None:
                            wait = max(0.0, min(wait, deadline - time.monotonic()))
                        self._cond.wait(wait)
                        if handler.client_gone():
                            return
                    fresh: list[_Event] = []
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

    def _should_drop(self, stream: _WatchStream) -> bool:
        with self._cond:
            return stream.drop_after is not None and stream.sent >= stream.drop_after

    def _drop(self, handler: _Handler, stream: _WatchStream) -> None:
        if stream.abrupt:
            handler.abort()
        else:
            handler.end_stream()
            handler.close_connection = True

    def _send_event(self, handler: _Handler, event_type: str, obj: JSONDict) -> None:
        line = json.dumps({"type": event_type, "object": obj}) + "\n"
        handler.write_chunk(line.encode("utf-8"))

    # ------------------------------------------------------------------ controller

    def _run_controller(self) -> None:
        while not self._controller_stop.wait(self.tick):
            try:
                with self._cond:
                    self._step()
            except Exception:  # pragma: no cover - a bug in the fake itself
                traceback.print_exc(file=sys.stderr)

    def _step(self) -> None:
        self._tick_no += 1
        for namespace, name in sorted(self._store["deployments"]):
            self._reconcile_deployment(namespace, name)
        for namespace, name in sorted(self._store["jobs"]):
            self._reconcile_job(namespace, name)
        self._cond.notify_all()

    # -- deployments ----------------------------------------------------------------------

    def _owned_pods(self, namespace: str, rs_uids: set[str]) -> list[JSONDict]:
        # Store order is creation order (updates keep a key's position).
        return [
            pod
            for (ns, _), pod in self._store["pods"].items()
            if ns == namespace
            and any(o.get("uid") in rs_uids for o in pod["metadata"].get("ownerReferences") or [])
        ]

    def _deployment_replicasets(self, namespace: str, dep_uid: str) -> list[JSONDict]:
        return [
            rs
            for (ns, _), rs in sorted(self._store["replicasets"].items())
            if ns == namespace
            and any(o.get("uid") == dep_uid for o in rs["metadata"].get("ownerReferences") or [])
        ]

    def _reconcile_deployment(self, namespace: str, name: str) -> None:
        dep = copy.deepcopy(self._store["deployments"][(namespace, name)])
        state = self._deploy_state.setdefault((namespace, name), _DeploymentState())
        meta, spec = dep["metadata"], dep["spec"]
        status: JSONDict = dep.setdefault("status", {})
        desired = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        template_hash = _template_hash(template)
        rs_name = f"{name}-{template_hash}"
        replicasets = self._deployment_replicasets(namespace, meta["uid"])

        rollout = state.rollout
        # The pass that finds or creates the new ReplicaSet for a changed template: like
        # kube-controller-manager's first sync after a patch, it scales the ReplicaSet but its
        # pods (made by the ReplicaSet controller) and the progress they bring come later.
        first_pass = (
            rollout is None
            or rollout.template_hash != template_hash
            or (namespace, rs_name) not in self._store["replicasets"]
        )
        if first_pass:
            rollout = self._start_rollout(dep, state, replicasets, template_hash, rs_name)
            replicasets = self._deployment_replicasets(namespace, meta["uid"])
        assert rollout is not None
        # The status written at the end of every pass carries the generation it saw
        # (calculateStatus in pkg/controller/deployment/sync.go).
        status["observedGeneration"] = int(meta.get("generation", 1))
        new_rs = next(rs for rs in replicasets if rs["metadata"]["name"] == rs_name)
        old_rs_uids = {rs["metadata"]["uid"] for rs in replicasets if rs is not new_rs}
        new_pods = self._owned_pods(namespace, {new_rs["metadata"]["uid"]})
        old_pods = self._owned_pods(namespace, old_rs_uids)

        # One step of a RollingUpdate with maxSurge/maxUnavailable 25%.
        surge = max(1, math.ceil(desired * 0.25))
        max_unavailable = math.floor(desired * 0.25)
        progressed = False
        if first_pass:
            pass  # pods come on the next pass
        elif len(new_pods) < desired and len(new_pods) + len(old_pods) < desired + surge:
            new_pods.append(self._create_rs_pod(new_rs, rollout))
            progressed = True
        elif len(new_pods) > desired:
            self._remove("pods", namespace, new_pods.pop()["metadata"]["name"])
            progressed = True
        if old_pods and not first_pass:
            ready_new = sum(1 for p in new_pods if _pod_ready(p))
            ready_old = sum(1 for p in old_pods if _pod_ready(p))
            # Unready old pods go first; a ready one only while availability allows it.
            victim = next((p for p in old_pods if not _pod_ready(p)), None)
            if victim is None and ready_new + ready_old - 1 >= desired - max_unavailable:
                victim = old_pods[0]
            if victim is not None:
                self._remove("pods", namespace, victim["metadata"]["name"])
                old_pods.remove(victim)
                progressed = True
        for pod in new_pods + old_pods:
            self._advance_pod(pod)
        new_pods = self._owned_pods(namespace, {new_rs["metadata"]["uid"]})
        old_pods = self._owned_pods(namespace, old_rs_uids)

        ready_new = sum(1 for p in new_pods if _pod_ready(p))
        if not rollout.done and not old_pods and len(new_pods) == desired and ready_new == desired:
            rollout.done = True
            rollout.deadline_exceeded = False
            if rollout.crash_restarts is not None and not rollout.crash_once_seen:
                self._arm_crash(namespace, rollout, new_pods, _CRASH_DELAY_TICKS)

        # ReplicaSet objects.
        for rs in replicasets:
            pods = (
                new_pods if rs is new_rs else self._owned_pods(namespace, {rs["metadata"]["uid"]})
            )
            self._sync_replicaset(rs, pods)

        # Deployment status.
        all_pods = new_pods + old_pods
        ready = sum(1 for p in all_pods if _pod_ready(p))
        counts = {
            "replicas": len(all_pods),
            "updatedReplicas": len(new_pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(len(all_pods) - ready, desired - ready, 0),
        }
        before = self._store["deployments"][(namespace, name)].get("status") or {}
        # DeploymentProgressing (pkg/controller/deployment/util/deployment_util.go): new pods
        # scaled up or ready or available, or old ones scaled down, since the status before.
        progressing = (
            counts["updatedReplicas"] > int(before.get("updatedReplicas") or 0)
            or counts["replicas"] - counts["updatedReplicas"]
            < int(before.get("replicas") or 0) - int(before.get("updatedReplicas") or 0)
            or counts["readyReplicas"] > int(before.get("readyReplicas") or 0)
            or counts["availableReplicas"] > int(before.get("availableReplicas") or 0)
        )
        if progressed or progressing:
            rollout.last_progress = time.monotonic()
        if progressing:
            rollout.deadline_exceeded = False  # progress resets the clock (DeploymentTimedOut)
        if not first_pass and not rollout.done and not rollout.deadline_exceeded:
            too_slow = time.monotonic() - rollout.last_progress > float(
                spec.get("progressDeadlineSeconds", 600)
            )
            forced = (
                rollout.mode == "deadline"
                and self._tick_no - rollout.started_tick >= _DEADLINE_TICKS
            )
            rollout.deadline_exceeded = (too_slow or forced) and not progressing
        for key, value in counts.items():
            if value:
                status[key] = value
            else:
                status.pop(key, None)
        conditions: list[JSONDict] = status.setdefault("conditions", [])
        if ready >= desired - max_unavailable:
            _set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now=self._stamp(),
            )
        else:
            _set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now=self._stamp(),
            )
        conditions.sort(key=lambda c: c.get("type") != "Available")  # the API server's order
        # The Progressing condition, as syncRolloutStatus (pkg/controller/deployment/
        # progress.go) sets it: left alone once complete (isCompleteDeployment), else
        # NewReplicaSetAvailable when complete, ReplicaSetUpdated (lastUpdateTime now) on
        # progress, ProgressDeadlineExceeded when timed out, and unchanged otherwise. Not on
        # the first pass after a template change: the new ReplicaSet has no pods yet, so
        # there is no progress to see, and whatever condition the Deployment had stays (a
        # ProgressDeadlineExceeded naming the previous ReplicaSet included) next to the new
        # observedGeneration; only _start_rollout's NewReplicaSetCreated/FoundNewReplicaSet
        # (getNewReplicaSet in sync.go) is new on that pass.
        current = next((c for c in conditions if c.get("type") == "Progressing"), None)
        complete = (
            current is not None
            and current.get("reason") == "NewReplicaSetAvailable"
            and counts["replicas"] == counts["updatedReplicas"]
        )
        if first_pass or complete:
            pass
        elif rollout.done:
            _set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now=self._stamp(),
            )
        elif progressing:
            _set_condition(
                conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" is progressing.',
                touch=True,
                now=self._stamp(),
            )
        elif rollout.deadline_exceeded:
            _set_condition(
                conditions,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now=self._stamp(),
            )
        self._update_if_changed("deployments", dep)

    def _start_rollout(
        self,
        dep: JSONDict,
        state: _DeploymentState,
        replicasets: list[JSONDict],
        template_hash: str,
        rs_name: str,
    ) -> _Rollout:
        meta = dep["metadata"]
        namespace = meta["namespace"]
        template = dep["spec"].get("template") or {}
        revisions = [
            int((rs["metadata"].get("annotations") or {}).get(_REVISION, "0") or 0)
            for rs in replicasets
        ]
        revision = str(max(revisions, default=0) + 1)
        previous_images: dict[str, str] = {}
        if state.rollout is not None:
            prev = self._store["replicasets"].get((namespace, state.rollout.rs_name))
            if prev is not None:
                for c in prev["spec"]["template"]["spec"].get("containers", []):
                    previous_images[c["name"]] = c.get("image", "")
        containers = (template.get("spec") or {}).get("containers") or []
        failing = [
            c["name"]
            for c in containers
            if c["name"] in previous_images and previous_images[c["name"]] != c.get("image")
        ] or [c["name"] for c in containers[:1]]

        annotations = dict(meta.get("annotations") or {})
        existing = self._store["replicasets"].get((namespace, rs_name))
        rs_annotations = {
            _REVISION: revision,
            "deployment.kubernetes.io/desired-replicas": str(dep["spec"].get("replicas", 1)),
            "deployment.kubernetes.io/max-replicas": str(
                int(dep["spec"].get("replicas", 1))
                + max(1, math.ceil(int(dep["spec"].get("replicas", 1)) * 0.25))
            ),
        }
        if _CHANGE_CAUSE in annotations:
            rs_annotations[_CHANGE_CAUSE] = annotations[_CHANGE_CAUSE]
        if existing is None:
            pod_labels = {
                **((template.get("metadata") or {}).get("labels") or {}),
                "pod-template-hash": template_hash,
            }
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {})["labels"] = dict(pod_labels)
            selector = copy.deepcopy(dep["spec"].get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
            rs: JSONDict = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    **self._new_metadata(
                        namespace, rs_name, labels=dict(pod_labels), annotations=rs_annotations
                    ),
                    "ownerReferences": [_owner_ref("apps/v1", "Deployment", meta)],
                },
                "spec": {"replicas": 0, "selector": selector, "template": rs_template},
                "status": {"replicas": 0, "observedGeneration": 1},
            }
            self._write("replicasets", rs, "ADDED")
        else:
            # Rolling back to a template whose ReplicaSet exists: it gets the new revision and
            # keeps the ones it had in deployment.kubernetes.io/revision-history
            # (SetNewReplicaSetAnnotations, pkg/controller/deployment/util/deployment_util.go).
            rs = copy.deepcopy(existing)
            had = dict(rs["metadata"].get("annotations") or {})
            old_revision = had.get(_REVISION, "")
            if old_revision.isdigit() and int(old_revision) < int(revision):
                history = had.get(_REVISION_HISTORY)
                rs_annotations[_REVISION_HISTORY] = (
                    f"{history},{old_revision}" if history else old_revision
                )
            rs["metadata"]["annotations"] = {**had, **rs_annotations}
            self._write("replicasets", rs, "MODIFIED")

        mode, state.pending_failure = state.pending_failure, None
        if mode is None:
            images = [c.get("image", "") for c in containers if c["name"] in failing]
            mode = next((m for matches, m in state.image_failures
                         if any(matches(image) for image in images)), None)
        crash, state.pending_crash = state.pending_crash, None
        once_seen, state.pending_crash_once_seen = state.pending_crash_once_seen, False
        rollout = _Rollout(
            template_hash=template_hash,
            rs_name=rs_name,
            mode=mode,
            crash_restarts=crash,
            crash_once_seen=once_seen and crash is not None,
            failing=failing,
            started_tick=self._tick_no,
            last_progress=time.monotonic(),
        )
        state.rollout = rollout
        annotations[_REVISION] = revision
        meta["annotations"] = annotations
        # getNewReplicaSet (pkg/controller/deployment/sync.go): a ReplicaSet it creates gets
        # Progressing=True NewReplicaSetCreated; one it finds (a rollback to a template that
        # ran before) sets no condition of its own, only FoundNewReplicaSet when the
        # Deployment has no Progressing condition at all. Whatever was there stays, even a
        # ProgressDeadlineExceeded naming the ReplicaSet this rollout replaces.
        conditions: list[JSONDict] = dep.setdefault("status", {}).setdefault("conditions", [])
        if existing is None:
            _set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                f'Created new replica set "{rs_name}"',
                now=self._stamp(),
            )
        elif not any(c.get("type") == "Progressing" for c in conditions):
            _set_condition(
                conditions,
                "Progressing",
                "True",
                "FoundNewReplicaSet",
                f'Found new replica set "{rs_name}"',
                now=self._stamp(),
            )
        return rollout

    def _sync_replicaset(self, rs: JSONDict, pods: list[JSONDict]) -> None:
        updated = copy.deepcopy(rs)
        ready = sum(1 for p in pods if _pod_ready(p))
        updated["spec"]["replicas"] = len(pods)
        status: JSONDict = {
            "replicas": len(pods),
            "observedGeneration": int(updated["metadata"].get("generation", 1)),
        }
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        updated["status"] = status
        self._update_if_changed("replicasets", updated)

    def _create_rs_pod(self, rs: JSONDict, rollout: _Rollout) -> JSONDict:
        meta = rs["metadata"]
        namespace = meta["namespace"]
        name = f"{meta['name']}-{self._suffix()}"
        template = rs["spec"]["template"]
        pod_spec = copy.deepcopy(template.get("spec") or {})
        pod_spec["nodeName"] = self._rng.choice(_NODES)
        behavior = rollout.mode or "healthy"
        logs: dict[str, str] = {}
        for c in pod_spec.get("containers", []):
            lines = [f"starting {c['name']} from {c.get('image', '')}"]
            if behavior == "crash_loop" and c["name"] in rollout.failing:
                lines += [
                    "Traceback (most recent call last):",
                    '  File "/app/main.py", line 1, in <module>',
                    "RuntimeError: fake crash (exit code 1)",
                ]
            else:
                lines.append(f"{c['name']} ready")
            logs[c["name"]] = "\n".join(lines) + "\n"
        self._pod_state[(namespace, name)] = _PodState(
            behavior=behavior,
            failing=list(rollout.failing),
            logs=logs,
            created_tick=self._tick_no,
            started_at=self._stamp(),
            restarts=1 if behavior == "crash_loop" else 0,
        )
        return self._add_pod(namespace, name, template, pod_spec, generate_name=meta["name"],
                             owner=_owner_ref("apps/v1", "ReplicaSet", meta))

    def _advance_pod(self, pod: JSONDict) -> None:
        meta = pod["metadata"]
        state = self._pod_state.get((meta["namespace"], meta["name"]))
        if state is None:
            return
        crash_after_due = (
            state.crash_at_tick is not None
            and self._tick_no >= state.crash_at_tick
            and state.restarts < state.crash_max
        )
        crash_loop_due = (
            state.behavior == "crash_loop"
            and (self._tick_no - state.created_tick) % _CRASH_LOOP_RESTART_TICKS == 0
        )
        if crash_loop_due or crash_after_due:
            state.restarts += 1
            state.finished_at = self._stamp()
        updated = copy.deepcopy(pod)
        updated["status"] = self._pod_status(updated)
        self._update_if_changed("pods", updated)

    def _pod_status(self, pod: JSONDict) -> JSONDict:
        meta, spec = pod["metadata"], pod["spec"]
        state = self._pod_state[(meta["namespace"], meta["name"])]
        now = state.started_at
        digest = hashlib.sha256(meta["uid"].encode("utf-8")).digest()
        ip = f"10.244.{digest[0] % 200 + 1}.{digest[1] % 250 + 2}"
        node = spec.get("nodeName")
        host_ip = f"10.0.0.{_NODES.index(node) + 1 if node in _NODES else 1}"
        base: JSONDict = {"qosClass": "BestEffort"}
        if state.behavior == "deadline":
            base.update(
                phase="Pending",
                conditions=[
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": (
                            "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes "
                            "are available: 3 No preemption victims found for incoming pod."
                        ),
                        "lastProbeTime": None,
                        "lastTransitionTime": now,
                    }
                ],
            )
            return base
        crashed = state.behavior == "crash_loop" or (
            state.crash_at_tick is not None and state.restarts > 0
        )
        statuses: list[JSONDict] = []
        for c in spec.get("containers", []):
            cname, image = c["name"], c.get("image", "")
            image_id = f"{image.split(':', 1)[0]}@sha256:{_sha(image)}"
            container_id = f"containerd://{_sha(meta['uid'] + cname)}"
            failing = cname in state.failing
            entry: JSONDict = {
                "name": cname,
                "image": image,
                "imageID": image_id,
                "containerID": container_id,
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now}},
                "lastState": {},
            }
            if state.behavior == "job":
                if state.job_result is not None:
                    entry.update(ready=False, started=False)
                    entry["state"] = {
                        "terminated": {
                            "exitCode": 0 if state.job_result else 1,
                            "reason": "Completed" if state.job_result else "Error",
                            "startedAt": now,
                            "finishedAt": state.finished_at or now,
                            "containerID": container_id,
                        }
                    }
            elif state.behavior == "image_pull" and failing:
                entry.update(ready=False, started=False, imageID="")
                entry.pop("containerID")
                entry["state"] = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{image}"',
                    }
                }
            elif crashed and failing:
                backoff = min(10 * 2 ** max(state.restarts - 1, 0), 300)
                entry.update(ready=False, started=False, restartCount=state.restarts)
                entry["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": (
                            f"back-off {backoff}s restarting failed container={cname} "
                            f"pod={meta['name']}_{meta['namespace']}({meta['uid']})"
                        ),
                    }
                }
                entry["lastState"] = {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": now,
                        "finishedAt": state.finished_at or now,
                        "containerID": container_id,
                    }
                }
            statuses.append(entry)
        not_ready = [s["name"] for s in statuses if not s["ready"]]
        if state.behavior == "job" and state.job_result is not None:
            phase = "Succeeded" if state.job_result else "Failed"
            ready_reason: str | None = "PodCompleted" if state.job_result else "PodFailed"
            ready_message: str | None = None
        elif state.behavior == "image_pull":
            phase, ready_reason = "Pending", "ContainersNotReady"
            ready_message = f"containers with unready status: [{' '.join(not_ready)}]"
        else:
            phase = "Running"
            ready_reason = "ContainersNotReady" if not_ready else None
            ready_message = (
                f"containers with unready status: [{' '.join(not_ready)}]" if not_ready else None
            )
        ready_status = "False" if (not_ready or phase != "Running") else "True"
        conditions: list[JSONDict] = [
            {"type": "PodReadyToStartContainers", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready_status},
            {"type": "ContainersReady", "status": ready_status},
            {"type": "PodScheduled", "status": "True"},
        ]
        for cond in conditions:
            cond["lastProbeTime"] = None
            cond["lastTransitionTime"] = now
            if cond["type"] in ("Ready", "ContainersReady") and ready_status == "False":
                if ready_reason:
                    cond["reason"] = ready_reason
                if ready_message:
                    cond["message"] = ready_message
        base.update(
            phase=phase,
            conditions=conditions,
            hostIP=host_ip,
            hostIPs=[{"ip": host_ip}],
            podIP=ip,
            podIPs=[{"ip": ip}],
            startTime=now,
            containerStatuses=statuses,
        )
        return base

    # -- jobs -----------------------------------------------------------------------------

    def _job_outcome(self, namespace: str, name: str) -> _JobOutcome:
        best: tuple[int, _JobOutcome] | None = None
        for (ns, prefix), outcome in self._job_outcomes.items():
            if (
                ns == namespace
                and name.startswith(prefix)
                and (best is None or len(prefix) > best[0])
            ):
                best = (len(prefix), outcome)
        return best[1] if best is not None else _JobOutcome(True, "ok")

    def _reconcile_job(self, namespace: str, name: str) -> None:
        job = copy.deepcopy(self._store["jobs"][(namespace, name)])
        meta, spec = job["metadata"], job["spec"]
        status: JSONDict = job.setdefault("status", {})
        conditions: list[JSONDict] = status.get("conditions") or []
        if any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conditions):
            return
        if spec.get("suspend"):
            return
        pods = self._owned_pods(namespace, {meta["uid"]})
        running = [
            p
            for p in pods
            if self._pod_state.get((namespace, p["metadata"]["name"]), None) is not None
            and self._pod_state[(namespace, p["metadata"]["name"])].job_result is None
        ]
        status.setdefault("startTime", self._stamp())
        held = any(ns == namespace and name.startswith(prefix) for ns, prefix in self._held_jobs)
        for pod in running:
            pstate = self._pod_state[(namespace, pod["metadata"]["name"])]
            if self._tick_no - pstate.created_tick >= _JOB_RUN_TICKS and not held:
                outcome = self._job_outcome(namespace, name)
                pstate.job_result = outcome.succeed
                pstate.finished_at = self._stamp()
                finished = copy.deepcopy(pod)
                finished["status"] = self._pod_status(finished)
                self._update_if_changed("pods", finished)
                key = "succeeded" if outcome.succeed else "failed"
                status[key] = int(status.get(key, 0)) + 1
        pods = self._owned_pods(namespace, {meta["uid"]})
        active = [
            p
            for p in pods
            if self._pod_state.get((namespace, p["metadata"]["name"])) is not None
            and self._pod_state[(namespace, p["metadata"]["name"])].job_result is None
        ]
        now = self._stamp()
        if int(status.get("succeeded", 0)) >= int(spec.get("completions", 1)):
            status["completionTime"] = now
            for ctype in ("SuccessCriteriaMet", "Complete"):
                _set_condition(
                    conditions,
                    ctype,
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    probe=True,
                    now=self._stamp(),
                )
        elif int(status.get("failed", 0)) > int(spec.get("backoffLimit", 6)):
            for ctype in ("FailureTarget", "Failed"):
                _set_condition(
                    conditions,
                    ctype,
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    probe=True,
                    now=self._stamp(),
                )
        elif not active:
            active.append(self._create_job_pod(job))
        if conditions:
            status["conditions"] = conditions
        done = any(c["type"] in ("Complete", "Failed") for c in conditions)
        if active and not done:
            status["active"] = len(active)
            status["ready"] = len(active)
        else:
            status.pop("active", None)
            status["ready"] = 0
        status["terminating"] = 0
        status.setdefault("uncountedTerminatedPods", {})
        self._update_if_changed("jobs", job)

    def _create_job_pod(self, job: JSONDict) -> JSONDict:
        meta = job["metadata"]
        namespace, job_name = meta["namespace"], meta["name"]
        template = job["spec"]["template"]
        name = f"{job_name}-{self._suffix()}"
        pod_spec = copy.deepcopy(template.get("spec") or {})
        pod_spec["nodeName"] = self._rng.choice(_NODES)
        outcome = self._job_outcome(namespace, job_name)
        logs = (
            outcome.logs
            if outcome.logs.endswith("\n") or not outcome.logs
            else (outcome.logs + "\n")
        )
        self._pod_state[(namespace, name)] = _PodState(
            behavior="job",
            failing=[],
            logs={c["name"]: logs for c in pod_spec.get("containers", [])},
            created_tick=self._tick_no,
            started_at=self._stamp(),
        )
        return self._add_pod(namespace, name, template, pod_spec, generate_name=job_name,
                             owner=_owner_ref("batch/v1", "Job", meta))

    def _add_pod(self, namespace: str, name: str, template: JSONDict, pod_spec: JSONDict,
                 *, generate_name: str, owner: JSONDict) -> JSONDict:
        """Create a pod from a pod template (labels and annotations copied), owned by `owner`."""
        template_meta = template.get("metadata") or {}
        pod: JSONDict = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                **self._new_metadata(
                    namespace,
                    name,
                    labels=dict(template_meta.get("labels") or {}),
                    annotations=dict(template_meta.get("annotations") or {}),
                ),
                "generateName": f"{generate_name}-",
                "ownerReferences": [owner],
            },
            "spec": pod_spec,
        }
        pod["status"] = self._pod_status(pod)
        self._write("pods", pod, "ADDED")
        return pod


# ---------------------------------------------------------------------------- helpers


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _template_hash(template: JSONDict) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode("utf-8")).digest()
    value = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(10):
        value, index = divmod(value, len(_SAFE_ALPHABET))
        chars.append(_SAFE_ALPHABET[index])
    return "".join(chars)


def _owner_ref(api_version: str, kind: str, meta: JSONDict) -> JSONDict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _pod_ready(pod: JSONDict) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _set_condition(
    conditions: list[JSONDict],
    ctype: str,
    status: str,
    reason: str,
    message: str,
    *,
    now: str,
    touch: bool = False,
    probe: bool = False,
) -> None:
    """Upsert a condition the way controllers do: keep lastTransitionTime unless status flips.
    `now`: the fake's clock, as an API timestamp."""
    stamp = "lastProbeTime" if probe else "lastUpdateTime"
    for cond in conditions:
        if cond.get("type") != ctype:
            continue
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
        if cond.get("status") != status or cond.get("reason") != reason or touch:
            cond[stamp] = now
        cond.update(status=status, reason=reason, message=message)
        return
    conditions.append(
        {
            "type": ctype,
            "status": status,
            stamp: now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }
    )


def _discovery(path: str) -> JSONDict:
    if path == "/version":
        return {
            "major": "1",
            "minor": "31",
            "gitVersion": "v1.31.0-fake",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-08-13T00:00:00Z",
            "goVersion": "go1.22.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
            ],
        }
    groups = {"apps": "apps/v1", "batch": "batch/v1"}
    if path == "/apis":
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": gv, "version": "v1"}],
                    "preferredVersion": {"groupVersion": gv, "version": "v1"},
                }
                for g, gv in groups.items()
            ],
        }
    group_version = path.removeprefix("/apis/").removeprefix("/api/")
    resources: list[JSONDict] = []
    for res in _RESOURCES.values():
        if res.api_version != group_version:
            continue
        verbs = ["get", "list", "watch", "patch", "update", "delete"]
        if res.plural in _CREATABLE:
            verbs.append("create")
        resources.append(
            {
                "name": res.plural,
                "singularName": res.kind.lower(),
                "namespaced": True,
                "kind": res.kind,
                "verbs": verbs,
            }
        )
        if res.plural == "pods":
            resources.append(
                {
                    "name": "pods/log",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "Pod",
                    "verbs": ["get"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
